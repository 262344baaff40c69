"""Putting a site's LoRA adapter where the server can read it, under a name that says what it is.

vLLM loads an adapter from a path on the SERVER (``POST /v1/load_lora_adapter``). A site shares
one folder between the workstations and the server (an NFS/SMB mount, say ``/mnt/medmo-adapters``
here and ``/srv/medmo/adapters`` there): an adapter outside it is copied in (atomically, once),
and the server is given the same file's path as it sees it.

The name on the server is content-addressed (``medmo-`` + 12 hex digits of the adapter files'
SHA-256): two workstations loading the same adapter share one copy, and a different adapter can
never be answered under another's name.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path


def adapter_digest(folder: str | Path) -> str:
    """SHA-256 over an adapter folder's files (relative names and bytes), in name order."""
    root = Path(folder)
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(file.relative_to(root).as_posix().encode() + b"\0")
        with file.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\n")
    return digest.hexdigest()


def server_adapter_name(folder: str | Path) -> str:
    """The adapter's name on the server: ``medmo-`` + the first 12 hex digits of its digest."""
    return "medmo-" + adapter_digest(folder)[:12]


def publish_adapter(folder: str | Path, *, share: str = "", share_on_server: str = ""
                    ) -> tuple[str, str]:
    """(name on the server, path the server reads it from) for the adapter in ``folder``.

    Without a ``share`` the folder's own absolute path is given (a server on this machine, or a
    mount at the same path on both). With one, an adapter already inside it is used in place and
    any other is copied to ``share/<name>`` first; ``share_on_server`` is the same folder as the
    server sees it (default: the same path).
    """
    source = Path(folder).expanduser().resolve()
    name = server_adapter_name(source)
    if not share:
        return name, str(source)
    local_share = Path(share).expanduser().resolve()
    remote_share = (share_on_server or str(local_share)).rstrip("/")
    if source.is_relative_to(local_share):
        return name, f"{remote_share}/{source.relative_to(local_share).as_posix()}"
    target = local_share / name
    if not (target / "adapter_config.json").is_file():
        if not local_share.is_dir():
            raise FileNotFoundError(f"the adapter share {local_share} does not exist (is it "
                                    "mounted?)")
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=local_share))
        try:
            shutil.copytree(source, staging, dirs_exist_ok=True)
            os.chmod(staging, 0o755)  # the server's user must read it
            try:
                staging.rename(target)
            except OSError:  # another workstation published the same adapter meanwhile
                if not (target / "adapter_config.json").is_file():
                    raise
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return name, f"{remote_share}/{name}"
