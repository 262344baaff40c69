"""How boxes are shown and edited on a slice, without Qt: captions and styles
(:mod:`~viewer.boxes.captions`), the map between a frame's pixel boxes and the display plane
(:mod:`~viewer.boxes.mapping`) and the arithmetic of a drag (:mod:`~viewer.boxes.editing`).
:mod:`viewer.qt.box_overlay` draws with them."""
