"""The demo model: built from random weights and trained by SFT with this very pipeline,
reproducibly (same seed, same data, same steps -> same recipe), on the demo world's every task
(:mod:`app.training.demo_data`).

Recipe: a 1.66 M-parameter Qwen3-VL-architecture model (text hidden 128 x 4 layers, head_dim
32; vision hidden 64 x depth 2; a 1024-token BPE trained on the prompts and answer formats),
full fine-tune from random init on 12000 256 x 256 phantom slices (one task each), AdamW lr
1e-3, batch 32 as 4 micro-batches of rows of similar length, warm-up + cosine, 2000 steps.

What the pilots showed (2026-11-30, one thread, machine shared with other engineers' tests):
batch 32 in one micro-batch padded every row to the longest report and collapsed (every answer
"Findings: Cyst." at step 187); 4 length-balanced micro-batches of 8 learnt the formats (loss
6.5 -> 0.55 by step 310; 1.5-20 s/step as the load varied) but at step 300 the answers were still
mostly wrong on 10 held-out slices (localisation F1 0.0, grounding IoU 0.07, report finding F1
0.11, question accuracy 0.17-0.39, format-valid 0.62-0.87). The single-task model learnt to
localise in a jump after step 500 (FIELD_NOTES), hence the 2000 steps; the card of the shipped
model gives its held-out scores and build time.

The earlier one-lesion recipe (900 steps, 15 minutes; ``medmo bench adapt`` still uses it,
:data:`inference.training.adapt_bench.DEMO`): the model learns to localise in a jump, and the
peak learning rate decides when (held-out IoU on 200 phantoms every 100 steps, one thread,
measured 2026-11-23): at lr 2e-3 it is flat near 0.1 until step 500 and ends at 0.634; at 1e-3
the jump comes at steps 500-700 and it ends at 0.784 (F1@0.5 0.955); at 5e-4 it ends at 0.736.

It was trained on synthetic phantoms only: NOT FOR CLINICAL USE. The folder it writes carries a
``MODEL_CARD.md`` saying so, ``DEMO_MODEL.json`` (recipe + held-out metrics), and the model;
:mod:`inference.training.demo_ship` ships it into ``resources/demo-model``.
"""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

EVAL_TOKENS = 256  # a four-finding report is about 170 tokens


@dataclass(frozen=True, slots=True)
class DemoRecipe:
    """Architecture and schedule of the demo model (defaults: the shipped model's recipe)."""

    text_hidden: int = 128
    text_layers: int = 4
    text_intermediate: int = 512
    text_heads: int = 4
    text_kv_heads: int = 2
    head_dim: int = 32
    vision_hidden: int = 64
    vision_depth: int = 2
    vision_intermediate: int = 128
    vision_heads: int = 2
    steps: int = 2000  # the shipped model's (``medmo train-demo-model OUT`` rebuilds it)
    learning_rate: float = 1e-3
    batch_size: int = 32
    warmup_ratio: float = 0.05
    seed: int = 0
    train_images: int = 12000
    accumulation: int = 4  # micro-batches per step, each of rows of similar length

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if name not in ("learning_rate", "warmup_ratio", "seed") and value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if self.batch_size % self.accumulation:
            raise ValueError(f"batch_size ({self.batch_size}) must be a multiple of accumulation "
                             f"({self.accumulation})")
        if self.head_dim % 8:
            raise ValueError(f"head_dim must be a multiple of 8 (mrope sections), got "
                             f"{self.head_dim}")
        if self.text_heads % self.text_kv_heads:
            raise ValueError("text_heads must be a multiple of text_kv_heads")
        if self.vision_hidden % self.vision_heads:
            raise ValueError("vision_hidden must be a multiple of vision_heads")


def _corpus() -> list[str]:
    """Text the demo tokenizer learns merges from: every bundled prompt template and every
    phrasing of :mod:`inference.paraphrases` (so an instruction costs a few tokens, not ~130
    byte-level ones) and answers in every format of :mod:`inference.answer_formats`."""
    import random

    from inference import answer_formats as af
    from inference.paraphrases import GROUND_QUERIES, HELDOUT, LABEL_LISTS, TRAIN
    from inference.prompts import TASKS, load_template
    from inference.tiny import _CORPUS

    texts = [_CORPUS]
    for task in TASKS:
        texts.append(load_template(task).template.replace("$", ""))
    for table in (TRAIN, HELDOUT):
        texts.extend(p for items in table.values() for p in items)
    texts.extend(GROUND_QUERIES + LABEL_LISTS)
    rng = random.Random(0)
    for _ in range(60):  # answers about random findings (the tokenizer only needs the words)
        facts = [af.Fact(rng.choice(af.KINDS), (rng.randrange(500), rng.randrange(500),
                                                rng.randrange(500, 1000), rng.randrange(500, 1000)),
                         rng.choice(af.SIDES), rng.choice(af.ZONES),
                         rng.choice(("anterior", "posterior")), rng.randrange(8, 60))
                 for _ in range(rng.randrange(5))]
        texts += [af.localize_answer(facts), af.report_answer(facts), af.class_label(facts)]
        texts += [af.question_answer(q, facts, zone=rng.choice(af.ZONES), side="left",
                                     kind="nodule", window=rng.choice(("lung", "soft-tissue")))
                  for q in af.QUESTION_TYPES]
    return texts * 4


def train_tokenizer(vocab_size: int = 1024):
    """Byte-level BPE with Qwen's special tokens first (as :mod:`inference.tiny`), trained on
    :func:`_corpus`; digits stay single tokens (Qwen's split rule), as in real Qwen3-VL."""
    import json as _json

    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Tokenizer

    from inference.tiny import _QWEN2_SPLIT, CHAT_TEMPLATE, QWEN_SPECIAL_TOKENS

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(_QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(_corpus(), trainer=trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=list(QWEN_SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    raw = _json.loads(tok.to_str())["model"]["merges"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in raw]
    # merges as pairs and no unknown token: what Qwen's own tokenizer files hold (the stubs
    # type them as strings)
    options: dict[str, Any] = dict(merges=merges, unk_token=None)
    qwen = Qwen2Tokenizer(
        vocab=PreTrainedTokenizerFast(tokenizer_object=tok).get_vocab(), **options,
        bos_token=None, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        additional_special_tokens=list(QWEN_SPECIAL_TOKENS[1:]))
    qwen.chat_template = CHAT_TEMPLATE
    return qwen


def build_base(out_dir: str | Path, recipe: DemoRecipe = DemoRecipe()) -> tuple[Path, int]:
    """A random-weights model of the recipe's size, with a tokenizer that knows the prompt
    templates and the tiny checkpoint's image processor; returns (folder, parameter count)."""
    import torch
    from transformers import (
        AutoProcessor,
        GenerationConfig,
        Qwen3VLConfig,
        Qwen3VLForConditionalGeneration,
        Qwen3VLProcessor,
    )

    from inference.tiny import CHAT_TEMPLATE, make_tiny, tiny_config_dict

    out = Path(out_dir)
    make_tiny(out, seed=recipe.seed)  # image/video processors, file layout
    (out / "MEDMO_TINY").unlink(missing_ok=True)
    tiny = AutoProcessor.from_pretrained(out)
    tokenizer = train_tokenizer()
    for stale in ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt"):
        (out / stale).unlink(missing_ok=True)
    Qwen3VLProcessor(image_processor=tiny.image_processor, tokenizer=tokenizer,
                     video_processor=tiny.video_processor,
                     chat_template=CHAT_TEMPLATE).save_pretrained(out)
    data = tiny_config_dict(tokenizer)
    half = recipe.head_dim // 2
    text = data["text_config"]
    text.update(hidden_size=recipe.text_hidden, num_hidden_layers=recipe.text_layers,
                intermediate_size=recipe.text_intermediate,
                num_attention_heads=recipe.text_heads, num_key_value_heads=recipe.text_kv_heads,
                head_dim=recipe.head_dim)
    text["rope_parameters"]["mrope_section"] = [half // 2, half // 4, half - half // 2 - half // 4]
    vision = data["vision_config"]
    vision.update(hidden_size=recipe.vision_hidden, depth=recipe.vision_depth,
                  intermediate_size=recipe.vision_intermediate, num_heads=recipe.vision_heads,
                  out_hidden_size=recipe.text_hidden,
                  deepstack_visual_indexes=list(range(min(recipe.vision_depth,
                                                          recipe.text_layers))))
    config = Qwen3VLConfig(**data)
    torch.manual_seed(recipe.seed)
    model = Qwen3VLForConditionalGeneration(config)
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    pad = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    model.generation_config = GenerationConfig(eos_token_id=[eos, pad], pad_token_id=pad,
                                               do_sample=False)
    for weights in out.glob("*.safetensors"):
        weights.unlink()
    model.save_pretrained(out)
    AutoProcessor.from_pretrained(out)  # the folder loads as a whole
    return out, sum(p.numel() for p in model.parameters())


def train_demo_model(out_dir: str | Path, dataset: str | Path, *,
                     recipe: DemoRecipe = DemoRecipe(), eval_limit: int | None = None,
                     stream: TextIO | None = None, device: str = "auto",
                     image_size: int = 256, torch_threads: int | None = None,
                     previous: str | None = None, data_seconds: float = 0.0,
                     resume: bool = False) -> dict[str, Any]:
    """Build the base, train it on ``dataset`` (the demo world's data, see
    :mod:`app.training.demo_data`), evaluate it on the frozen held-out split and write ``OUT/model``
    with its card. ``previous`` (a model folder) is evaluated on the same split for the card's
    comparison column. ``resume`` continues an interrupted run from its last checkpoint
    (the base is rebuilt identically: same seed). Returns the summary dict (also
    ``OUT/model/DEMO_MODEL.json``).

    Raises RuntimeError when training fails (its error event's message).
    """
    import time

    from inference.training.config import TrainConfig
    from inference.training.dataset import read_manifest
    from inference.training.run import run_training

    out = Path(out_dir)
    manifest = read_manifest(dataset)
    started = time.perf_counter()
    base, params = build_base(out / "base", recipe)
    config = TrainConfig(model=str(base), dataset=str(dataset), output_dir=str(out / "run"),
                         method="sft", steps=recipe.steps, learning_rate=recipe.learning_rate,
                         batch_size=recipe.batch_size // recipe.accumulation,
                         warmup_ratio=recipe.warmup_ratio,
                         lr_scheduler_type="cosine", lora_rank=0, seed=recipe.seed,
                         save_steps=max(50, recipe.steps // 10), device=device,
                         torch_threads=torch_threads, balance_lengths=True,
                         logging_steps=min(10, recipe.steps),
                         gradient_accumulation_steps=recipe.accumulation)
    code = run_training(config, resume=resume,
                        stream=io.StringIO() if stream is None else stream)
    if code != 0:
        lines = (out / "run" / "progress.jsonl").read_text().strip().splitlines()
        raise RuntimeError(f"demo model training failed (exit {code}): "
                           f"{lines[-1] if lines else 'no progress written'}")
    trained = time.perf_counter()
    timing = {"data_minutes": data_seconds / 60, "train_minutes": (trained - started) / 60,
              "threads": torch_threads}
    return finish_demo_model(out, out / "run" / "model", dataset, summary={
        "recipe": asdict(recipe), "params": params, "dataset": manifest}, timing=timing,
        eval_limit=eval_limit, device=device, image_size=image_size,
        torch_threads=torch_threads, previous=previous)


def finish_demo_model(out: Path, trained: Path, dataset: str | Path, *, summary: dict[str, Any],
                      timing: dict[str, Any], eval_limit: int | None = None,
                      device: str = "auto", image_size: int = 256,
                      torch_threads: int | None = None, previous: str | None = None
                      ) -> dict[str, Any]:
    """Copy the trained folder to ``OUT/model``, make the engine send it what it was trained
    on, score it (and ``previous``) on the frozen held-out split, and write DEMO_MODEL.json and
    the card; returns the summary (``summary`` plus scores and ``timing`` completed)."""
    import time

    from inference.evaluate import evaluate
    from inference.training.demo_card import floors_met, write_card

    began = time.perf_counter()
    model_dir = out / "model"
    if model_dir.exists():
        shutil.rmtree(model_dir)
    shutil.copytree(trained, model_dir)
    for extra in ("training_args.bin", "done.json"):
        (model_dir / extra).unlink(missing_ok=True)
    _cap_image_size(model_dir, image_size)
    write_engine_hints(model_dir)
    common: dict[str, Any] = dict(limit=eval_limit, batch_size=16, max_new_tokens=EVAL_TOKENS,
                                  device=device, torch_threads=torch_threads)
    metrics = evaluate(str(model_dir), str(dataset), **common)
    eval_minutes = (time.perf_counter() - began) / 60
    answers = metrics.pop("answers")
    (model_dir / "heldout_answers.json").write_text(json.dumps(answers, indent=0))
    timing = {**timing, "eval_minutes": eval_minutes,
              "total_minutes": timing.get("data_minutes", 0.0) + timing["train_minutes"]
              + eval_minutes}
    summary = {**summary, "image_size": image_size, "heldout": metrics,
               "heldout_slices": len({a for a in _heldout_slices(dataset, eval_limit)}),
               "floors_met": floors_met(metrics), "not_for_clinical_use": True,
               "timing": timing}
    if previous:
        old = evaluate(previous, str(dataset), **common)
        old.pop("answers")
        summary["previous"] = old
    (model_dir / "DEMO_MODEL.json").write_text(json.dumps(summary, indent=1))
    write_card(model_dir, summary)
    return summary


def _heldout_slices(dataset: str | Path, limit: int | None) -> list[str]:
    """The phantom seeds behind the held-out rows (several tasks are asked per slice)."""
    from inference.training.dataset import read_split_ids

    ids = read_split_ids(dataset)[:limit] if limit else read_split_ids(dataset)
    return [i.rsplit("-", 1)[0] for i in ids]


def write_engine_hints(model_dir: Path) -> None:
    """``medmo.json``: the demo model was trained on single questions about one image, so the
    engine gives it no earlier chat turns (the app otherwise sends the study's last turns as
    context, text it has never seen; see :func:`inference.prompts.history_turns`; the remote
    engine reads it too when the served checkpoint's folder is here)."""
    from inference.prompts import HINTS_FILE

    (model_dir / HINTS_FILE).write_text(json.dumps({"history_turns": 0}, indent=1) + "\n")


def _cap_image_size(model_dir: Path, image_size: int) -> None:
    """Make the processor downscale every frame to the training area (``image_size`` squared).

    The model only ever saw ``image_size`` x ``image_size`` phantoms (64 visual tokens); a 512 x 512
    demo-study slice given at full size would be 256 tokens of a scale it never learned. The
    engine narrows its frame bounds to the processor's, so this one setting makes every caller
    (viewer, ``medmo ask``, eval) send what the model was trained on.
    """
    from inference.frames import model_size

    height, width = model_size(image_size, image_size)  # what training fed it (see run._rows)
    area = height * width
    path = model_dir / "processor_config.json"
    data = json.loads(path.read_text())
    size = data["image_processor"]["size"]
    size["longest_edge"] = area
    size["shortest_edge"] = min(size.get("shortest_edge", 0), area)
    path.write_text(json.dumps(data, indent=2))
