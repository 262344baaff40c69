"""The PACS client (no Qt): nodes and their secrets, study searches, retrieval into a local
study cache, and sending results back, over DIMSE (pynetdicom) or DICOMweb (dicomweb-client).

Heavy imports (pynetdicom, dicomweb-client, requests) happen inside the functions that use
them, so importing this package is cheap and makes no network call.
"""

from viewer.pacs.cache import StudyCache
from viewer.pacs.client import PacsClient, SendResult
from viewer.pacs.errors import PacsError
from viewer.pacs.nodes import DicomNode, NodeBook, Timeouts, WebNode, parse_node
from viewer.pacs.query import StudyQuery, StudyRecord
from viewer.pacs.retrieve import retrieve_study

__all__ = ["DicomNode", "NodeBook", "PacsClient", "PacsError", "SendResult", "StudyCache",
           "StudyQuery", "StudyRecord", "Timeouts", "WebNode", "parse_node", "retrieve_study"]
