"""De-identified export of DICOM instances (PS3.15 Annex E, Basic profile and options).

No Qt: ``medmo deidentify``, the window's export action and the dataset export all call
:func:`deidentify_files`.
"""

from viewer.deid.options import DeidOptions, PixelRegion
from viewer.deid.run import DeidReport, Outcome, deidentify_files, write_map

__all__ = ["DeidOptions", "DeidReport", "Outcome", "PixelRegion", "deidentify_files",
           "write_map"]
