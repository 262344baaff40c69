"""DICOM (DIMSE) operations with pynetdicom: associations with clear failures, C-ECHO,
C-FIND (Study Root) at study, series and image level, and C-STORE.

Every failure becomes a :class:`~viewer.pacs.errors.PacsError` that names the cause: nothing
listening, host unknown, association rejected (and by which rule), the PACS aborting (as
Orthanc does for a calling AE title it does not know), or no answer in time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from viewer.pacs.errors import PacsError, socket_problem
from viewer.pacs.nodes import DicomNode, Timeouts

if TYPE_CHECKING:
    from pydicom.dataset import Dataset
    from pynetdicom import AE
    from pynetdicom.association import Association

log = logging.getLogger(__name__)
FIND_LEVELS = ("STUDY", "SERIES", "IMAGE")


def new_ae(ae_title: str, timeouts: Timeouts) -> AE:
    """A pynetdicom AE with our time limits (and pynetdicom's own logging kept at WARNING:
    at INFO it prints query identifiers, i.e. patient names, into the log)."""
    from pynetdicom import AE

    pynetdicom_log = logging.getLogger("pynetdicom")
    if pynetdicom_log.level == logging.NOTSET or pynetdicom_log.level < logging.WARNING:
        pynetdicom_log.setLevel(logging.WARNING)
    ae = AE(ae_title=ae_title)
    ae.connection_timeout = timeouts.connect_s
    ae.acse_timeout = timeouts.association_s
    ae.dimse_timeout = timeouts.message_s
    ae.network_timeout = max(timeouts.message_s, 60.0)
    ae.maximum_pdu_size = 0  # no limit: the peer sends PDUs as large as it likes (fastest)
    return ae


def _refusal(node: DicomNode, assoc: Association, timeouts: Timeouts) -> str:
    where = f"{node.ae_title}@{node.host}:{node.port}"
    if assoc.is_rejected:
        primitive = assoc.acceptor.primitive
        reason = getattr(primitive, "reason_str", "no reason given")
        hint = {
            "Called AE title not recognised":
                f": the PACS is not called {node.ae_title!r}; check the node's AE title",
            "Calling AE title not recognised":
                f": the PACS does not know our AE title {node.our_ae_title!r}; ask its "
                "administrator to register it",
        }.get(reason, "")
        return f"{where} rejected the association ({reason}){hint}"
    problem = socket_problem(node.host, node.port, timeouts.connect_s)
    if problem:
        return problem
    if assoc.is_aborted:
        return (f"{where} aborted the association while it was being set up: it accepted "
                "none of the services asked for, or refuses our AE title "
                f"{node.our_ae_title!r}")
    return (f"{where} accepted the connection but did not answer the association request "
            f"within {timeouts.association_s:g} s: is this port a DICOM service?")


def no_delay(event) -> None:
    """EVT_CONN_OPEN handler: small PDUs (requests, C-STORE responses) go out at once rather
    than after the peer's delayed ACK (Nagle's algorithm); dcmtk's getscu, for one, takes
    10x longer for a C-GET with Nagle on than with ``TCP_NODELAY=1``."""
    import socket

    sock = getattr(getattr(event.assoc.dul, "socket", None), "socket", None)
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _note_peer_abort(event) -> None:
    """EVT_ACSE_RECV handler: remember that the peer itself sent an A-ABORT (as opposed to
    the connection dropping), which is how Orthanc refuses an AE title it does not know."""
    from pynetdicom.pdu_primitives import A_ABORT

    if type(event.primitive) is A_ABORT:
        event.assoc.medmo_peer_aborted = True


@contextmanager
def associate(node: DicomNode, timeouts: Timeouts, contexts: Sequence, *,
              ext_neg: Sequence = (), handlers: Sequence = ()) -> Iterator[Association]:
    """An established association to ``node`` proposing ``contexts`` (pynetdicom
    PresentationContext objects); released (or aborted after an error) on exit."""
    ae = new_ae(node.our_ae_title, timeouts)
    ae.requested_contexts = list(contexts)
    from pynetdicom import evt

    assoc = ae.associate(node.host, node.port, ae_title=node.ae_title,
                         ext_neg=list(ext_neg) or None,
                         evt_handlers=[(evt.EVT_CONN_OPEN, no_delay),
                                       (evt.EVT_ACSE_RECV, _note_peer_abort), *handlers])
    if not assoc.is_established:
        raise PacsError(_refusal(node, assoc, timeouts))
    try:
        yield assoc
    except BaseException:
        if assoc.is_established:
            assoc.abort()
        raise
    else:
        if assoc.is_established:
            assoc.release()
    finally:
        ae.shutdown()


def lost(node: DicomNode, assoc: Association, what: str, timeouts: Timeouts,
         since: float) -> str:
    """Why a DIMSE exchange ended without a status (aborted, closed or timed out)."""
    waited = time.monotonic() - since
    settle = time.monotonic() + 1.0  # the reactor thread sets the flags a moment later
    while assoc.is_established and time.monotonic() < settle:
        time.sleep(0.01)
    where = f"{node.ae_title}@{node.host}:{node.port}"
    if waited >= timeouts.message_s * 0.95:
        return f"{where} did not answer for {timeouts.message_s:g} s during {what}: gave up"
    if getattr(assoc, "medmo_peer_aborted", False):
        return (f"{where} aborted the association during {what}; if it happens every time, "
                f"the PACS probably does not accept our AE title {node.our_ae_title!r} for "
                "this (ask its administrator to register it)")
    return f"the connection to {node.host}:{node.port} was lost during {what}"


def echo(node: DicomNode, timeouts: Timeouts) -> float:
    """C-ECHO; returns the round trip in milliseconds (PacsError when it fails)."""
    from pynetdicom import build_context

    # pynetdicom makes its SOP class names at import time (globals()): mypy cannot see them
    from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

    started = time.perf_counter()
    with associate(node, timeouts, [build_context(Verification)]) as assoc:
        since = time.monotonic()
        status = assoc.send_c_echo()
        if "Status" not in status:
            raise PacsError(lost(node, assoc, "C-ECHO", timeouts, since))
        if status.Status != 0:
            raise PacsError(f"C-ECHO answered status 0x{status.Status:04X}")
    return (time.perf_counter() - started) * 1000.0


@contextmanager
def find_association(node: DicomNode, timeouts: Timeouts) -> Iterator[Association]:
    """An association for several C-FINDs in a row (one set-up instead of one each)."""
    from pynetdicom import build_context

    # pynetdicom makes its SOP class names at import time (globals()): mypy cannot see them
    from pynetdicom.sop_class import (  # type: ignore[attr-defined]
        StudyRootQueryRetrieveInformationModelFind as Find,
    )

    with associate(node, timeouts, [build_context(Find)]) as assoc:
        yield assoc


def find(node: DicomNode, timeouts: Timeouts, level: str, keys: Mapping[str, object],
         returned: Sequence[str], *, assoc: Association | None = None) -> list[Dataset]:
    """C-FIND (Study Root) at ``level`` with matching ``keys``, asking back ``returned``;
    on ``assoc`` when given (see :func:`find_association`), else on an association of its
    own."""
    from pydicom.dataset import Dataset

    # pynetdicom makes its SOP class names at import time (globals()): mypy cannot see them
    from pynetdicom.sop_class import (  # type: ignore[attr-defined]
        StudyRootQueryRetrieveInformationModelFind as Find,
    )

    if level not in FIND_LEVELS:
        raise ValueError(f"level must be one of {FIND_LEVELS}")
    if assoc is None:
        with find_association(node, timeouts) as own:
            return find(node, timeouts, level, keys, returned, assoc=own)
    identifier = Dataset()
    identifier.QueryRetrieveLevel = level
    for keyword in returned:
        setattr(identifier, keyword, "")
    for keyword, value in keys.items():
        setattr(identifier, keyword, value)
    answers: list[Dataset] = []
    since = time.monotonic()
    for status, found in assoc.send_c_find(identifier, Find):
        if "Status" not in status:
            raise PacsError(lost(node, assoc, f"the {level.lower()} search", timeouts, since))
        code = status.Status
        if code in (0xFF00, 0xFF01):
            if found is not None:
                answers.append(found)
            since = time.monotonic()
        elif code == 0x0000:
            break
        elif code == 0xFE00:
            raise PacsError("the PACS cancelled the search")
        else:
            comment = status.get("ErrorComment", "")
            raise PacsError(f"the PACS refused the {level.lower()} search (status "
                            f"0x{code:04X}{': ' + comment if comment else ''})")
    return answers


def store(node: DicomNode, timeouts: Timeouts, paths: Sequence[str | Path]
          ) -> list[tuple[str, str]]:
    """C-STORE each file; returns ``(path, "")`` for each one stored and ``(path, reason)``
    for each one refused or unreadable. PacsError only when no association is possible."""
    import pydicom
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
    from pynetdicom import build_context

    results: list[tuple[str, str]] = []
    wanted: dict[str, set[str]] = {}
    readable = []
    for path in map(str, paths):
        try:
            meta = pydicom.dcmread(path, stop_before_pixels=True)
            sop_class = str(meta.SOPClassUID)
            syntax = str(meta.file_meta.TransferSyntaxUID)
        except (OSError, AttributeError, pydicom.errors.InvalidDicomError) as exc:
            results.append((path, f"not a DICOM file that can be sent: {exc}"))
            continue
        wanted.setdefault(sop_class, {ExplicitVRLittleEndian, ImplicitVRLittleEndian}).add(syntax)
        readable.append((path, sop_class))
    if not readable:
        return results
    contexts = [build_context(uid, sorted(syntaxes)) for uid, syntaxes in wanted.items()]
    with associate(node, timeouts, contexts) as assoc:
        accepted = {cx.abstract_syntax for cx in assoc.accepted_contexts}
        for number, (path, sop_class) in enumerate(readable):
            if sop_class not in accepted:
                results.append((path, f"the PACS does not accept {_name(sop_class)}"))
                continue
            since = time.monotonic()
            status = assoc.send_c_store(path)
            if "Status" not in status:  # the rest is not sent: say so for each file
                reason = lost(node, assoc, "sending", timeouts, since)
                results.extend((p, reason) for p, _ in readable[number:])
                break
            code = status.Status
            if code == 0x0000 or 0xB000 <= code <= 0xBFFF:  # success, or stored with warning
                results.append((path, ""))
            else:
                comment = status.get("ErrorComment", "")
                results.append((path, f"refused (status 0x{code:04X}"
                                      f"{': ' + comment if comment else ''})"))
    return results


def _name(sop_class: str) -> str:
    from pydicom.uid import UID

    return UID(sop_class).name or sop_class
