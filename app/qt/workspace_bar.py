"""The reading workspace's toolbar: layouts, MPR, linking, crosshair, slabs and image tools.

Built from the Qt-free :class:`~viewer.layout.Layout` (what the actions change: its layout,
links, and the active viewport's ViewState) and :class:`~app.session.hotkeys.Hotkeys` (their
keys; a remapped key takes effect at once). The toolbar only mirrors the model's state in its
checkable actions and turns triggers into calls on the model.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6 import QtGui, QtWidgets

from app.session.hotkeys import HOTKEY_ACTIONS, Hotkeys
from viewer.layout import LAYOUTS, Layout
from viewer.slab import SLAB_MODES, SLAB_TITLES, Slab

DEFAULT_SLAB_MM = 20.0


class WorkspaceBar(QtWidgets.QToolBar):
    """Toolbar of the viewport tools; ``actions_by_name[action]`` for each hotkey action."""

    def __init__(self, layout: Layout, hotkeys: Hotkeys,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Reading tools", parent)
        self.setObjectName("reading-tools")
        self.layout_model = layout
        self.hotkeys = hotkeys
        self.actions_by_name: dict[str, QtGui.QAction] = {}
        group = QtGui.QActionGroup(self)
        for name in LAYOUTS:
            action = self._add(f"layout_{name}", name, partial(layout.set_layout, name),
                               checkable=True)
            group.addAction(action)
        self._add("mpr", "MPR", self._mpr)
        self.addSeparator()
        self._add("link", "Link", layout.links.toggle, checkable=True)
        self._add("link_here", "Link here", self._link_here)
        self._add("crosshair", "Crosshair", self._toggle_crosshair, checkable=True)
        self.addSeparator()
        for mode in SLAB_MODES:
            self._add(mode, SLAB_TITLES[mode], partial(self._toggle_slab, mode), checkable=True)
        self.thickness = QtWidgets.QDoubleSpinBox()
        self.thickness.setRange(0.5, 200.0)
        self.thickness.setDecimals(1)
        self.thickness.setSuffix(" mm")
        self.thickness.setValue(DEFAULT_SLAB_MM)
        self.thickness.setToolTip("Slab thickness")
        self.thickness.valueChanged.connect(self._thickness_changed)
        self.addWidget(self.thickness)
        self.addSeparator()
        self._add("invert", "Invert", self._toggle_invert, checkable=True)
        self._add("rotate", "Rotate", lambda: self._tool("rotate"))
        self._add("flip_h", "Flip H", lambda: self._tool("flip_h"))
        self._add("flip_v", "Flip V", lambda: self._tool("flip_v"))
        self._add("next_viewport", "Next", self._next_viewport)
        self.addSeparator()
        self.settings_action = self.addAction("Keys\u2026")
        self.settings_action.setToolTip("Change the hotkeys of these tools")
        hotkeys.changed.connect(self._on_key)
        layout.layout_changed.connect(self.sync)
        layout.active_changed.connect(self.sync)
        layout.links.changed.connect(self.sync)
        for state in layout.viewports:
            state.display_changed.connect(self.sync)
            state.mode_changed.connect(self.sync)
        self.sync()

    def _add(self, name: str, text: str, slot: Callable[[], object], *,
             checkable: bool = False) -> QtGui.QAction:
        action = self.addAction(text)
        action.setCheckable(checkable)
        action.setShortcut(QtGui.QKeySequence(self.hotkeys.key(name)))
        action.setToolTip(f"{HOTKEY_ACTIONS[name][1]} ({self.hotkeys.key(name)})")
        action.triggered.connect(lambda _checked=False: slot())
        self.actions_by_name[name] = action
        return action

    def disconnect_model(self) -> None:
        layout = self.layout_model
        self.hotkeys.changed.disconnect(self._on_key, missing_ok=True)
        for signal in (layout.layout_changed, layout.active_changed, layout.links.changed):
            signal.disconnect(self.sync, missing_ok=True)
        for state in layout.viewports:
            state.display_changed.disconnect(self.sync, missing_ok=True)
            state.mode_changed.disconnect(self.sync, missing_ok=True)

    def _on_key(self, action: str, key: str) -> None:
        self.actions_by_name[action].setShortcut(QtGui.QKeySequence(key))
        self.actions_by_name[action].setToolTip(f"{HOTKEY_ACTIONS[action][1]} ({key})")

    # ---- model -> checked states --------------------------------------------------------------
    def sync(self, *_args: object) -> None:
        layout, state = self.layout_model, self.layout_model.active
        self.actions_by_name[f"layout_{layout.name}"].setChecked(True)
        self.actions_by_name["link"].setChecked(layout.links.enabled)
        self.actions_by_name["crosshair"].setChecked(state.mode == "crosshair")
        for mode in SLAB_MODES:
            self.actions_by_name[mode].setChecked(state.slab is not None
                                                  and state.slab.mode == mode)
        self.actions_by_name["invert"].setChecked(state.invert)

    # ---- actions -> model ---------------------------------------------------------------------
    def _mpr(self) -> None:
        state = self.layout_model.active
        if state.series is not None and len(state.planes) == 3:
            self.layout_model.hang_mpr(state.series, state.study)

    def _link_here(self) -> None:
        layout = self.layout_model
        if layout.active_index != 0 and layout.active.series is not None \
                and layout.viewports[0].series is not None:
            layout.links.link_here(layout.viewports[0], layout.active)

    def _toggle_crosshair(self) -> None:
        state = self.layout_model.active
        if state.series is not None:
            state.mode = "window" if state.mode == "crosshair" else "crosshair"
        self.sync()

    def _toggle_slab(self, mode: str) -> None:
        state = self.layout_model.active
        if state.series is not None and not state.series.volume.is_colour:
            state.toggle_slab(mode, self.thickness.value())
        self.sync()

    def _thickness_changed(self, value: float) -> None:
        state = self.layout_model.active
        if state.slab is not None:
            state.set_slab(Slab(state.slab.mode, value))

    def _toggle_invert(self) -> None:
        state = self.layout_model.active
        state.invert = not state.invert

    def _tool(self, tool: str) -> None:
        if self.layout_model.active.series is not None:
            self.layout_model.active.apply_tool(tool)

    def _next_viewport(self) -> None:
        layout = self.layout_model
        layout.set_active((layout.active_index + 1) % len(layout.visible))
