"""Follow-up table: a lesion's bidirectional axes on the prior and the current study, side by
side, with the change in mm and in percent (no Qt).

Lesions are paired by label (case and spaces ignored); a label measured on one study only
still gets a row, with the other side empty. Where a label is measured several times on one
study, the measurement with the longest long axis counts (RECIST measures a lesion once, at its
longest).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from psygnal import Signal

from viewer.measurements.model import MeasurementSet
from viewer.measurements.shapes import Measurement
from viewer.measurements.stats import Values, measure
from viewer.study import Study


@dataclass(frozen=True, slots=True)
class AxisChange:
    """One axis of one lesion: prior and current value, and the change."""

    prior: float | None
    current: float | None

    @property
    def change(self) -> float | None:
        if self.prior is None or self.current is None:
            return None
        return self.current - self.prior

    @property
    def percent(self) -> float | None:
        change = self.change
        if change is None or not self.prior:
            return None
        assert self.prior is not None  # checked above
        return 100.0 * change / self.prior

    def text(self) -> str:
        """``"12.0 -> 9.0 mm (-3.0 mm, -25.0 %)"``; a missing side shows as ``-``.

        >>> AxisChange(12.0, 9.0).text()
        '12.0 -> 9.0 mm (-3.0 mm, -25.0 %)'
        >>> AxisChange(None, 9.0).text()
        '- -> 9.0 mm'
        """
        def show(v: float | None) -> str:
            return "-" if v is None else f"{v:.1f}"

        base = f"{show(self.prior)} -> {show(self.current)} mm"
        if self.change is None:
            return base
        percent = "" if self.percent is None else f", {self.percent:+.1f} %"
        return f"{base} ({self.change:+.1f} mm{percent})"


@dataclass(frozen=True, slots=True)
class FollowUpRow:
    label: str
    long_axis: AxisChange
    short_axis: AxisChange


Measured = tuple[Measurement, Values]


def _key(label: str) -> str:
    return " ".join(label.lower().split())


def _by_label(measured: Iterable[Measured]) -> dict[str, tuple[str, Values]]:
    best: dict[str, tuple[str, Values]] = {}
    for measurement, values in measured:
        if measurement.kind != "bidirectional" or not measurement.label.strip():
            continue
        if values.length_unit != "mm" or values.long_axis is None:
            continue
        key = _key(measurement.label)
        held = best.get(key)
        if held is None or (held[1].long_axis or 0.0) < values.long_axis:
            best[key] = (measurement.label.strip(), values)
    return best


def follow_up(prior: Iterable[Measured], current: Iterable[Measured]) -> list[FollowUpRow]:
    """Rows for every labelled bidirectional measurement on either study, by label.

    >>> from viewer.annotations import FrameLocation
    >>> def bidi(label, long_mm, short_mm):
    ...     m = Measurement("bidirectional", FrameLocation("1", 0),
    ...                     ((0, 0), (1, 0), (0, 0), (0, 1)), label=label)
    ...     return m, Values("bidirectional", long_axis=long_mm, short_axis=short_mm)
    >>> rows = follow_up([bidi("Liver 1", 20.0, 10.0)], [bidi("liver 1", 15.0, 8.0)])
    >>> rows[0].label, rows[0].long_axis.text(), rows[0].short_axis.percent
    ('Liver 1', '20.0 -> 15.0 mm (-5.0 mm, -25.0 %)', -20.0)
    """
    before, after = _by_label(prior), _by_label(current)
    rows = []
    for key in sorted(set(before) | set(after)):
        p, c = before.get(key), after.get(key)
        held = p or c
        label = held[0] if held is not None else key
        rows.append(FollowUpRow(
            label,
            AxisChange(p[1].long_axis if p else None, c[1].long_axis if c else None),
            AxisChange(p[1].short_axis if p else None, c[1].short_axis if c else None)))
    return rows


class FollowUpTable:
    """The follow-up table of the study on screen against its prior, kept up to date as either
    study's measurements change.

    Events: ``changed()`` (read :attr:`rows`, :attr:`prior_study`, :attr:`current_study`).
    """

    changed = Signal()

    def __init__(self) -> None:
        self._sides: dict[str, tuple[MeasurementSet | None, Study | None]] = {
            "prior": (None, None), "current": (None, None)}
        self.rows: list[FollowUpRow] = []

    @property
    def prior_study(self) -> Study | None:
        return self._sides["prior"][1]

    @property
    def current_study(self) -> Study | None:
        return self._sides["current"][1]

    def set_current(self, measurements: MeasurementSet | None, study: Study | None) -> None:
        self._set("current", measurements, study)

    def set_prior(self, measurements: MeasurementSet | None, study: Study | None) -> None:
        self._set("prior", measurements, study)

    def _set(self, side: str, measurements: MeasurementSet | None, study: Study | None) -> None:
        old = self._sides[side][0]
        if old is not None and old is not measurements:
            old.changed.disconnect(self._refresh, missing_ok=True)
        if measurements is not None and measurements is not old:
            measurements.changed.connect(self._refresh)
        self._sides[side] = (measurements, study)
        self._refresh()

    def _measured(self, side: str) -> list[Measured]:
        measurements, study = self._sides[side]
        if measurements is None or study is None:
            return []
        volumes = {s.uid: s for s in study.series}
        out = []
        for m in measurements:
            series = volumes.get(m.frame.series_uid)
            if m.kind == "bidirectional" and series is not None \
                    and m.frame.frame_index < series.volume.n_frames:
                out.append((m, measure(m, series.volume, modality=series.modality)))
        return out

    def _refresh(self, *_args: object) -> None:
        self.rows = follow_up(self._measured("prior"), self._measured("current"))
        self.changed.emit()
