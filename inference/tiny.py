"""Build a tiny, randomly initialised Qwen3-VL checkpoint on disk (config, tokenizer, processor,
weights) for tests, benchmarks and install self-checks.

The folder it writes is loaded back through exactly the same ``from_pretrained`` path as the real
MedMO weights (:func:`inference.engine.load_model`), which is what makes tests on it honest. Its
answers are gibberish (random weights): assert on structure and equalities, never on content.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

# Qwen's special tokens, in Qwen's order (ids 151643.. in the real vocabulary; 0.. here).
QWEN_SPECIAL_TOKENS: tuple[str, ...] = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)

# Same shape as Qwen3-VL's own template for the parts we use: string or list content, one
# <|vision_start|><|image_pad|><|vision_end|> per image item, generation prompt.
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}"
    "{%- if message['content'] is string -%}"
    "{{- message['content'] -}}"
    "{%- else -%}"
    "{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'image' or 'image' in item -%}"
    "{{- '<|vision_start|><|image_pad|><|vision_end|>' -}}"
    "{%- elif item['type'] == 'video' or 'video' in item -%}"
    "{{- '<|vision_start|><|video_pad|><|vision_end|>' -}}"
    "{%- elif item['type'] == 'text' -%}"
    "{{- item['text'] -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- endif -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- endif -%}"
)

# The Qwen2 pre-tokenizer split pattern.
_QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

_CORPUS = (
    "Findings: no focal consolidation. The heart is normal in size. lesion <box>[[156, 516, 231,"
    " 607], [240, 529, 296, 581]]</box> nodule mass fracture effusion pneumothorax liver kidney"
    ' {"bbox_2d": [12, 34, 567, 890], "label": "nodule"} Impression: normal study. 0123456789'
    " What is shown in this CT slice? Describe the abnormality. Report, summary, classify."
)


def _train_tokenizer(vocab_size: int):
    """A byte-level BPE tokenizer with Qwen's special tokens first, wrapped as Qwen2Tokenizer."""
    import json

    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Tokenizer

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_QWEN2_SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(QWEN_SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator([_CORPUS] * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok)
    vocab = fast.get_vocab()
    raw_merges = json.loads(tok.to_str())["model"]["merges"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in raw_merges]
    qwen = Qwen2Tokenizer(
        vocab=vocab,
        # the BPE model takes (left, right) pairs and no unk token; transformers annotates
        # merges as list[str] and unk_token as str
        merges=merges,  # type: ignore[arg-type]
        unk_token=None,  # type: ignore[arg-type]
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=list(QWEN_SPECIAL_TOKENS[1:]),
    )
    qwen.chat_template = CHAT_TEMPLATE
    return qwen


class _VisionOptions(TypedDict):
    """Keywords shared by the tiny checkpoint's image and video processors."""

    patch_size: int
    merge_size: int
    temporal_patch_size: int
    image_mean: list[float]
    image_std: list[float]
    size: dict[str, int]


def tiny_config_dict(tokenizer) -> dict:
    """Config values of the tiny model (FIELD_NOTES recipe); token ids taken from ``tokenizer``."""
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIAL_TOKENS}
    return {
        "text_config": {
            "vocab_size": len(tokenizer),
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 16,
            "max_position_embeddings": 4096,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 5_000_000.0,
                "mrope_section": [4, 2, 2],
                "mrope_interleaved": True,
            },
            "pad_token_id": ids["<|endoftext|>"],
            "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
        },
        "vision_config": {
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "patch_size": 16,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "out_hidden_size": 64,
            "num_position_embeddings": 64,
            "deepstack_visual_indexes": [0, 1],
        },
        "image_token_id": ids["<|image_pad|>"],
        "video_token_id": ids["<|video_pad|>"],
        "vision_start_token_id": ids["<|vision_start|>"],
        "vision_end_token_id": ids["<|vision_end|>"],
        "tie_word_embeddings": False,
    }


def make_tiny(out_dir: str | Path, *, seed: int = 0, vocab_size: int = 600) -> Path:
    """Write a tiny random Qwen3-VL checkpoint to ``out_dir`` and return its path.

    Parameters
    ----------
    out_dir
        Folder to write (created if missing; existing files with the same names are replaced).
    seed
        Seed of the random weights (the same seed gives the same weights).
    vocab_size
        Size of the trained byte-level BPE vocabulary (>= 300: 256 bytes + 14 specials + merges).
    """
    import torch
    from transformers import (
        GenerationConfig,
        Qwen2VLImageProcessor,
        Qwen3VLConfig,
        Qwen3VLForConditionalGeneration,
        Qwen3VLProcessor,
        Qwen3VLVideoProcessor,
    )

    if vocab_size < 300:
        raise ValueError(f"vocab_size must be >= 300, got {vocab_size}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = _train_tokenizer(vocab_size)
    config = Qwen3VLConfig(**tiny_config_dict(tokenizer))
    torch.manual_seed(seed)
    model = Qwen3VLForConditionalGeneration(config).eval()
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    pad = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    model.generation_config = GenerationConfig(
        eos_token_id=[eos, pad], pad_token_id=pad, do_sample=False
    )
    size = {"shortest_edge": 32 * 32 * 4, "longest_edge": 32 * 32 * 1600}
    vision: _VisionOptions = {"patch_size": 16, "merge_size": 2, "temporal_patch_size": 2,
                              "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
                              "size": size}
    image_processor = Qwen2VLImageProcessor(**vision)
    video_processor = Qwen3VLVideoProcessor(**vision)
    processor = Qwen3VLProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video_processor,
        chat_template=CHAT_TEMPLATE,
    )
    model.save_pretrained(out)
    processor.save_pretrained(out)
    (out / "MEDMO_TINY").write_text("random-weights test checkpoint; answers are meaningless\n")
    return out

