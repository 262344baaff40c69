"""Training examples from the radiologists' corrections, and the phantom benchmark.

:func:`workspace_examples` turns a workspace into :class:`inference.training.dataset.Example`
rows of three kinds:

* **box corrections** (task of the prompt, usually ``localize``): one row per *corrected
  frame*, i.e. a frame with at least one finding the radiologist reviewed (accepted, moved,
  resized, relabelled, deleted or added);
* **report edits** (task ``report``): an AI draft the radiologist edited; the target is the
  edited text, the image the one frame the draft was written from;
* **answered questions** (task of the question, e.g. ``vqa``): a model answer the radiologist
  confirmed or corrected (:meth:`app.store.workspace.Workspace.review_answer`); the target is their
  answer.

On a box-correction frame:

* the image is the one stored with the answer, exactly as it was sent to the model;
* the prompt is the instruction the engine rendered for the user's request;
* the targets are the boxes that stand (:meth:`AnnotationSet.final`): corrections win over
  predictions, deleted predictions are not targets, added boxes are; predictions on the frame
  left untouched stand as the model gave them (the radiologist saw them and kept them);
* the report is the study's latest report text when the radiologist edited it.

Report edits and answers take the prompt the user gave for them, rendered as the engine does.
What cannot be used (no stored image, a draft from several frames) is returned with a reason,
never dropped silently.

:func:`phantom_examples` draws the synthetic benchmark (256 x 256 phantom slices with one lesion
of known box) with the viewer's phantom and windowing code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.store.workspace import ChatMessage, Workspace
from inference.prompts import TASKS, task_instruction
from inference.training.dataset import Example, stable_id
from viewer.annotations import Finding
from viewer.report import ReportDraft

DEFAULT_TASK = "localize"


@dataclass(frozen=True, slots=True)
class WorkspaceExamples:
    """Examples built from a workspace, plus the frames skipped and why."""

    examples: tuple[Example, ...]
    skipped: tuple[tuple[str, str], ...]  # (frame description, reason)


def instruction(task: str, text: str) -> str:
    """The instruction the engine sends for ``task`` with the user's ``text``.

    >>> instruction("vqa", "Is there a nodule?")
    'Is there a nodule?'
    >>> instruction("localize", "Find the lesions.")
    'Find the lesions.'
    """
    if task not in TASKS:
        return text
    return task_instruction(task, text)


def _frame_key(finding: Finding) -> tuple[str, int]:
    shown = finding.shown
    return shown.frame.series_uid, shown.frame.frame_index


def _sent(messages: list[ChatMessage], key: tuple[str, int], answer_ids: set[str]
          ) -> tuple[str, ChatMessage | None] | None:
    """(image hash, user prompt message) of the answer that showed this frame: preferably one
    that produced a box on it, else the latest answer about the frame."""
    by_id = {m.id: k for k, m in enumerate(messages)}
    candidates = [m for m in messages if m.role == "assistant" and m.id in answer_ids]
    candidates += [m for m in reversed(messages) if m.role == "assistant"]
    for message in candidates:
        for k, frame in enumerate(message.frames):
            if (frame.series_uid, frame.frame_index) == key and k < len(message.sent_images):
                pos = by_id[message.id]
                prompt = next((messages[j] for j in range(pos - 1, -1, -1)
                               if messages[j].role == "user"), None)
                return message.sent_images[k], prompt
    return None


def workspace_examples(workspace: Workspace) -> WorkspaceExamples:
    """One example per corrected frame of every study in ``workspace``."""
    examples: list[Example] = []
    skipped: list[tuple[str, str]] = []
    for study_uid in workspace.studies():
        annotations = workspace.load_annotations(study_uid)
        messages = workspace.messages(study_uid)
        report = workspace.latest_report(study_uid)
        report_text = report.text if report is not None and report.text != report.ai_text else ""
        frames: dict[tuple[str, int], list[Finding]] = {}
        for finding in annotations:
            frames.setdefault(_frame_key(finding), []).append(finding)
        for key, findings in sorted(frames.items()):
            kinds = sorted({kind for f in findings for kind in f.corrections})
            if not kinds:
                continue  # nothing reviewed on this frame: not a correction
            where = f"study ...{study_uid[-8:]} series ...{key[0][-8:]} frame {key[1]}"
            answer_ids = {f.prediction.answer_id for f in findings if f.prediction}
            found = _sent(messages, key, answer_ids)
            if found is None:
                skipped.append((where, "no stored image of this frame as sent to the model"))
                continue
            digest, prompt_message = found
            try:
                image = workspace.get_image(digest)
            except KeyError as exc:
                skipped.append((where, str(exc)))
                continue
            height, width = image.shape[:2]
            standing = [f.current for f in findings if f.current is not None]
            boxes = tuple(_norm(a.box, width, height) for a in standing)
            task = prompt_message.task if prompt_message and prompt_message.task else DEFAULT_TASK
            text = prompt_message.text if prompt_message else ""
            examples.append(Example(
                id=stable_id(study_uid, key[0], key[1], digest), image=image,
                prompt=instruction(task, text), boxes_norm=boxes,
                labels=tuple(a.label for a in standing), report=report_text,
                source={"study_uid": study_uid, "series_uid": key[0], "frame_index": key[1],
                        "corrections": kinds, "image_sha256": digest},
                task=task, question=text))
        for rows, reasons in (_report_examples(workspace, study_uid, messages),
                              _answer_examples(workspace, study_uid, messages)):
            examples.extend(rows)
            skipped.extend(reasons)
    return WorkspaceExamples(tuple(examples), tuple(skipped))


Sent = tuple[np.ndarray, ChatMessage, ChatMessage | None]


def _single_frame(workspace: Workspace, messages: list[ChatMessage], answer_id: str
                  ) -> tuple[Sent | None, str]:
    """(image, answer, the user's prompt before it) of a one-frame answer, or why not."""
    pos = next((k for k, m in enumerate(messages) if m.id == answer_id), None)
    if pos is None:
        return None, "its model answer is not in the chat"
    answer = messages[pos]
    if len(answer.sent_images) != 1:
        return None, f"written from {len(answer.sent_images)} frames; training rows hold one image"
    try:
        image = workspace.get_image(answer.sent_images[0])
    except KeyError as exc:
        return None, str(exc)
    prompt = next((messages[j] for j in range(pos - 1, -1, -1) if messages[j].role == "user"),
                  None)
    return (image, answer, prompt), ""


def _text_example(kind: str, study_uid: str, found: Sent, task: str, target: str,
                  report: str = "") -> Example:
    image, answer, prompt = found
    text = prompt.text if prompt else ""
    frame = answer.frames[0]
    return Example(
        id=stable_id(study_uid, kind, answer.id), image=image, prompt=instruction(task, text),
        task=task, question=text, target=target, report=report,
        source={"study_uid": study_uid, "series_uid": frame.series_uid,
                "frame_index": frame.frame_index, "kind": kind, "answer_id": answer.id,
                "image_sha256": answer.sent_images[0]})


def _report_examples(workspace: Workspace, study_uid: str, messages: list[ChatMessage]
                     ) -> tuple[list[Example], list[tuple[str, str]]]:
    """One row per AI draft the radiologist edited (the latest edit of each draft)."""
    examples, skipped = [], []
    latest: dict[str, ReportDraft] = {}
    for report in workspace.reports(study_uid):
        if not report.ai_text or report.text.strip() == report.ai_text.strip():
            continue  # written by hand, or an AI draft left as it was: nothing to learn
        if not report.answer_id:
            skipped.append((f"study ...{study_uid[-8:]} report ...{report.id[-8:]}",
                            "the edited draft names no model answer, so no image to learn from"))
            continue
        latest[report.answer_id] = report
    for answer_id, report in sorted(latest.items()):
        what = f"study ...{study_uid[-8:]} report ...{answer_id[-8:]}"
        found, reason = _single_frame(workspace, messages, answer_id)
        if found is None:
            skipped.append((what, reason))
            continue
        examples.append(_text_example("report_edit", study_uid, found, "report",
                                      report.text, report.text))
    return examples, skipped


def _answer_examples(workspace: Workspace, study_uid: str, messages: list[ChatMessage]
                     ) -> tuple[list[Example], list[tuple[str, str]]]:
    """One row per answer the radiologist confirmed or corrected (box answers are learnt from
    their box corrections instead)."""
    examples, skipped = [], []
    for answer_id, text in sorted(workspace.answer_reviews(study_uid).items()):
        what = f"study ...{study_uid[-8:]} answer ...{answer_id[-8:]}"
        found, reason = _single_frame(workspace, messages, answer_id)
        if found is None:
            skipped.append((what, reason))
            continue
        prompt = found[2]
        task = prompt.task if prompt and prompt.task else "vqa"
        if task in ("localize", "ground"):
            skipped.append((what, "a box answer: its box corrections are its training rows"))
            continue
        examples.append(_text_example("answer_review", study_uid, found, task, text))
    return examples, skipped


def _norm(box, width: int, height: int) -> tuple[float, float, float, float]:
    """Pixel-edge box -> 0..1000 of the frame, clamped (a hand-drawn box may touch an edge)."""
    def clamp(v: float) -> float:
        return min(max(v, 0.0), 1000.0)

    return (clamp(box.x0 * 1000.0 / width), clamp(box.y0 * 1000.0 / height),
            clamp(box.x1 * 1000.0 / width), clamp(box.y1 * 1000.0 / height))


def phantom_example(seed: int, *, size: int = 256, where: str = "lungs",
                    window: tuple[float, float] = (400.0, 40.0), question: str = "") -> Example:
    """One phantom slice with one lesion, windowed like the demo study, and its target.

    >>> ex = phantom_example(3, size=64)
    >>> ex.image.shape, ex.labels, ex.answer.startswith("lesion <box>[[")
    ((64, 64), ('lesion',), True)
    """
    from viewer.phantom import phantom_slice_2d
    from viewer.windowing import apply_window

    hu, boxes = phantom_slice_2d(size, seed=seed, lesions=1, where=where)
    image = apply_window(hu, window[0], window[1])
    norm = tuple((b.x0 * 1000.0 / size, b.y0 * 1000.0 / size,
                  b.x1 * 1000.0 / size, b.y1 * 1000.0 / size) for b in boxes)
    return Example(id=f"phantom-{seed:06d}", image=np.asarray(image, dtype=np.uint8),
                   prompt=instruction(DEFAULT_TASK, question), boxes_norm=norm,
                   labels=tuple(b.label for b in boxes),
                   source={"phantom_seed": seed, "size": size, "where": where},
                   task=DEFAULT_TASK, question=question)


def build_phantom_benchmark(out_dir: str | Path, *, train: int = 2000, heldout: int = 200,
                            size: int = 256, seed: int = 0, where: str = "lungs"):
    """Write the phantom benchmark: ``train`` training cases and a frozen held-out split.

    Held-out seeds are disjoint from training seeds (``seed * 10**6 + k`` vs ``+ 500000 + k``).
    """
    from inference.training.dataset import write_dataset

    if train < 1 or heldout < 1:
        raise ValueError(f"need train >= 1 and heldout >= 1, got {train}, {heldout}")
    base = seed * 1_000_000
    training = (phantom_example(base + k, size=size, where=where) for k in range(train))
    held = [phantom_example(base + 500_000 + k, size=size, where=where) for k in range(heldout)]
    return write_dataset(out_dir, training, validation=held,
                         description=_phantom_description(size, where, seed))


def _phantom_description(size: int, where: str, seed: int) -> str:
    """The manifest description of a phantom benchmark: everything that tells two apart."""
    return f"synthetic CT phantom lesions ({size}x{size}, {where}, seed {seed}); not patient data"


def run_adapt_benchmark(out_dir: str | Path, *, train: int = 4000, heldout: int = 1000,
                        size: int = 256, seed: int = 0, where: str = "lungs", **kwargs):
    """``medmo bench adapt``: phantom benchmark data (reused when OUT/data already holds the same
    benchmark), then :func:`inference.training.adapt_bench.bench_adapt`; returns its dict.

    ``where="body"`` with ``model`` = the demo model (trained on lung nodules) and a small
    ``train`` is the site scenario: a shifted lesion type and a few hundred corrections.
    """
    from inference.training.adapt_bench import AdaptBenchConfig, bench_adapt
    from inference.training.dataset import read_manifest

    data = Path(out_dir) / "data"
    if (data / "split.json").exists():
        manifest = read_manifest(data)
        wanted = {"train": train, "validation": heldout}
        if (manifest.get("counts") != wanted
                or manifest.get("description") != _phantom_description(size, where, seed)):
            raise ValueError(f"{data} holds another benchmark ({manifest.get('description')}, "
                             f"{manifest.get('counts')}); use another --out")
    else:
        build_phantom_benchmark(data, train=train, heldout=heldout, size=size, seed=seed,
                                where=where)
    settings = kwargs.pop("settings", None) or AdaptBenchConfig(seed=seed)
    return bench_adapt(data, Path(out_dir) / "runs", settings=settings, **kwargs)
