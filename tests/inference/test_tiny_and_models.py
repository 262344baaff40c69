"""The tiny checkpoint is a real Qwen3-VL checkpoint; model listing and offline switching."""

from __future__ import annotations

import json
import os

import pytest

from inference.models import REGISTRY, download, list_models, network_allowed, scan_folder
from inference.tiny import QWEN_SPECIAL_TOKENS


def test_tiny_checkpoint_is_consistent(tiny_model):
    from transformers import AutoProcessor

    config = json.loads((tiny_model / "config.json").read_text())
    processor = AutoProcessor.from_pretrained(tiny_model, local_files_only=True)
    tok = processor.tokenizer
    assert [tok.convert_tokens_to_ids(t) for t in QWEN_SPECIAL_TOKENS] == list(range(14))
    for key, token in (("image_token_id", "<|image_pad|>"), ("video_token_id", "<|video_pad|>"),
                       ("vision_start_token_id", "<|vision_start|>"),
                       ("vision_end_token_id", "<|vision_end|>")):
        assert config[key] == tok.convert_tokens_to_ids(token)
    assert config["text_config"]["vocab_size"] == len(tok)
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "hi"}]}]
    chat = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert chat == ("<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>hi<|im_end|>\n"
                    "<|im_start|>assistant\n")
    text = "lesion <box>[[156, 516, 231, 607]]</box> ü"
    assert tok.decode(tok.encode(text)) == text


def test_registry_and_local_listing(tiny_model, tmp_path):
    assert {"MBZUAI/MedMO-4B", "MBZUAI/MedMO-8B", "MBZUAI/MedMO-8B-Next"} <= set(REGISTRY)
    local = scan_folder(tiny_model)
    assert local is not None and local.variant == "tiny" and local.size_bytes > 100_000
    assert scan_folder(tmp_path) is None
    found = list_models([tiny_model], cache_dir=str(tmp_path / "empty-cache"))
    assert [m.path for m in found] == [str(tiny_model)]


def test_download_refuses_bad_ids_before_any_network():
    with pytest.raises(ValueError, match="owner/name"):
        download("not-an-id")


def test_network_switch_is_scoped(monkeypatch):
    import huggingface_hub.constants as c

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)
    with network_allowed():
        assert os.environ["HF_HUB_OFFLINE"] == "0" and c.HF_HUB_OFFLINE is False
    assert os.environ["HF_HUB_OFFLINE"] == "1" and c.HF_HUB_OFFLINE is True
