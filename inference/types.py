"""Values that cross the engine's boundary: boxes (with their coordinate space in the name),
chat turns, frame geometry, timings, answers and the engine's error types."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class NormBox:
    """A box as the model writes it: corners normalised to 0..1000 of the frame it was given.

    ``x0 <= x1`` and ``y0 <= y1`` always hold for boxes made by :func:`inference.boxes.parse_boxes`.
    ``span`` is where the box was written in the text (``text[start:end]``: the ``<box>`` tag
    or the JSON object), so a view can turn that markup into a link; ``(0, 0)`` when unknown.
    """

    label: str
    x0: float
    y0: float
    x1: float
    y1: float
    span: tuple[int, int] = (0, 0)


@dataclass(frozen=True, slots=True)
class FrameBox:
    """The one box type an :class:`Answer` carries: pixel coordinates of one ORIGINAL frame
    (column x, row y; pixel edges, ``(0, 0)`` the top-left corner of the top-left pixel),
    already clipped to that frame.

    ``frame`` is the index of the frame in the list given to the engine; ``span`` is where the
    box was written in that frame's answer text (``Answer.texts[frame]``), see :class:`NormBox`.
    """

    label: str
    frame: int
    x0: float
    y0: float
    x1: float
    y1: float
    span: tuple[int, int] = (0, 0)


@dataclass(frozen=True, slots=True)
class ParsedBoxes:
    """Boxes found in a model's text, plus how many box-like fragments were dropped and why."""

    boxes: tuple[NormBox, ...] = ()
    dropped: int = 0
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FrameGeometry:
    """The exact resize of one frame: original pixel size and the size given to the model."""

    width: int
    height: int
    model_width: int
    model_height: int


@dataclass(frozen=True, slots=True)
class Turn:
    """One earlier message of the study's chat (text only), ``role`` 'user' or 'assistant'."""

    role: str
    text: str

    def __post_init__(self) -> None:
        if self.role not in ("user", "assistant", "system"):
            raise ValueError(f"role must be 'user', 'assistant' or 'system', got {self.role!r}")


@dataclass(frozen=True, slots=True)
class Timings:
    """``ttft_s``: call start to first new token; ``tokens_per_s``: decode rate after it."""

    ttft_s: float = 0.0
    new_tokens: int = 0
    tokens_per_s: float = 0.0
    total_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Answer:
    """What one ask/localise call produced.

    ``texts`` holds one text per frame for batched localisation (``text`` joins them with
    newlines); ``boxes`` are final: parsed once from the text, mapped once to pixels of the
    frames given (:class:`FrameBox`), nobody parses the text again; ``dropped_boxes`` counts
    box-like fragments that could not be used (and boxes written about several frames at once,
    which name no frame).
    """

    text: str
    boxes: tuple[FrameBox, ...] = ()
    timings: Timings = field(default_factory=Timings)
    model: str = ""
    adapter: str | None = None
    texts: tuple[str, ...] = ()
    geometry: tuple[FrameGeometry, ...] = ()
    dropped_boxes: int = 0
    cancelled: bool = False
    prompt_text: str = ""  # the rendered chat text sent to the model (for audit and tests)
    server: str = ""  # the server's URL when a server answered (``model``: the name it reported)


class EngineError(RuntimeError):
    """Any failure of the engine the user should see as a message (never a traceback)."""


class ModelNotFoundError(EngineError):
    """The model id or folder is not available locally (and downloading was not asked for)."""


class EngineOutOfMemoryError(EngineError):
    """The accelerator ran out of memory; caches were emptied and the engine is still usable."""


class InsufficientMemoryError(EngineError):
    """The memory estimate says the model cannot fit; nothing was loaded."""


def final_answer(stream: Iterable[str | Answer]) -> Answer:
    """Drive an engine's ``stream`` to its end and return the Answer it ends with (what
    ``ask`` is, for the in-process and the remote engine alike)."""
    answer = None
    for item in stream:
        answer = item
    if not isinstance(answer, Answer):
        raise EngineError("generation ended without an answer")
    return answer


def per_frame_stream(answer: Answer) -> Iterator[str | Answer]:
    """A several-frame box answer as a stream: each frame's text as one chunk, then the Answer
    (how both engines stream a localisation they ran one frame at a time)."""
    for k, text in enumerate(answer.texts):
        yield f"[frame {k}] {text}\n"
    yield answer
