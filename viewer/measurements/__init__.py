"""Measurements: ROI statistics (ellipse, rectangle, freehand), angles and bidirectional
(RECIST) axes on native frames, evented and stored per study (no Qt)."""

from viewer.measurements.model import MeasurementSet, StudyMeasurements
from viewer.measurements.shapes import KINDS, ROI_KINDS, Measurement
from viewer.measurements.stats import Values, measure, roi_mask

__all__ = ["KINDS", "ROI_KINDS", "Measurement", "MeasurementSet", "StudyMeasurements", "Values",
           "measure", "roi_mask"]
