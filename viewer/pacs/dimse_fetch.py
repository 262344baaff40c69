"""Retrieving series over DIMSE: the storage presentation contexts C-GET proposes, the final
C-GET/C-MOVE status in words, and C-MOVE to our own storage SCP.

C-GET needs no inbound port: the PACS sends the instances back on our association, on the
storage presentation contexts we proposed with the SCP role (:func:`storage_plan`; the
association itself is :class:`viewer.pacs.cget.CGetSession`). We propose, for each SOP class
of the study, one context per transfer syntax we can decode, so a JPEG 2000 or JPEG-LS
instance comes as stored instead of being transcoded (which Orthanc 1.10 cannot do for
JPEG 2000), within DICOM's limit of 128 contexts. C-MOVE (:class:`MoveFetcher`, pynetdicom)
asks the PACS to send to our own storage SCP (``our_ae_title`` on ``storage_port``), which
runs only while the move does. Instances are written as received (no decode, no re-encode).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from viewer.pacs.dimse import associate, lost, new_ae, no_delay
from viewer.pacs.errors import PacsError
from viewer.pacs.events import NotSent, Sink, Stored
from viewer.pacs.nodes import DicomNode, Timeouts

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from pynetdicom import AE
    from pynetdicom.association import Association
    from pynetdicom.transport import ThreadedAssociationServer

MAX_CONTEXTS = 128
_UNCOMPRESSED = ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.1.99",
                 "1.2.840.10008.1.2.2")


def decodable_syntaxes() -> list[str]:
    """Compressed transfer syntaxes pydicom can decode here (plugins installed)."""
    from pydicom.pixels import get_decoder
    from pydicom.uid import AllTransferSyntaxes

    found = []
    for uid in AllTransferSyntaxes:
        if uid in _UNCOMPRESSED or not uid.is_compressed:
            continue
        try:
            if get_decoder(uid).is_available:
                found.append(str(uid))
        except NotImplementedError:
            continue
    return found


def _is_image(sop_class: str) -> bool:
    from pydicom.uid import UID

    return "Image" in (UID(sop_class).name or "Image")  # unknown classes may be images


def storage_plan(sop_classes: Sequence[str], *, reserved: int = 1) -> list:
    """Presentation contexts (SCP role) to receive ``sop_classes`` in C-GET.

    Image classes get one context per decodable syntax plus one uncompressed; other classes
    (SR, PDF, ...) one uncompressed context. When that exceeds the 128-context limit, each class
    gets one context listing every syntax (the PACS then picks, and may transcode). Without
    known classes: pynetdicom's 120 common storage classes, uncompressed.
    """
    from pynetdicom import StoragePresentationContexts, build_context

    room = MAX_CONTEXTS - reserved
    if not sop_classes:
        return [build_context(cx.abstract_syntax, list(_UNCOMPRESSED))
                for cx in StoragePresentationContexts[:room] if cx.abstract_syntax]
    compressed = decodable_syntaxes()
    plan = []
    for sop_class in sop_classes:
        plan.append(build_context(sop_class, list(_UNCOMPRESSED)))
        if _is_image(sop_class):
            plan.extend(build_context(sop_class, [syntax]) for syntax in compressed)
    if len(plan) <= room:
        return plan
    every = list(_UNCOMPRESSED) + compressed
    return [build_context(sop_class, every) for sop_class in sop_classes[:room]]


def final_problem(status, what: str) -> NotSent | PacsError | None:
    """What a final C-GET/C-MOVE status (a response command set) says went wrong (None:
    everything was sent)."""
    code = status.Status
    failed = int(status.get("NumberOfFailedSuboperations", 0) or 0)
    warned = int(status.get("NumberOfWarningSuboperations", 0) or 0)
    comment = status.get("ErrorComment", "")
    if code == 0x0000 and not failed:
        return None
    if code == 0xA801:
        return PacsError("the PACS does not know our AE title as a C-MOVE destination: "
                         "register our AE title, this machine's address and our storage port "
                         "in the PACS, or retrieve with C-GET")
    if code in (0xA701, 0xA702):
        return PacsError(f"the PACS ran out of resources during {what} (0x{code:04X})")
    if code == 0xFE00:
        return PacsError(f"the PACS cancelled {what}")
    if code in (0xA900, 0xAA00) or (0xC000 <= code <= 0xCFFF and not failed):
        return PacsError(f"the PACS refused {what} (status 0x{code:04X}"
                         f"{': ' + comment if comment else ''})")
    count = failed + warned or 1
    return NotSent(count, f"the PACS could not send {count} instance(s) (status 0x{code:04X}): "
                          "they may be stored in a transfer syntax this viewer does not "
                          "decode and the PACS could not convert")


class MoveFetcher:
    """Fetches series of one study from ``node`` by C-MOVE to our own storage SCP."""

    def __init__(self, node: DicomNode, timeouts: Timeouts, sink: Sink) -> None:
        self.node, self.timeouts, self.sink = node, timeouts, sink
        self._events: queue.Queue = queue.Queue()
        self._series = ""
        self._stop = False
        self._ae: AE | None = None
        self._server: ThreadedAssociationServer | None = None
        self._assoc_cm: AbstractContextManager[Association] | None = None
        self.assoc: Association | None = None

    # ---- association -----------------------------------------------------------------
    def __enter__(self) -> MoveFetcher:
        from pynetdicom import build_context, evt

        # pynetdicom makes its SOP class names at import time (globals()): mypy cannot see them
        from pynetdicom.sop_class import (  # type: ignore[attr-defined]
            StudyRootQueryRetrieveInformationModelMove as Move,
        )

        self._start_server((evt.EVT_C_STORE, self._on_store))
        self._assoc_cm = associate(self.node, self.timeouts, [build_context(Move)])
        try:
            self.assoc = self._assoc_cm.__enter__()
        except BaseException:
            self._stop_server()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            if self._assoc_cm is not None:
                self._assoc_cm.__exit__(*exc_info)
        finally:
            self._stop_server()

    def _start_server(self, handler) -> None:
        from pynetdicom import AllStoragePresentationContexts, build_context

        syntaxes = list(_UNCOMPRESSED) + decodable_syntaxes()
        self._ae = new_ae(self.node.our_ae_title, self.timeouts)
        self._ae.supported_contexts = [build_context(cx.abstract_syntax, syntaxes)
                                       for cx in AllStoragePresentationContexts
                                       if cx.abstract_syntax]
        try:
            from pynetdicom import evt

            self._server = self._ae.start_server(
                ("", self.node.storage_port), block=False,
                evt_handlers=[handler, (evt.EVT_CONN_OPEN, no_delay)])
        except OSError as exc:
            raise PacsError(f"cannot receive on our storage port {self.node.storage_port} "
                            f"({exc.strerror or exc}): another program uses it? Choose another "
                            "port, or retrieve with C-GET") from exc

    def _stop_server(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        if self._ae is not None:
            self._ae.shutdown()
            self._ae = None

    # ---- one series ------------------------------------------------------------------
    def fetch(self, study_uid: str, series_uid: str, sop_uids: Sequence[str] | None = None,
              *, cancel: threading.Event | None = None) -> Iterator[Stored | NotSent]:
        """Retrieve one series (or only ``sop_uids`` of it); yields each instance stored and
        what the PACS could not send. PacsError when the association is lost or times out;
        returns quietly after aborting when ``cancel`` is set."""
        from pydicom.dataset import Dataset

        # pynetdicom makes its SOP class names at import time (globals()): mypy cannot see them
        from pynetdicom.sop_class import (  # type: ignore[attr-defined]
            StudyRootQueryRetrieveInformationModelMove as Move,
        )

        if self.assoc is None:
            raise RuntimeError("use MoveFetcher as a context manager")
        identifier = Dataset()
        identifier.QueryRetrieveLevel = "IMAGE" if sop_uids else "SERIES"
        identifier.StudyInstanceUID = study_uid
        identifier.SeriesInstanceUID = series_uid
        if sop_uids:
            identifier.SOPInstanceUID = list(sop_uids)
        self._series, self._events = series_uid, queue.Queue()
        what = "the retrieve"
        responses = self.assoc.send_c_move(identifier, self.node.our_ae_title, Move)
        worker = threading.Thread(target=self._pump, args=(responses,), daemon=True,
                                  name="medmo-pacs-dimse")
        worker.start()
        since = time.monotonic()
        final = None
        try:
            while True:
                if cancel is not None and cancel.is_set():
                    self._stop = True
                    self.assoc.abort()
                    return
                try:
                    kind, value = self._events.get(timeout=0.1)
                except queue.Empty:
                    continue
                if kind == "stored":
                    since = time.monotonic()
                    yield value
                elif kind == "sink-error":
                    self.assoc.abort()
                    raise value
                elif kind == "status":
                    if "Status" not in value:
                        raise PacsError(lost(self.node, self.assoc, what, self.timeouts, since))
                    since = time.monotonic()
                    if value.Status not in (0xFF00, 0xFF01):
                        final = value
                elif kind == "error":
                    raise PacsError(f"{what} failed: {value}") from value
                elif kind == "end":
                    break
        finally:  # after an abort the pump ends by itself (pynetdicom's own timeout)
            worker.join(timeout=1.0 if self._stop or not self.assoc.is_established
                        else self.timeouts.message_s)
        if final is None:
            raise PacsError(lost(self.node, self.assoc, what, self.timeouts, since))
        problem = final_problem(final, what)
        if isinstance(problem, PacsError):
            raise problem
        if problem is not None:
            yield problem

    def _pump(self, responses) -> None:
        try:
            for status, _identifier in responses:
                self._events.put(("status", status))
        except Exception as exc:  # reported by fetch(), never lost
            self._events.put(("error", exc))
        self._events.put(("end", None))

    def _on_store(self, event) -> int:
        """C-STORE sub-operation: write the instance as received; 0xA700 once writing fails."""
        if self._stop:
            return 0xA700
        request = event.request
        try:
            path = self.sink(self._series, str(request.AffectedSOPInstanceUID),
                             str(request.AffectedSOPClassUID), event.encoded_dataset())
        except PacsError as exc:
            self._stop = True
            self._events.put(("sink-error", exc))
            return 0xA700
        self._events.put(("stored", Stored(str(request.AffectedSOPInstanceUID), str(path))))
        return 0x0000
