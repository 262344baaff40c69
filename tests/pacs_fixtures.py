"""A real PACS for the tests: a throwaway Orthanc holding known studies.

``pacs_site`` (one per test session) is an Orthanc on free loopback ports, with our AE title
``MEDMO`` registered as a C-MOVE destination on ``move_port``, holding:

- the demo phantom as a two-series study (10 x 64^2 and 6 x 48^2 slices, accession
  ``ACC-2026-0042``, patient ``PHANTOM^DEMO``, 2026-01-01),
- a named patient's CT (``Quixotewell^Hannelore``, accession ``A1``, 2026-01-05),
- pydicom's CT_small.dcm, MR_small.dcm (2004 studies) and 693_J2KI.dcm (JPEG 2000).

``orthanc_factory`` starts more instances (for tests that kill or freeze one) and stops them
all afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from app.pacs.orthanc import Orthanc, free_port
from tests.app.export_fixtures import write_ct_series
from viewer.demo import write_demo_study

OUR_AE = "MEDMO"
DEMO_ACCESSION = "ACC-2026-0042"
PYDICOM_FILES = ("CT_small.dcm", "MR_small.dcm", "693_J2KI.dcm")


@dataclass
class PacsSite:
    orthanc: Orthanc
    move_port: int
    demo_uid: str
    demo_series: list[str]  # series UIDs in series-number order
    demo_files: dict[str, Path]  # SOP Instance UID -> the file uploaded
    named_uid: str
    j2k_uid: str
    files: dict[str, Path] = field(default_factory=dict)  # every uploaded file by SOP UID

    @property
    def demo_count(self) -> int:
        return len(self.demo_files)


def write_demo_two_series(folder: Path) -> list[Path]:
    """The demo phantom as one study with two series (numbered 1 and 2)."""
    thin = write_demo_study(folder / "thin", slices=10, size=64, seed=5)
    thick = write_demo_study(folder / "thick", slices=6, size=48, seed=5)
    paths = []
    for number, series_dir in ((1, thin), (2, thick)):
        for path in sorted(series_dir.glob("*.dcm")):
            ds = pydicom.dcmread(path)
            ds.AccessionNumber = DEMO_ACCESSION
            ds.SeriesNumber = number
            ds.SeriesDescription = f"Synthetic chest CT series {number}"
            ds.save_as(path, enforce_file_format=True)
            paths.append(path)
    return paths


def start_orthanc(folder: Path, **options) -> Orthanc:
    try:
        return Orthanc(folder, **options).start()
    except RuntimeError as exc:  # not installed: a failure that says how to fix it
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def pacs_site(tmp_path_factory) -> PacsSite:
    root = tmp_path_factory.mktemp("pacs-site")
    move_port = free_port()
    orthanc = start_orthanc(root / "orthanc", modalities={"medmo": (OUR_AE, move_port)})
    try:
        demo = write_demo_two_series(root / "demo")
        named = write_ct_series(root / "named")
        others = [Path(get_testdata_file(name)) for name in PYDICOM_FILES]
        files = {}
        for path in [*demo, *named, *others]:
            files[str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)] = path
        orthanc.upload(files.values())
        headers = {sop: pydicom.dcmread(p, stop_before_pixels=True) for sop, p in files.items()}
        first = headers[next(iter(files))]
        demo_series = sorted({(int(h.SeriesNumber), str(h.SeriesInstanceUID))
                              for h in headers.values()
                              if h.StudyInstanceUID == first.StudyInstanceUID})
        site = PacsSite(
            orthanc, move_port, str(first.StudyInstanceUID), [uid for _, uid in demo_series],
            {sop: p for sop, p in files.items() if p in demo},
            str(pydicom.dcmread(named[0], stop_before_pixels=True).StudyInstanceUID),
            str(pydicom.dcmread(others[2], stop_before_pixels=True).StudyInstanceUID),
            files)
        yield site
    finally:
        orthanc.stop()


@pytest.fixture
def orthanc_factory(tmp_path):
    """``make(**Orthanc options)`` starts an Orthanc of its own (knowing our AE title unless
    ``modalities`` says otherwise); all are stopped after."""
    started: list[Orthanc] = []

    def make(**options) -> Orthanc:
        options.setdefault("modalities", {"medmo": (OUR_AE, free_port())})
        orthanc = start_orthanc(tmp_path / f"orthanc-{len(started)}", **options)
        started.append(orthanc)
        return orthanc

    yield make
    for orthanc in started:
        orthanc.stop()
