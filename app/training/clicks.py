"""The radiologist's review clicks, one record per model prediction (and per added box).

Nothing extra is logged for a click: the workspace already keeps, per finding, the model's box
(``prediction``, with the id of the answer that made it) beside the box that stands
(``current``), committed at every edit (:meth:`app.store.workspace.Workspace.autosave`); the
kind of click is derived from the two (:attr:`viewer.annotations.Finding.corrections`). The
answer's chat message holds the image exactly as sent, the model version (id, weights path and
SHA-256, adapter) and, before it, the user's prompt. :func:`review_clicks` joins the three.

A click's boxes are normalised 0..1000 of the image sent (the coordinates the model writes). An
added box has no answer of its own: it belongs to the latest answer that showed its frame.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from app.store.workspace import ChatMessage, Workspace
from viewer.annotations import Finding, PixelBox

NormBox = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class ReviewClick:
    """One reviewed box: what the model said, what the radiologist left, and where from.

    ``kinds`` are :data:`viewer.annotations.CORRECTION_KINDS` (``("accepted",)``,
    ``("moved", "resized")``, ``("deleted",)``, ``("added",)``, ...); ``predicted`` is None for
    an added box and ``final`` None for a deleted one.
    """

    study_uid: str
    finding_id: str
    answer_id: str
    series_uid: str
    frame_index: int
    kinds: tuple[str, ...]
    predicted: NormBox | None
    predicted_label: str
    final: NormBox | None
    final_label: str
    image_sha256: str
    prompt: str
    task: str
    model_id: str
    model_path: str
    model_sha256: str
    adapter: str
    adapter_sha256: str


@dataclass(frozen=True, slots=True)
class ReviewClicks:
    """Every click of a workspace, plus the findings that could not be tied to an answer."""

    clicks: tuple[ReviewClick, ...]
    skipped: tuple[tuple[str, str], ...]  # (finding description, reason)

    def counts(self) -> dict[str, int]:
        """How many clicks of each kind (a moved and resized box counts under both)."""
        out: dict[str, int] = {}
        for click in self.clicks:
            for kind in click.kinds:
                out[kind] = out.get(kind, 0) + 1
        return dict(sorted(out.items()))


def norm_box(box: PixelBox, width: int, height: int) -> NormBox:
    """A pixel box as 0..1000 of a ``width`` x ``height`` image, clamped.

    >>> norm_box(PixelBox(32, 0, 64, 128), 128, 256)
    (250.0, 0.0, 500.0, 500.0)
    """
    def clamp(v: float) -> float:
        return min(max(v, 0.0), 1000.0)

    return (clamp(box.x0 * 1000.0 / width), clamp(box.y0 * 1000.0 / height),
            clamp(box.x1 * 1000.0 / width), clamp(box.y1 * 1000.0 / height))


def _answer_for(messages: list[ChatMessage], finding: Finding
                ) -> tuple[ChatMessage, int, ChatMessage | None] | None:
    """(answer, index of the finding's frame in it, the user prompt before it)."""
    shown = finding.shown.frame
    wanted = finding.prediction.answer_id if finding.prediction else ""
    order = [m for m in messages if m.role == "assistant" and m.id == wanted] if wanted else \
        [m for m in reversed(messages) if m.role == "assistant"]
    for answer in order:
        for k, frame in enumerate(answer.frames):
            if (frame.series_uid, frame.frame_index) == (shown.series_uid, shown.frame_index) \
                    and k < len(answer.sent_images):
                pos = messages.index(answer)
                prompt = next((messages[j] for j in range(pos - 1, -1, -1)
                               if messages[j].role == "user"), None)
                return answer, k, prompt
    return None


def _study_clicks(workspace: Workspace, study_uid: str
                  ) -> Iterator[tuple[ReviewClick | None, str, str]]:
    messages = workspace.messages(study_uid)
    for finding in workspace.load_annotations(study_uid):
        kinds = finding.corrections
        if not kinds:
            continue  # not reviewed yet: no click
        where = f"study ...{study_uid[-8:]} finding {finding.id}"
        found = _answer_for(messages, finding)
        if found is None:
            yield None, where, "no model answer with a stored image of its frame"
            continue
        answer, k, prompt = found
        digest = answer.sent_images[k]
        try:
            height, width = workspace.get_image(digest).shape[:2]
        except KeyError as exc:
            yield None, where, str(exc)
            continue
        pred, cur = finding.prediction, finding.current
        frame = finding.shown.frame
        yield ReviewClick(
            study_uid=study_uid, finding_id=finding.id, answer_id=answer.id,
            series_uid=frame.series_uid, frame_index=frame.frame_index, kinds=kinds,
            predicted=norm_box(pred.box, width, height) if pred else None,
            predicted_label=pred.label if pred else "",
            final=norm_box(cur.box, width, height) if cur else None,
            final_label=cur.label if cur else "", image_sha256=digest,
            prompt=prompt.text if prompt else "", task=(prompt.task if prompt else "") or "",
            model_id=answer.model_id, model_path=answer.model_path,
            model_sha256=answer.model_sha256, adapter=answer.adapter,
            adapter_sha256=answer.adapter_sha256), where, ""


def review_clicks(workspace: Workspace) -> ReviewClicks:
    """Every reviewed box of every study in ``workspace``, in storage order."""
    clicks, skipped = [], []
    for study_uid in workspace.studies():
        for click, where, reason in _study_clicks(workspace, study_uid):
            if click is None:
                skipped.append((where, reason))
            else:
                clicks.append(click)
    return ReviewClicks(tuple(clicks), tuple(skipped))
