"""Prior studies: which open study is the prior, and which of its series matches (no Qt).

A hanging for comparison puts the current series beside the prior series a radiologist would
pick: same modality, same plane, and the most similar description (word overlap). Priors are
the same patient's other studies, newest first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from viewer.reformat import native_plane
from viewer.study import Series, Study


def priors_of(current: Study, studies: Iterable[Study]) -> list[Study]:
    """The same patient's other studies dated before ``current``, newest first (undated ones
    last).

    >>> a = Study("1", patient_id="P", date="20260301")
    >>> b, c, d = Study("2", "P", date="20250101"), Study("3", "P", date="20251201"), Study("4", "Q")
    >>> [s.uid for s in priors_of(a, [a, b, c, d])]
    ['3', '2']
    """
    found = [s for s in studies
             if s is not current and s.uid != current.uid and s.patient_id == current.patient_id
             and (not current.date or not s.date or s.date <= current.date)]
    dated = sorted((s for s in found if s.date), key=lambda s: s.date, reverse=True)
    return dated + [s for s in found if not s.date]


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def description_similarity(a: str, b: str) -> float:
    """Share of words in common (Jaccard), 1.0 for two empty descriptions.

    >>> description_similarity("CT chest lung", "Chest LUNG")
    0.6666666666666666
    """
    wa, wb = _words(a), _words(b)
    if not wa and not wb:
        return 1.0
    return len(wa & wb) / len(wa | wb)


def matching_series(current: Series, candidates: Iterable[Series]) -> Series | None:
    """The candidate of the same modality and plane with the most similar description (more
    frames break ties); None when no candidate has the modality.

    >>> import numpy as np
    >>> from viewer.study import FrameRef
    >>> from viewer.volume import Volume
    >>> def s(uid, modality, text, frames=3):
    ...     return Series(uid, modality, text, Volume(np.zeros((frames, 2, 2))),
    ...                   tuple(FrameRef(str(k)) for k in range(frames)))
    >>> matching_series(s("c", "CT", "Chest lung"), [s("1", "CT", "Abdomen"),
    ...     s("2", "CT", "chest LUNG 1mm"), s("3", "MR", "chest lung")]).uid
    '2'
    """
    plane = native_plane(current.volume)
    pool = [s for s in candidates if s.modality.upper() == current.modality.upper()]
    if not pool:
        return None
    return max(pool, key=lambda s: (native_plane(s.volume) == plane,
                                    description_similarity(current.description, s.description),
                                    s.volume.n_frames))
