"""The DICOM tag browser's model: every element of one instance as a tree, nested sequences
included, and a search that keeps the path to each match (no Qt).

Private elements carry their creator (the value of the private creator element that reserved
their block, e.g. ``GEMS_ACQU_01``) and the name pydicom's private dictionary gives them.
Binary values (pixel data, overlays...) are shown as their size, never decoded.
"""

from __future__ import annotations

from dataclasses import dataclass

import pydicom
from psygnal import Signal
from pydicom.dataset import Dataset

from viewer.reformat import native_plane
from viewer.viewstate import ViewState

BINARY_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN"})
MAX_VALUE_CHARS = 160


@dataclass(frozen=True, slots=True)
class TagNode:
    """One row of the browser: an element, or an item of a sequence (``tag`` "Item 1")."""

    tag: str  # "(0008,0016)", or "Item 1" for a sequence item
    name: str  # "SOP Class UID", "[Detector Channel]" (private), "" for an item
    vr: str
    value: str
    private_creator: str = ""
    children: tuple[TagNode, ...] = ()

    @property
    def text(self) -> str:
        """Everything the search looks in."""
        return f"{self.tag} {self.name} {self.vr} {self.value} {self.private_creator}".lower()


def _value_text(element: pydicom.DataElement) -> str:
    value = element.value
    if value is None or value == "":
        return ""
    if isinstance(value, pydicom.multival.MultiValue):
        text = "\\".join(str(v) for v in value)
    else:
        text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS - 1] + "\u2026"


def _element_node(ds: Dataset, tag: pydicom.tag.BaseTag) -> TagNode:
    raw = ds.get_item(tag)
    vr = str(getattr(raw, "VR", "") or "")
    label = f"({tag.group:04X},{tag.element:04X})"
    if vr in BINARY_VRS:  # its size only: pixel data is never decoded for the browser
        element = ds[tag]
        size = len(element.value) if element.value is not None else 0
        creator = str(getattr(element, "private_creator", "") or "") if tag.is_private else ""
        return TagNode(label, element.name, vr, f"<{size} bytes>", creator)
    element = ds[tag]
    creator = ""
    if tag.is_private and not (0x0010 <= tag.element <= 0x00FF):
        creator = str(getattr(element, "private_creator", "") or "")
    if element.VR == "SQ":
        items = tuple(TagNode(f"Item {k}", "", "", f"{len(item)} elements", "",
                              tag_tree(item)) for k, item in enumerate(element.value, 1))
        return TagNode(label, element.name, "SQ", f"{len(items)} item(s)", creator, items)
    return TagNode(label, element.name, element.VR, _value_text(element), creator)


def tag_tree(ds: Dataset) -> tuple[TagNode, ...]:
    """Every element of ``ds`` (its file meta first, when it has one), sequences as subtrees.

    >>> from pydicom.data import get_testdata_file
    >>> nodes = tag_tree(pydicom.dcmread(get_testdata_file("CT_small.dcm")))
    >>> next(n for n in nodes if n.tag == "(0019,1002)")
    TagNode(tag='(0019,1002)', name='[Detector Channel]', vr='SL', value='912', private_creator='GEMS_ACQU_01', children=())
    """
    meta = getattr(ds, "file_meta", None)
    tags = list(ds.keys())  # tags, not elements: iterating would read deferred values
    out = [_element_node(meta, tag) for tag in list(meta.keys())] if meta else []
    return tuple(out + [_element_node(ds, tag) for tag in tags])


def matching(nodes: tuple[TagNode, ...], query: str) -> tuple[TagNode, ...]:
    """The tree cut to the nodes whose tag, name, VR, value or creator holds ``query`` (case
    ignored), with the sequences and items that lead to them; everything for an empty query.

    >>> leaf = TagNode("(0010,0010)", "Patient's Name", "PN", "DOE^J")
    >>> seq = TagNode("(0008,1140)", "Referenced Image Sequence", "SQ", "1 item(s)", "",
    ...               (TagNode("Item 1", "", "", "1 elements", "", (leaf,)),))
    >>> [n.tag for n in matching((seq, leaf), "doe")]
    ['(0008,1140)', '(0010,0010)']
    """
    query = query.strip().lower()
    if not query:
        return nodes
    out = []
    for node in nodes:
        kept = matching(node.children, query)
        if query in node.text:
            out.append(node)  # a match keeps its whole subtree
        elif kept:
            out.append(TagNode(node.tag, node.name, node.vr, node.value, node.private_creator,
                               kept))
    return tuple(out)


def count(nodes: tuple[TagNode, ...]) -> int:
    """Elements in a tree (items not counted)."""
    return sum((0 if n.tag.startswith("Item") else 1) + count(n.children) for n in nodes)


class TagBrowserState:
    """Which instance the browser shows and what it searches for; read-only on the file.

    Events: ``changed()`` after the instance or the query changed (read :attr:`nodes`,
    :attr:`shown`, :attr:`source`, :attr:`error`).
    """

    changed = Signal()

    def __init__(self, view: ViewState | None = None) -> None:
        self.view = view
        self.active = view is None  # following a view: read files only while shown
        self.source = ""  # the file shown
        self.sop_instance_uid = ""
        self.nodes: tuple[TagNode, ...] = ()
        self.query = ""
        self.error = ""

    @property
    def shown(self) -> tuple[TagNode, ...]:
        return matching(self.nodes, self.query)

    def show_file(self, path: str, sop_instance_uid: str = "") -> None:
        """Read the instance at ``path`` (header and binary sizes; nothing is written)."""
        if (path, sop_instance_uid) == (self.source, self.sop_instance_uid):
            return
        self.source, self.sop_instance_uid, self.error = path, sop_instance_uid, ""
        try:
            self.nodes = tag_tree(pydicom.dcmread(path, defer_size="64 KB"))
        except (OSError, pydicom.errors.InvalidDicomError, ValueError) as exc:
            self.nodes, self.error = (), f"cannot read {path}: {exc}"
        self.changed.emit()

    def clear(self) -> None:
        if self.source or self.nodes or self.error:
            self.source, self.sop_instance_uid, self.nodes, self.error = "", "", (), ""
            self.changed.emit()

    def set_query(self, text: str) -> None:
        if text != self.query:
            self.query = text
            self.changed.emit()

    # ---- following one viewport --------------------------------------------------------
    def set_active(self, on: bool) -> None:
        """Whether the browser is on screen; a hidden browser reads no file while scrolling."""
        self.active = bool(on)
        if self.active:
            self.follow_view()

    def follow_view(self, *_args: object) -> None:
        """Show the instance of the frame on screen in :attr:`view` (its acquired plane); a
        reformat, a non-DICOM series or no series shows nothing."""
        view = self.view
        if view is None or not self.active:
            return
        series = view.series
        if series is None or series.source != "dicom":
            self.clear()
            return
        if view.plane != native_plane(series.volume):
            self.clear()
            self.error = "a reformatted plane is not one instance: go back to the acquired plane"
            self.changed.emit()
            return
        ref = series.frames[view.slice_index]
        self.show_file(ref.path, ref.sop_instance_uid)
