"""PACS nodes: a DICOM node (AE title, host, port) or a DICOMweb node (base URL), how they are
written on the command line, and the config file the window and the CLI share.

A DICOM node is written ``dicom://AET@host:port``, a DICOMweb node is its base URL
(``http(s)://host:port/dicom-web``). Named nodes live in ``pacs-nodes.json`` in the config
folder (``${MEDMO_CONFIG:-~/.config/medmo}``); secrets never do (see :mod:`viewer.pacs.secrets`).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from viewer.pacs.errors import PacsError

NODES_FILE = "pacs-nodes.json"
DEFAULT_OUR_AE = "MEDMO"
RETRIEVE_METHODS = ("get", "move")
AUTH_METHODS = ("none", "basic", "bearer")
_AE_RE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")  # printable ASCII without backslash


def check_ae_title(value: str, what: str = "AE title") -> str:
    """``value`` if it is a valid AE title (1-16 printable characters, no backslash).

    >>> check_ae_title("ORTHANC")
    'ORTHANC'
    >>> check_ae_title("A-NAME-LONGER-THAN-16")
    Traceback (most recent call last):
    ...
    ValueError: AE title 'A-NAME-LONGER-THAN-16' is longer than 16 characters
    """
    if len(value) > 16:
        raise ValueError(f"{what} {value!r} is longer than 16 characters")
    if not value.strip() or not _AE_RE.match(value):
        raise ValueError(f"{what} {value!r} must be 1-16 printable ASCII characters "
                         "without a backslash")
    return value


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Network time limits in seconds: TCP connect, association set-up, and the longest wait
    for any one DIMSE message or HTTP read (a PACS silent for longer is given up on)."""

    connect_s: float = 5.0
    association_s: float = 10.0
    message_s: float = 30.0

    def __post_init__(self) -> None:
        for f in fields(self):
            if not getattr(self, f.name) > 0:
                raise ValueError(f"Timeouts.{f.name} must be > 0 seconds, got "
                                 f"{getattr(self, f.name)!r}")


@dataclass(frozen=True, slots=True)
class DicomNode:
    """A DIMSE peer. ``storage_port`` is the port of our own C-STORE SCP, needed only for
    C-MOVE (the PACS must know ``our_ae_title`` at this machine and port)."""

    ae_title: str
    host: str
    port: int
    name: str = ""
    our_ae_title: str = DEFAULT_OUR_AE
    storage_port: int = 0
    retrieve: str = "get"

    def __post_init__(self) -> None:
        check_ae_title(self.ae_title, "the PACS's AE title")
        check_ae_title(self.our_ae_title, "our AE title")
        if not self.host.strip():
            raise ValueError("a DICOM node needs a host")
        if not 1 <= self.port <= 65535:
            raise ValueError(f"port must be 1-65535, got {self.port}")
        if not 0 <= self.storage_port <= 65535:
            raise ValueError(f"storage port must be 0-65535, got {self.storage_port}")
        if self.retrieve not in RETRIEVE_METHODS:
            raise ValueError(f"retrieve must be one of {RETRIEVE_METHODS}, got {self.retrieve!r}")
        if self.retrieve == "move" and not self.storage_port:
            raise ValueError("C-MOVE needs our storage port (the PACS sends the images there)")

    kind = "dicom"

    @property
    def url(self) -> str:
        """``dicom://AET@host:port``."""
        return f"dicom://{self.ae_title}@{self.host}:{self.port}"

    @property
    def label(self) -> str:
        return self.name or self.url

    @property
    def secret_key(self) -> str:
        return ""  # DIMSE has no password here (TLS/user identity are not offered)


@dataclass(frozen=True, slots=True)
class WebNode:
    """A DICOMweb service. ``auth`` is none, basic (``username`` + a password) or bearer (a
    token); ``ca_bundle`` is a PEM file of the CAs to trust for https (default: the system's)."""

    url: str
    name: str = ""
    auth: str = "none"
    username: str = ""
    ca_bundle: str = ""

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"a DICOMweb node is an http(s) URL, got {self.url!r}")
        if self.auth not in AUTH_METHODS:
            raise ValueError(f"auth must be one of {AUTH_METHODS}, got {self.auth!r}")
        if self.auth == "basic" and not self.username:
            raise ValueError("basic authentication needs a user name")
        if self.ca_bundle and parts.scheme != "https":
            raise ValueError("a CA bundle only applies to https URLs")

    kind = "dicomweb"

    @property
    def base_url(self) -> str:
        return self.url.rstrip("/")

    @property
    def label(self) -> str:
        return self.name or self.base_url

    @property
    def secret_key(self) -> str:
        """Where this node's password or token is kept in the keyring ("" for no auth)."""
        if self.auth == "none":
            return ""
        return f"{self.auth}:{self.username}@{self.base_url}"


Node = DicomNode | WebNode


def parse_node(text: str, *, our_ae_title: str | None = None) -> Node:
    """A node from its written form.

    >>> parse_node("dicom://ORTHANC@127.0.0.1:4242")
    DicomNode(ae_title='ORTHANC', host='127.0.0.1', port=4242, name='', our_ae_title='MEDMO', storage_port=0, retrieve='get')
    >>> parse_node("https://pacs.example.org/dicom-web/").base_url
    'https://pacs.example.org/dicom-web'
    >>> parse_node("pacs:4242")
    Traceback (most recent call last):
    ...
    ValueError: 'pacs:4242' is not a node: write dicom://AET@host:port or an http(s):// DICOMweb URL
    """
    text = text.strip()
    if text.startswith("dicom://"):
        match = re.fullmatch(r"dicom://([^@]+)@(\[[^\]]+\]|[^:/@]+):(\d+)/?", text)
        if not match:
            raise ValueError(f"{text!r} is not dicom://AET@host:port")
        ae, host, port = match.groups()
        return DicomNode(ae, host.strip("[]"), int(port),
                         our_ae_title=our_ae_title or DEFAULT_OUR_AE)
    if text.startswith(("http://", "https://")):
        return WebNode(text)
    raise ValueError(f"{text!r} is not a node: write dicom://AET@host:port or an http(s):// "
                     "DICOMweb URL")


def node_to_dict(node: Node) -> dict[str, Any]:
    return {"kind": node.kind, **asdict(node)}


def node_from_dict(data: dict[str, Any]) -> Node:
    """A node from its config-file entry; ValueError naming what is wrong."""
    data = dict(data)
    kind = data.pop("kind", "dicom" if "ae_title" in data else "dicomweb")
    cls = {"dicom": DicomNode, "dicomweb": WebNode}.get(kind)
    if cls is None:
        raise ValueError(f"unknown node kind {kind!r} (dicom or dicomweb)")
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)} for a {kind} node")
    try:
        return cls(**data)
    except TypeError as exc:
        raise ValueError(f"incomplete {kind} node: {exc}") from exc


def config_dir() -> Path:
    """``${MEDMO_CONFIG:-~/.config/medmo}``."""
    env = os.environ.get("MEDMO_CONFIG")
    return Path(env).expanduser() if env else Path.home() / ".config" / "medmo"


class NodeBook:
    """The named nodes in ``path`` (default: :func:`config_dir` / ``pacs-nodes.json``).

    ``problems`` lists entries that could not be read (the rest load). Saving writes the whole
    file atomically. No secret is ever written here.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else config_dir() / NODES_FILE
        self.nodes: list[Node] = []
        self.problems: list[str] = []
        self.reload()

    def reload(self) -> None:
        self.nodes, self.problems = [], []
        if not self.path.is_file():
            return
        try:
            entries = json.loads(self.path.read_text(encoding="utf-8")).get("nodes", [])
        except (OSError, ValueError, AttributeError) as exc:
            self.problems.append(f"{self.path}: unreadable ({exc})")
            return
        for number, entry in enumerate(entries, 1):
            try:
                node = node_from_dict(entry)
            except (ValueError, TypeError, AttributeError) as exc:
                self.problems.append(f"{self.path}: node {number}: {exc}")
                continue
            if not node.name:
                self.problems.append(f"{self.path}: node {number} has no name")
                continue
            self.nodes.append(node)

    def get(self, name: str) -> Node | None:
        return next((n for n in self.nodes if n.name == name), None)

    def put(self, node: Node) -> None:
        """Add ``node`` or replace the one with its name, then save."""
        if not node.name:
            raise ValueError("a saved node needs a name")
        self.nodes = [n for n in self.nodes if n.name != node.name] + [node]
        self.save()

    def remove(self, name: str) -> None:
        self.nodes = [n for n in self.nodes if n.name != name]
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"nodes": [node_to_dict(n) for n in self.nodes]}, indent=1)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def resolve(self, text: str, *, our_ae_title: str | None = None) -> Node:
        """A saved node by name, or a node written out (``dicom://...``, ``http(s)://...``).

        ``our_ae_title`` overrides a DICOM node's calling AE title. Raises PacsError.
        """
        node = self.get(text)
        if node is None:
            try:
                node = parse_node(text, our_ae_title=our_ae_title)
            except ValueError as exc:
                names = ", ".join(n.name for n in self.nodes) or "none saved"
                raise PacsError(f"{exc} (saved nodes: {names})") from exc
        elif our_ae_title and isinstance(node, DicomNode):
            node = replace(node, our_ae_title=check_ae_title(our_ae_title, "our AE title"))
        return node
