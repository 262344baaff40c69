"""Greedy batched decoding in which a finished answer leaves the batch.

``model.generate`` keeps every row of a batch until the longest answer ends: a whole-series
sweep whose chunk holds one slice with four findings (about 105 tokens) and thirty-one with none
or one (5-27 tokens) pays for thirty-two rows on every one of those 105 steps. Here a row that
writes its end token is dropped from the key/value cache (``Cache.batch_select_indices``, what
transformers' own contrastive search uses), from the attention mask and from Qwen3-VL's
multimodal rope offsets, so later steps cost what the rows still being written cost.

The tokens are those of ``generate(do_sample=False)``: the same prefill (the model's own 3D
positions, :meth:`get_rope_index`), argmax at each step, positions advanced by one per token as
``generate`` does. :func:`supports` says when that holds (a Qwen3-VL-style model, no logits
processing in its generation config); :class:`inference.engine.Engine` uses ``generate``
otherwise, and for a single frame. ``tests/inference/test_shrinking.py`` checks token-for-token
agreement with ``generate`` on the bundled demo model.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import torch

# generation-config settings that change greedy logits; with any of them set, use generate
_LOGIT_SETTINGS = ("repetition_penalty", "no_repeat_ngram_size", "bad_words_ids",
                   "suppress_tokens", "begin_suppress_tokens", "forced_bos_token_id",
                   "forced_eos_token_id", "sequence_bias", "encoder_repetition_penalty",
                   "exponential_decay_length_penalty")
_NEUTRAL: tuple[object, ...] = (None, 0, 1.0, [], ())


def supports(model: Any) -> bool:
    """True when :func:`greedy_shrinking` gives exactly what greedy ``generate`` gives."""
    inner = getattr(model, "model", None)
    if inner is None or not hasattr(inner, "get_rope_index") or not hasattr(inner, "rope_deltas"):
        return False
    config = model.generation_config
    return all(getattr(config, name, None) in _NEUTRAL for name in _LOGIT_SETTINGS)


def greedy_shrinking(model: Any, inputs: dict, *, max_new_tokens: int, eos_ids: set[int],
                     pad_id: int, cancel: threading.Event | None = None
                     ) -> tuple[torch.Tensor, float]:
    """Decode every row of ``inputs`` (a left-padded processor batch) greedily.

    Returns ``(new_tokens, first_token_time)``: a (rows, longest answer) tensor of the new
    tokens, end token included and ``pad_id`` after it (``generate``'s layout), and the
    ``perf_counter`` time the first tokens were chosen. ``cancel`` is checked once per step; a
    cancelled batch returns what was written so far.
    """
    ids, mask = inputs["input_ids"], inputs["attention_mask"]
    extra = {k: v for k, v in inputs.items() if k not in ("input_ids", "attention_mask")}
    rows = ids.shape[0]
    text = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 0)
    vision, deltas = model.model.get_rope_index(
        ids, image_grid_thw=extra.get("image_grid_thw"),
        video_grid_thw=extra.get("video_grid_thw"), attention_mask=mask,
        mm_token_type_ids=extra.get("mm_token_type_ids"))
    model.model.rope_deltas = deltas
    positions = torch.cat([text[None], vision], 0)  # generate's layout: text row, then t/h/w
    out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True,
                logits_to_keep=1, **extra)
    cache, logits = out.past_key_values, out.logits[:, -1]
    result = torch.full((rows, max_new_tokens), pad_id, dtype=torch.long, device=ids.device)
    alive = torch.arange(rows, device=ids.device)
    eos = torch.tensor(sorted(eos_ids), device=ids.device)
    last = positions[:, :, -1:]
    first = time.perf_counter()  # the prefill's logits give every row its first token
    written = 0
    for step in range(max_new_tokens):
        token = logits.argmax(-1)
        result[alive, step] = token
        written = step + 1
        done = torch.isin(token, eos)
        if step == max_new_tokens - 1 or bool(done.all()) or (cancel and cancel.is_set()):
            break
        if bool(done.any()):
            keep = (~done).nonzero().squeeze(1)
            alive, token, mask, last = alive[keep], token[keep], mask[keep], last[:, keep]
            cache.batch_select_indices(keep)
            model.model.rope_deltas = model.model.rope_deltas[keep]
        mask = torch.cat([mask, mask.new_ones(mask.shape[0], 1)], 1)
        last = last + 1
        out = model(input_ids=token[:, None], attention_mask=mask, position_ids=last,
                    past_key_values=cache, use_cache=True)
        logits = out.logits[:, -1]
    model.model.rope_deltas = None  # sized for this batch; the next call computes its own
    return result[:, :written], first
