"""Patient / study / series tree, and the list of files that could not be read (with reasons)."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6 import QtCore, QtWidgets

from viewer.study import LoadResult, Series, Skipped, series_warnings

_POSITION = QtCore.Qt.ItemDataRole.UserRole


def series_label(series: Series) -> str:
    """One line per series: number, modality, description, shape (a warning sign when the
    series carries warnings: geometry dropped, NaN pixels replaced; the tooltip lists them)."""
    shape = "x".join(str(n) for n in series.volume.array.shape[:3])
    number = f"#{series.number} " if series.number is not None else ""
    description = series.description or "(no description)"
    flag = " \u26a0" if series_warnings(series) else ""
    return f"{number}{series.modality} {description}  [{shape}]{flag}"


class SeriesBrowser(QtWidgets.QTreeWidget):
    """Tree of patient -> study -> series. Emits ``series_chosen(position in all_series)``."""

    series_chosen = QtCore.Signal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHeaderLabels(["Patient / study / series"])
        self.setMinimumWidth(260)
        self._series_items: list[QtWidgets.QTreeWidgetItem] = []
        self._series: list[Series] = []
        self.itemActivated.connect(self._chosen)
        self.itemClicked.connect(self._chosen)

    def set_result(self, result: LoadResult) -> None:
        self.clear()
        patients: dict[str, QtWidgets.QTreeWidgetItem] = {}
        position = 0
        for study in result.studies:
            key = study.patient_id or study.patient_name or "(unknown patient)"
            if key not in patients:
                text = " ".join(p for p in (study.patient_name, study.patient_id) if p)
                patients[key] = QtWidgets.QTreeWidgetItem(self, [text or "(unknown patient)"])
            study_text = " ".join(p for p in (study.date, study.description) if p)
            study_item = QtWidgets.QTreeWidgetItem(patients[key], [study_text or "(study)"])
            for series in study.series:
                item = QtWidgets.QTreeWidgetItem(study_item, [series_label(series)])
                item.setData(0, _POSITION, position)
                self._series_items.append(item)
                self._series.append(series)
                position += 1
        self.refresh()
        self.expandAll()

    def refresh(self) -> None:
        """Redraw each series' label and warning tooltip (pixel warnings arrive while loading)."""
        for item, series in zip(self._series_items, self._series, strict=True):
            item.setText(0, series_label(series))
            item.setToolTip(0, "\n".join(series_warnings(series)))

    def clear(self) -> None:
        super().clear()
        self._series_items = []
        self._series = []

    def select(self, position: int) -> None:
        if 0 <= position < len(self._series_items):
            self.blockSignals(True)
            self.setCurrentItem(self._series_items[position])
            self.blockSignals(False)

    def series_count(self) -> int:
        return len(self._series_items)

    def _chosen(self, item: QtWidgets.QTreeWidgetItem, _column: int = 0) -> None:
        position = item.data(0, _POSITION)
        if position is not None:
            self.series_chosen.emit(int(position))


class SkippedPanel(QtWidgets.QGroupBox):
    """"Skipped (N)": every file that was not loaded, with the reason (tooltip: full path)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Skipped (0)", parent)
        self.list = QtWidgets.QTreeWidget()
        self.list.setHeaderLabels(["File", "Reason"])
        self.list.setRootIsDecorated(False)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list)

    def set_skipped(self, skipped: Iterable[Skipped]) -> None:
        self.list.clear()
        for item in skipped:
            self.add(item)
        self._retitle()

    def add(self, skipped: Skipped) -> None:
        name = skipped.path.replace("\\", "/").rsplit("/", 1)[-1] or skipped.path
        row = QtWidgets.QTreeWidgetItem(self.list, [name, skipped.reason])
        row.setToolTip(0, skipped.path)
        row.setToolTip(1, skipped.reason)
        self._retitle()

    def count(self) -> int:
        return self.list.topLevelItemCount()

    def reasons(self) -> list[tuple[str, str]]:
        """(path, reason) of every row, in order."""
        out = []
        for i in range(self.list.topLevelItemCount()):
            row = self.list.topLevelItem(i)
            if row is not None:
                out.append((row.toolTip(0), row.text(1)))
        return out

    def _retitle(self) -> None:
        self.setTitle(f"Skipped ({self.count()})")
