"""The DICOM upper layer as :mod:`viewer.pacs.cget` speaks it (PS3.7, PS3.8): the PDUs it
sends and reads, and the command sets and file meta of the per-instance path, built by hand
(they are built once per instance; each is checked against pydicom in a doctest).
"""

from __future__ import annotations

import io  # noqa: F401 - the doctests use it
import struct
from collections.abc import Sequence

APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"
GET_MODEL = "1.2.840.10008.5.1.4.1.2.2.3"  # Study Root Query/Retrieve - GET
EXPLICIT_LE, IMPLICIT_LE = "1.2.840.10008.1.2.1", "1.2.840.10008.1.2"
IMPLEMENTATION_UID = "1.2.826.0.1.3680043.8.498.7203.1"  # under pydicom's root
IMPLEMENTATION_VERSION = "MEDMO_VIEWER_1"
A_ASSOCIATE_RQ, A_ASSOCIATE_AC, A_ASSOCIATE_RJ, P_DATA_TF = 1, 2, 3, 4
A_RELEASE_RQ, A_RELEASE_RP, A_ABORT = 5, 6, 7
C_STORE_RQ, C_STORE_RSP, C_GET_RQ, C_GET_RSP = 0x0001, 0x8001, 0x0010, 0x8010
NO_DATASET = 0x0101
REJECT_REASONS = {(1, 1): "No reason given", (1, 2): "Application context name not supported",
                   (1, 3): "Calling AE title not recognised",
                   (1, 7): "Called AE title not recognised", (2, 1): "No reason given",
                   (2, 2): "Protocol version not supported", (3, 1): "Temporary congestion",
                   (3, 2): "Local limit exceeded"}


def _item(kind: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", kind, 0, len(payload)) + payload


def associate_rq(calling: str, called: str, contexts: Sequence[tuple[int, str, Sequence[str]]],
                 scp_roles: Sequence[str]) -> bytes:
    """An A-ASSOCIATE-RQ PDU: ``contexts`` as (odd id, abstract syntax, transfer syntaxes),
    the SCP role asked for each of ``scp_roles``, our maximum PDU unlimited.

    >>> pdu = associate_rq("MEDMO", "ORTHANC", [(1, GET_MODEL, [EXPLICIT_LE])], [])
    >>> pdu[:2], pdu[10:17], pdu[26:31]
    (b'\\x01\\x00', b'ORTHANC', b'MEDMO')
    """
    body = struct.pack(">HH", 1, 0) + called.encode().ljust(16) + calling.encode().ljust(16)
    body += bytes(32) + _item(0x10, APPLICATION_CONTEXT.encode())
    for context_id, abstract, syntaxes in contexts:
        sub = _item(0x30, abstract.encode()) + b"".join(_item(0x40, s.encode())
                                                       for s in syntaxes)
        body += _item(0x20, struct.pack(">BBBB", context_id, 0, 0, 0) + sub)
    user = _item(0x51, struct.pack(">I", 0)) + _item(0x52, IMPLEMENTATION_UID.encode())
    for uid in scp_roles:
        user += _item(0x54, struct.pack(">H", len(uid)) + uid.encode() + b"\x00\x01")
    user += _item(0x55, IMPLEMENTATION_VERSION.encode())
    body += _item(0x50, user)
    return struct.pack(">BBI", A_ASSOCIATE_RQ, 0, len(body)) + body


def parse_associate_ac(body: bytes | bytearray) -> tuple[dict[int, str], int]:
    """Accepted context id -> transfer syntax, and the peer's maximum PDU length (0: none)."""
    accepted: dict[int, str] = {}
    max_pdu = 0
    position = 68  # version, reserved, two AE titles, 32 reserved bytes
    while position + 4 <= len(body):
        kind, _, length = struct.unpack_from(">BBH", body, position)
        payload = body[position + 4:position + 4 + length]
        if kind == 0x21 and len(payload) >= 8:
            context_id, _, result, _ = struct.unpack_from(">BBBB", payload)
            _, _, syntax_length = struct.unpack_from(">BBH", payload, 4)
            if result == 0:
                accepted[context_id] = bytes(payload[8:8 + syntax_length]).decode().strip("\0 ")
        elif kind == 0x50:
            sub = 0
            while sub + 4 <= len(payload):
                sub_kind, _, sub_length = struct.unpack_from(">BBH", payload, sub)
                if sub_kind == 0x51:
                    (max_pdu,) = struct.unpack_from(">I", payload, sub + 4)
                sub += 4 + sub_length
        position += 4 + length
    return accepted, max_pdu


def _element(group: int, element: int, value: bytes, vr: bytes | None = None) -> bytes:
    """One data element, implicit VR (``vr`` None) or explicit VR little endian."""
    if len(value) % 2:
        value += b"\0" if vr in (None, b"UI", b"OB") else b" "
    if vr is None:
        return struct.pack("<HHI", group, element, len(value)) + value
    if vr in (b"OB", b"UN", b"SQ", b"UT"):
        return struct.pack("<HH2sHI", group, element, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", group, element, vr, len(value)) + value


def store_response(sop_class: str, message_id: int, status: int, sop_instance: str) -> bytes:
    """A C-STORE-RSP command set (implicit VR little endian), built by hand: it is sent once
    per instance.

    >>> from pydicom.filereader import read_dataset
    >>> rsp = read_dataset(io.BytesIO(store_response("1.2", 7, 0, "1.2.3")), True, True)
    >>> hex(rsp.CommandField), rsp.MessageIDBeingRespondedTo, rsp.AffectedSOPInstanceUID
    ('0x8001', 7, '1.2.3')
    >>> rsp.CommandGroupLength == len(store_response("1.2", 7, 0, "1.2.3")) - 12
    True
    """
    body = (_element(0, 0x0002, sop_class.encode())
            + _element(0, 0x0100, struct.pack("<H", C_STORE_RSP))
            + _element(0, 0x0120, struct.pack("<H", message_id))
            + _element(0, 0x0800, struct.pack("<H", NO_DATASET))
            + _element(0, 0x0900, struct.pack("<H", status))
            + _element(0, 0x1000, sop_instance.encode()))
    return _element(0, 0x0000, struct.pack("<I", len(body))) + body


def encode_command(**elements) -> bytes:
    """A DIMSE command set (implicit VR little endian) with its group length first."""
    from pydicom.dataset import Dataset
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset

    def encoded(ds: Dataset) -> bytes:
        out = DicomBytesIO()
        out.is_little_endian, out.is_implicit_VR = True, True
        write_dataset(out, ds)
        return out.getvalue()

    command = Dataset()
    for keyword, value in elements.items():
        setattr(command, keyword, value)
    body = encoded(command)
    group = Dataset()
    group.CommandGroupLength = len(body)
    return encoded(group) + body


def parse_command(data: bytes | bytearray) -> dict[int, bytes]:
    """A command set (implicit VR little endian) as element tag (0x0000eeee) -> raw value.

    >>> fields = parse_command(store_response("1.2", 7, 0, "1.2.3"))
    >>> command_us(fields, 0x0100) == C_STORE_RSP, command_ui(fields, 0x1000)
    (True, '1.2.3')
    """
    fields = {}
    position = 0
    while position + 8 <= len(data):
        _group, element, length = struct.unpack_from("<HHI", data, position)
        fields[element] = bytes(data[position + 8:position + 8 + length])
        position += 8 + length
    return fields


def command_us(fields: dict[int, bytes], element: int) -> int:
    return struct.unpack("<H", fields[element][:2])[0]


def command_ui(fields: dict[int, bytes], element: int) -> str:
    return fields.get(element, b"").rstrip(b"\0 ").decode("ascii", "replace")


def part10_header(sop_class: str, sop_instance: str, syntax: str) -> bytes:
    """Preamble, ``DICM`` and the file meta group for a dataset as received.

    >>> import pydicom
    >>> head = part10_header("1.2.840.10008.5.1.4.1.1.2", "1.2.3", EXPLICIT_LE)
    >>> meta = pydicom.dcmread(io.BytesIO(head + _element(8, 0x18, b"1.2.3", b"UI")))
    >>> meta.file_meta.MediaStorageSOPInstanceUID, meta.file_meta.TransferSyntaxUID.name
    ('1.2.3', 'Explicit VR Little Endian')
    """
    body = (_element(2, 0x0001, b"\x00\x01", b"OB")
            + _element(2, 0x0002, sop_class.encode(), b"UI")
            + _element(2, 0x0003, sop_instance.encode(), b"UI")
            + _element(2, 0x0010, syntax.encode(), b"UI")
            + _element(2, 0x0012, IMPLEMENTATION_UID.encode(), b"UI")
            + _element(2, 0x0013, IMPLEMENTATION_VERSION.encode(), b"SH"))
    return (bytes(128) + b"DICM" + _element(2, 0x0000, struct.pack("<I", len(body)), b"UL")
            + body)
