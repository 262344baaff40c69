"""Engine configuration, device/dtype/attention choice, and loading a checkpoint.

Real MedMO weights and the tiny test checkpoint go through the same calls:
``AutoProcessor.from_pretrained`` and ``AutoModelForImageTextToText.from_pretrained``.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference.frames import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS
from inference.types import InsufficientMemoryError, ModelNotFoundError

log = logging.getLogger(__name__)

DTYPES = ("auto", "bfloat16", "float16", "float32")
ATTENTION = ("auto", "flash_attention_2", "sdpa", "eager")


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """How to load and run a model. Invalid values raise ValueError at construction.

    Parameters
    ----------
    model
        Hub id (``MBZUAI/MedMO-8B``) or a local folder with config, weights and processor.
    device
        ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    dtype
        ``"auto"`` (bfloat16 on CUDA, float32 on CPU) or an explicit torch dtype name.
    attn_implementation
        ``"auto"`` (flash_attention_2 when importable on CUDA, else sdpa) or explicit.
    load_in_4bit
        Quantise to 4-bit NF4 with bitsandbytes (CUDA only; needs the ``quant`` extra).
    local_files_only
        Offline by default: never touch the network when loading.
    max_new_tokens
        Cap on generated tokens per answer (instruct models ramble).
    min_pixels, max_pixels
        Bounds of the model-side frame size (see :mod:`inference.frames`).
    context_tokens
        Context length used by the memory estimate before loading on CUDA.
    check_memory
        Refuse to load on CUDA when the estimate exceeds free GPU memory.
    cache_implementation
        ``None`` (dynamic KV cache) or ``"static"``: a pre-allocated cache that lets generate
        compile the decode step on CUDA (same greedy output; slower on CPU).
    shrink_batches
        Batched greedy answers (whole-series sweeps, evaluation) drop each finished row from
        the batch (:mod:`inference.shrinking`; same tokens as ``generate``). ``False`` keeps
        ``generate``'s padded batch (``medmo bench sweep`` times both in one run).
    """

    model: str
    device: str = "auto"
    dtype: str = "auto"
    attn_implementation: str = "auto"
    load_in_4bit: bool = False
    local_files_only: bool = True
    max_new_tokens: int = 256
    min_pixels: int = DEFAULT_MIN_PIXELS
    max_pixels: int = DEFAULT_MAX_PIXELS
    context_tokens: int = 8192
    check_memory: bool = True
    cache_implementation: str | None = None
    shrink_batches: bool = True

    def __post_init__(self) -> None:
        if not self.model or not isinstance(self.model, str):
            raise ValueError("model must be a hub id or a folder path")
        if self.device != "auto" and self.device != "cpu" and not self.device.startswith("cuda"):
            raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {self.dtype!r}")
        if self.attn_implementation not in ATTENTION:
            raise ValueError(f"attn_implementation must be one of {ATTENTION}")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if not 0 < self.min_pixels <= self.max_pixels:
            raise ValueError("need 0 < min_pixels <= max_pixels")
        if self.context_tokens < 1:
            raise ValueError("context_tokens must be >= 1")
        if self.cache_implementation not in (None, "dynamic", "static"):
            raise ValueError(f"cache_implementation must be None, 'dynamic' or 'static', "
                             f"got {self.cache_implementation!r}")


def choose_device(requested: str = "auto") -> str:
    """``cuda`` when asked for or available, else ``cpu``."""
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {requested!r} asked for, but CUDA is not available")
    return requested


def choose_dtype(device: str, requested: str = "auto"):
    """bfloat16 on CUDA, float32 on CPU, unless asked otherwise."""
    import torch

    if requested == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    return getattr(torch, requested)


def flash_attention_available() -> bool:
    return importlib.util.find_spec("flash_attn") is not None


def choose_attention(device: str, requested: str = "auto") -> str:
    """flash_attention_2 when importable on CUDA, else PyTorch SDPA."""
    if requested != "auto":
        if requested == "flash_attention_2" and not flash_attention_available():
            raise ValueError("flash_attention_2 asked for, but flash_attn is not installed")
        return requested
    return "flash_attention_2" if device.startswith("cuda") and flash_attention_available() else "sdpa"


def _resolve_source(config: EngineConfig) -> str:
    path = Path(config.model).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(f"{path} is not a model folder (no config.json)")
        return str(path)
    if config.model.count("/") != 1 or config.model.startswith((".", "/", "~")):
        raise ModelNotFoundError(f"model folder {config.model} does not exist")
    return config.model


def load_model(config: EngineConfig) -> tuple[Any, Any, dict]:
    """Load processor and model as the model card does; returns (model, processor, info).

    ``info`` records the resolved device, dtype and attention backend.
    """
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    source = _resolve_source(config)
    device = choose_device(config.device)
    dtype = choose_dtype(device, config.dtype)
    attn = choose_attention(device, config.attn_implementation)
    kwargs: dict[str, Any] = {"local_files_only": config.local_files_only}
    try:
        processor = AutoProcessor.from_pretrained(source, **kwargs)
        if device.startswith("cuda") and config.check_memory:
            _check_fits(source, config, device, str(dtype).removeprefix("torch."), kwargs)
        model_kwargs: dict[str, Any] = {**kwargs, "dtype": dtype, "attn_implementation": attn}
        if config.load_in_4bit:
            model_kwargs["quantization_config"] = _four_bit_config(device, dtype)
            model_kwargs["device_map"] = {"": device}
        model = AutoModelForImageTextToText.from_pretrained(source, **model_kwargs)
    except OSError as exc:
        raise ModelNotFoundError(
            f"model {config.model!r} is not available locally ({exc.__class__.__name__}). "
            "Download it with `medmo models download ID`, or pass a folder with --model DIR "
            "(`medmo models make-tiny DIR` builds a small test model)."
        ) from exc
    if not config.load_in_4bit:
        # transformers wraps Module.to with functools.wraps: mypy then sees no bound self
        model = model.to(device)  # type: ignore[arg-type]
    model.eval()
    processor.tokenizer.padding_side = "left"
    info = {"device": device, "dtype": str(dtype).removeprefix("torch."), "attention": attn,
            "source": source, "torch": torch.__version__}
    return model, processor, info


def _four_bit_config(device: str, dtype):
    if not device.startswith("cuda"):
        raise ValueError("4-bit loading needs a CUDA GPU")
    if importlib.util.find_spec("bitsandbytes") is None:
        raise ValueError("4-bit loading needs bitsandbytes: pip install 'medmo-viewer[quant]'")
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=dtype,
        bnb_4bit_use_double_quant=True,
    )


def _check_fits(source: str, config: EngineConfig, device: str, dtype: str, kwargs: dict
                ) -> None:
    import torch
    from transformers import AutoConfig

    from inference.memory import check_fits, estimate_memory

    model_config = AutoConfig.from_pretrained(source, **kwargs).to_dict()
    estimate = estimate_memory(
        model_config, dtype="4bit" if config.load_in_4bit else dtype,
        context_tokens=config.context_tokens,
    )
    index = torch.device(device).index or 0
    free, _total = torch.cuda.mem_get_info(index)
    try:
        check_fits(estimate, free_bytes=free)
    except InsufficientMemoryError:
        log.warning("refusing to load: memory estimate exceeds free GPU memory")
        raise
