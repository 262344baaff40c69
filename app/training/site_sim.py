"""A simulated site for ``medmo bench adapt --scenario clicks``: shifted phantoms, reviewed by
a simulated radiologist through the app's own store.

The site differs from the demo world (:mod:`app.training.demo_data`) in three ways a real site
would: its scanner is noisier (:data:`SITE_NOISE_HU` more Gaussian noise), it reads with
another window (:data:`SITE_WINDOW`, width/level) and it sees another mix of findings
(:data:`SITE_KINDS`: more masses, cysts and effusions, few calcified nodules).

:func:`review_site` asks the model to localise each pool slice, records every answer exactly as
the viewer does (:func:`app.store.recording.record_answer`, into a real workspace with its audit
log), then clicks as :func:`inference.training.reviewer.review` says: accept true positives,
delete false positives, add the misses (:class:`viewer.annotations.AnnotationSet`, autosaved).
What comes out is a workspace like any radiologist's, read by ``medmo dataset corrections``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inference.prompts import task_instruction
from inference.training.dataset import Example
from inference.training.reviewer import Labelled, review

SITE_NOISE_HU = 25.0
SITE_WINDOW = (350.0, 50.0)
SITE_KINDS = {"solid nodule": 0.2, "mass": 0.25, "calcified nodule": 0.05, "cyst": 0.25,
              "pleural effusion": 0.25}
CT_SLICE = 512  # a CT slice's own matrix: no model is fed a phantom rendered finer than this
STUDY_UID = "2.25.4242000000000000000000000001"
SERIES_UID = "2.25.4242000000000000000000000002"


def slice_size_for(max_pixels: int, factor: int) -> int:
    """The square slice side a model reads at: the largest multiple of its patch grid
    (``factor`` pixels) whose area fits its processor's ``max_pixels``, at most
    :data:`CT_SLICE`. A site slice rendered at this size reaches the model unresized, so a
    model trained at 512 x 512 is benchmarked at 512 and the 256 x 256 one at 256.

    >>> slice_size_for(256 * 256, 32), slice_size_for(512 * 512, 32)
    (256, 512)
    >>> slice_size_for(1280 * 1280, 32), slice_size_for(300 * 300, 32)
    (512, 288)
    """
    import math

    return min(CT_SLICE, math.isqrt(max_pixels) // factor * factor)


def model_slice_size(model_dir: str | Path) -> int:
    """:func:`slice_size_for` from a model folder's processor configuration
    (:func:`inference.frames.pixel_bounds_of_folder`: ``size.longest_edge`` and the patch grid);
    FileNotFoundError if the folder has none."""
    from inference.frames import pixel_bounds_of_folder

    _, max_pixels, factor = pixel_bounds_of_folder(model_dir)
    return slice_size_for(max_pixels, factor)


@dataclass(frozen=True, slots=True)
class SiteSlice:
    """One site slice: the image as the site windows it, and its true findings (0..1000)."""

    seed: int
    image: np.ndarray
    truth: tuple[Labelled, ...]


def site_slice(seed: int, *, size: int = 256) -> SiteSlice:
    """A slice of the shifted site, deterministic for ``seed``.

    >>> s = site_slice(5, size=128)
    >>> s.image.shape, s.image.dtype.name, all(0 <= v <= 1000 for b, _ in s.truth for v in b)
    ((128, 128), 'uint8', True)
    """
    from viewer.phantom_world import world_slice
    from viewer.windowing import apply_window

    world = world_slice(size, seed, kind_weights=SITE_KINDS)
    rng = np.random.default_rng([seed, 29])
    hu = world.hu + rng.normal(0.0, SITE_NOISE_HU, world.hu.shape)
    image = np.asarray(apply_window(hu, *SITE_WINDOW), np.uint8)
    scale = 1000.0 / size
    truth = tuple(((round(f.x0 * scale), round(f.y0 * scale), round(f.x1 * scale),
                    round(f.y1 * scale)), f.kind) for f in world.findings)
    return SiteSlice(seed, image, truth)


def heldout_example(s: SiteSlice) -> Example:
    """A held-out row: the slice and its drawn truth (never seen by training)."""
    return Example(id=f"site-{s.seed:07d}", image=s.image,
                   prompt=task_instruction("localize", ""), task="localize",
                   boxes_norm=tuple(b for b, _ in s.truth), labels=tuple(k for _, k in s.truth),
                   source={"site_seed": s.seed, "noise_hu": SITE_NOISE_HU,
                           "window": list(SITE_WINDOW)})


def review_site(engine: Any, model_path: str | Path, slices: list[SiteSlice],
                workspace_dir: str | Path, *, batch: int = 16) -> dict[str, int]:
    """The model answers each slice, the simulated reviewer clicks; returns click counts."""
    from app.store.audit import AuditLog
    from app.store.recording import record_answer
    from app.store.workspace import Workspace
    from viewer.annotations import Annotation, FrameLocation, PixelBox

    counts = {"accepted": 0, "deleted": 0, "added": 0}
    workspace_dir = Path(workspace_dir)
    with Workspace(workspace_dir) as ws:
        annotations = ws.load_annotations(STUDY_UID)
        stop = ws.autosave(annotations)
        audit = AuditLog(workspace_dir / "audit")
        for start in range(0, len(slices), batch):
            chunk = slices[start:start + batch]
            frames = [FrameLocation(SERIES_UID, start + k, f"{SERIES_UID}.{start + k}")
                      for k in range(len(chunk))]
            answer = engine.localize([s.image for s in chunk], "")
            done = record_answer(ws, audit, study_uid=STUDY_UID, frames=frames,
                                 sent=[s.image for s in chunk], prompt="", answer=answer,
                                 windows=[SITE_WINDOW] * len(chunk), task="localize",
                                 annotations=annotations, weights_path=model_path)
            on_frame: dict[int, list[str]] = {}
            for fid in done.finding_ids:
                on_frame.setdefault(annotations[fid].shown.frame.frame_index, []).append(fid)
            for k, s in enumerate(chunk):
                ids = on_frame.get(frames[k].frame_index, [])
                size = s.image.shape[1], s.image.shape[0]
                pred = [(_norm(annotations[fid].current.box, size),  # type: ignore[union-attr]
                         annotations[fid].current.label) for fid in ids]  # type: ignore[union-attr]
                clicks = review(pred, s.truth)
                for r in clicks.accepted:
                    annotations.accept(ids[r])
                for r in clicks.deleted:
                    annotations.delete(ids[r])
                for c in clicks.added:
                    box, kind = s.truth[c]
                    annotations.add(Annotation(PixelBox(*(v * size[i % 2] / 1000.0
                                                          for i, v in enumerate(box))),
                                               kind, frames[k]))
                counts["accepted"] += len(clicks.accepted)
                counts["deleted"] += len(clicks.deleted)
                counts["added"] += len(clicks.added)
        stop()
    return counts


def _norm(box: Any, size: tuple[int, int]) -> tuple[float, float, float, float]:
    width, height = size
    return (box.x0 * 1000.0 / width, box.y0 * 1000.0 / height,
            box.x1 * 1000.0 / width, box.y1 * 1000.0 / height)
