"""The tag browser's tree on real files from pydicom's test data: every element, nested
sequences, private creators, binary values by size, search keeping the path."""

from __future__ import annotations

import pydicom
from pydicom.data import get_testdata_file

from viewer.dicom_tags import TagBrowserState, count, matching, tag_tree


def elements(ds) -> int:
    return sum(1 + (sum(elements(i) for i in e.value) if e.VR == "SQ" else 0) for e in ds)


def walk(nodes):
    for node in nodes:
        yield node
        yield from walk(node.children)


def test_every_element_of_a_deeply_nested_plan_is_in_the_tree():
    path = get_testdata_file("rtplan.dcm")
    ds = pydicom.dcmread(path)
    tree = tag_tree(pydicom.dcmread(path))
    assert count(tree) == elements(ds) + len(ds.file_meta)
    assert tree[0].tag.startswith("(0002,")  # the file meta first
    beams = next(n for n in tree if n.name == "Beam Sequence")
    assert beams.vr == "SQ" and len(beams.children) == len(ds.BeamSequence)
    gantry = matching(tree, "gantry angle")
    path_tags = []
    node = gantry[0]
    while node.children:
        path_tags.append(node.name or node.tag)
        node = node.children[0]
    assert path_tags[:3] == ["Beam Sequence", "Item 1", "Control Point Sequence"]
    first = ds.BeamSequence[0].ControlPointSequence[0].GantryAngle
    assert node.name == "Gantry Angle" and node.value == str(first)


def test_private_tags_show_their_creator_and_pixels_their_size():
    path = get_testdata_file("CT_small.dcm")
    ds = pydicom.dcmread(path)
    nodes = {n.tag: n for n in walk(tag_tree(pydicom.dcmread(path)))}
    private = [e for e in ds if e.tag.is_private and e.tag.element > 0x00FF]
    assert len(private) > 20
    for element in private:
        node = nodes[f"({element.tag.group:04X},{element.tag.element:04X})"]
        assert node.private_creator == element.private_creator != ""
    assert nodes["(0019,1002)"].name == "[Detector Channel]"
    assert nodes["(7FE0,0010)"].value == f"<{len(ds.PixelData)} bytes>"
    assert nodes["(0010,0010)"].value == str(ds.PatientName)


def test_state_searches_and_reports_unreadable_files(tmp_path):
    state = TagBrowserState()
    seen = []
    state.changed.connect(lambda: seen.append(len(state.shown)))
    state.show_file(get_testdata_file("CT_small.dcm"))
    state.set_query("gems_acqu")
    assert state.shown and all("gems_acqu" in n.text for n in state.shown)
    bad = tmp_path / "x.dcm"
    bad.write_bytes(b"not dicom")
    state.show_file(str(bad))
    assert state.nodes == () and "cannot read" in state.error and len(seen) == 3
