"""Which MedMO checkpoints exist, which are on this machine, and downloading one on request.

Downloading is the ONE place the engine may use the network, and only when the user asks
(``medmo models download ID``): it switches Hugging Face offline mode off for that call only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# The phantom-localisation demo model shipped in resources/ (synthetic data only, NOT for
# clinical use; rebuilt by `medmo train-demo-model`). The default when no model is chosen.
DEMO_MODEL_DIR = Path(__file__).resolve().parents[1] / "resources" / "demo-model"


def default_model() -> str | None:
    """The bundled demo model's folder when it is installed, else None."""
    return str(DEMO_MODEL_DIR) if (DEMO_MODEL_DIR / "config.json").is_file() else None


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A known checkpoint. ``verified`` says whether we saw the id on the Hub ourselves."""

    id: str
    variant: str  # "4B" | "8B"
    base: str
    verified: bool
    note: str = ""


# Ids seen on the MBZUAI MedMO Hugging Face collection / model pages (2026). None of them could
# be downloaded from this build machine, so their files were not inspected here.
REGISTRY: dict[str, ModelInfo] = {
    m.id: m
    for m in (
        ModelInfo("MBZUAI/MedMO-8B-Next", "8B", "Qwen3-VL-8B", True, "latest 8B (collection page)"),
        ModelInfo("MBZUAI/MedMO-8B", "8B", "Qwen3-VL-8B", True, "collection page"),
        ModelInfo("MBZUAI/MedMO-4B", "4B", "Qwen3-VL-4B", True, "collection page"),
        ModelInfo("MBZUAI/MedMO-4B-Next", "4B", "Qwen3-VL-4B", True,
                  "model files page seen; not in the collection listing we read"),
    )
}


@dataclass(frozen=True, slots=True)
class LocalModel:
    """A checkpoint found on disk (Hugging Face cache or a local folder)."""

    name: str  # hub id or folder path
    path: str
    size_bytes: int
    variant: str  # "4B", "8B", "tiny" or "?"
    source: str  # "hf-cache" | "folder"


def variant_of(config: dict) -> str:
    """Guess the size variant from a config.json dict.

    >>> variant_of({"model_type": "qwen3_vl", "text_config": {"hidden_size": 4096}})
    '8B'
    >>> variant_of({"model_type": "qwen3_vl", "text_config": {"hidden_size": 64}})
    'tiny'
    """
    hidden = (config.get("text_config") or config).get("hidden_size", 0)
    return {4096: "8B", 2560: "4B", 2048: "2B"}.get(hidden, "tiny" if hidden and hidden < 512 else "?")


def _folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def scan_folder(path: str | Path) -> LocalModel | None:
    """A LocalModel when ``path`` holds a Qwen-VL checkpoint (config.json), else None."""
    folder = Path(path).expanduser()
    config_path = folder / "config.json"
    if not config_path.is_file():
        return None
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not str(config.get("model_type", "")).startswith("qwen"):
        return None
    return LocalModel(str(folder), str(folder), _folder_size(folder), variant_of(config), "folder")


def list_models(folders: Sequence[str | Path] = (), *, cache_dir: str | None = None
                ) -> list[LocalModel]:
    """Checkpoints in the Hugging Face cache (image-text models) plus those in ``folders``
    (each folder itself or its direct sub-folders)."""
    found: list[LocalModel] = []
    try:
        from huggingface_hub import scan_cache_dir

        cache = scan_cache_dir(cache_dir)
    except Exception:  # noqa: BLE001 - no cache yet is not an error  # pragma: no cover
        cache = None
    if cache is not None:
        for repo in cache.repos:
            if repo.repo_type != "model":
                continue
            for revision in repo.revisions:
                config_file = Path(revision.snapshot_path) / "config.json"
                if config_file.is_file():
                    local = scan_folder(revision.snapshot_path)
                    if local is not None:
                        found.append(LocalModel(repo.repo_id, str(revision.snapshot_path),
                                                repo.size_on_disk, local.variant, "hf-cache"))
                    break
    for folder in folders:
        base = Path(folder).expanduser()
        candidates = [base] + (sorted(p for p in base.iterdir() if p.is_dir())
                               if base.is_dir() else [])
        for candidate in candidates:
            local = scan_folder(candidate)
            if local is not None:
                found.append(local)
    return found


@contextmanager
def network_allowed() -> Iterator[None]:
    """Switch Hugging Face offline mode off for the duration of the block (then restore it)."""
    import huggingface_hub.constants as hf_constants

    saved_env = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    saved_const = hf_constants.HF_HUB_OFFLINE
    os.environ["HF_HUB_OFFLINE"] = "0"
    os.environ["TRANSFORMERS_OFFLINE"] = "0"
    hf_constants.HF_HUB_OFFLINE = False
    try:
        yield
    finally:
        hf_constants.HF_HUB_OFFLINE = saved_const
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def download(model_id: str, *, cache_dir: str | None = None, revision: str | None = None) -> str:
    """Download (or resume) ``model_id`` into the Hugging Face cache; returns the folder.

    huggingface_hub resumes partial files and shows a progress bar. Unknown ids are allowed
    (any Qwen3-VL checkpoint), but must look like ``owner/name``.
    """
    if model_id.count("/") != 1 or not all(model_id.split("/")):
        raise ValueError(f"model id must look like owner/name, got {model_id!r}")
    from huggingface_hub import snapshot_download

    with network_allowed():
        return snapshot_download(model_id, cache_dir=cache_dir, revision=revision)
