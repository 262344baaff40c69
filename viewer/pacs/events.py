"""What a retrieve reports as it goes: plain frozen values, safe to pass between threads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# sink(series_uid, sop_instance_uid, sop_class_uid, whole DICOM file) -> where it was written
Sink = Callable[[str, str, str, bytes], Path]


@dataclass(frozen=True, slots=True)
class Stored:
    """One instance arrived and is on disk (protocol level)."""

    sop_uid: str
    path: str


@dataclass(frozen=True, slots=True)
class NotSent:
    """The PACS reported ``count`` instances it could not send, and why (protocol level)."""

    count: int
    reason: str


@dataclass(frozen=True, slots=True)
class Progress:
    """Instances of the study on disk (``done``) out of ``total`` (None: the PACS did not
    say), ``failed`` so far, in series ``series_uid``."""

    study_uid: str
    done: int
    total: int | None
    failed: int
    series_uid: str

    @property
    def remaining(self) -> int | None:
        return None if self.total is None else max(self.total - self.done - self.failed, 0)


@dataclass(frozen=True, slots=True)
class SeriesReady:
    """A whole series is on disk (fetched now, or already in the cache)."""

    study_uid: str
    series_uid: str
    description: str
    paths: tuple[str, ...]
    from_cache: bool


@dataclass(frozen=True, slots=True)
class RetrieveResult:
    """The end of a retrieve. ``instances``: the study's files on disk now (``paths``);
    ``received``: how many arrived in this run; ``error``: why it stopped early ("" if it
    did not). What arrived before an error or a cancel stays in the cache."""

    study_uid: str
    instances: int
    received: int
    failed: int
    seconds: float
    complete: bool
    paths: tuple[str, ...] = ()
    error: str = ""
    cancelled: bool = False
    problems: tuple[str, ...] = ()

    def as_json(self) -> dict:
        return {"instances": self.instances, "received": self.received,
                "failed": self.failed, "seconds": round(self.seconds, 3),
                "complete": self.complete, "error": self.error,
                "cancelled": self.cancelled, "problems": list(self.problems)}


RetrieveEvent = Progress | SeriesReady | RetrieveResult
