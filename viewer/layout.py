"""The reading workspace's viewports: layout, the active viewport, hangings (no Qt).

:class:`Layout` owns four :class:`~viewer.viewstate.ViewState` (each viewport's series, plane,
slice, window, camera, slab and image tools) of which the layout shows the first rows x cols,
the :class:`~viewer.view_links.ViewLinks` between them, and which viewport is active (the one
the keyboard, the toolbar's image tools and slabs act on). Hangings fill the viewports for a
task: :meth:`Layout.hang_prior` (current beside its prior, linked) and :meth:`Layout.hang_mpr`
(axial, coronal and sagittal of one series, crosshair on).
"""

from __future__ import annotations

from psygnal import Signal

from viewer.reformat import PLANES
from viewer.study import Series, Study
from viewer.view_links import ViewLinks
from viewer.viewstate import ViewState

# name -> (rows, columns)
LAYOUTS: dict[str, tuple[int, int]] = {
    "1x1": (1, 1), "1x2": (1, 2), "2x1": (2, 1), "2x2": (2, 2), "1x3": (1, 3),
}
MAX_VIEWPORTS = 4


class Layout:
    """Viewports on screen. Events: ``layout_changed(str)`` and ``active_changed(int)``.

    >>> layout = Layout()
    >>> layout.set_layout("2x2"); len(layout.visible)
    4
    >>> layout.set_layout("3x3")
    Traceback (most recent call last):
    ...
    ValueError: unknown layout '3x3'; known: ('1x1', '1x2', '2x1', '2x2', '1x3')
    """

    layout_changed = Signal(str)
    active_changed = Signal(int)

    def __init__(self, first: ViewState | None = None) -> None:
        self.viewports: list[ViewState] = [first if first is not None else ViewState()]
        self.viewports += [ViewState() for _ in range(MAX_VIEWPORTS - 1)]
        self.links = ViewLinks(self.viewports)
        self._name = "1x1"
        self._active = 0
        self.links.shown = 1

    @property
    def name(self) -> str:
        return self._name

    @property
    def shape(self) -> tuple[int, int]:
        return LAYOUTS[self._name]

    @property
    def visible(self) -> list[ViewState]:
        rows, cols = self.shape
        return self.viewports[:rows * cols]

    def set_layout(self, name: str) -> None:
        if name not in LAYOUTS:
            raise ValueError(f"unknown layout {name!r}; known: {tuple(LAYOUTS)}")
        if name != self._name:
            self._name = name
            self.links.shown = len(self.visible)
            if self._active >= len(self.visible):
                self.set_active(0)
            self.layout_changed.emit(name)

    @property
    def active_index(self) -> int:
        return self._active

    @property
    def active(self) -> ViewState:
        return self.viewports[self._active]

    def set_active(self, index: int) -> None:
        if not 0 <= index < len(self.visible):
            raise ValueError(f"viewport {index} is not on screen in layout {self._name}")
        if index != self._active:
            self._active = index
            self.active_changed.emit(index)

    def index_of(self, state: ViewState) -> int:
        return next(k for k, s in enumerate(self.viewports) if s is state)

    # ---- hangings --------------------------------------------------------------------------
    def hang_prior(self, current: tuple[Series, Study | None],
                   prior: tuple[Series, Study | None]) -> None:
        """Current on the left, the prior's matching series on the right (1x2), scrolling
        linked by patient position; the prior starts at the slice nearest the current one."""
        series, study = current
        first = self.viewports[0]
        if first.series is not series:
            first.set_series(series, study=study)
        self.set_layout("1x2")
        self.viewports[1].set_series(prior[0], study=prior[1])
        self.links.enabled = True
        target = self.links.target_slice(first, self.viewports[1])
        if target is not None:
            self.viewports[1].slice_index = target

    def hang_mpr(self, series: Series, study: Study | None, *, layout: str = "2x2") -> None:
        """Axial, coronal and sagittal of one series (1x3, or 2x2 with a fourth axial
        viewport for a slab), each at the volume's centre, crosshair mode on the first."""
        if layout not in ("1x3", "2x2"):
            raise ValueError(f"MPR hangs in 1x3 or 2x2, not {layout}")
        self.set_layout(layout)
        for state, plane in zip(self.visible, (*PLANES, "axial"), strict=False):
            if state.series is not series:
                state.set_series(series, study=study)
            if plane in state.planes and plane != state.plane:
                state.set_plane(plane)
        for state in self.visible:
            state.mode = "crosshair"
        self.set_active(0)
