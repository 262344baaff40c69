"""DICOMweb operations with dicomweb-client: QIDO-RS searches, WADO-RS retrieve, STOW-RS.

Authentication (none, HTTP basic, bearer token) and TLS (a CA bundle) are set on the
``requests`` session dicomweb-client uses. QIDO query strings are built here: dicomweb-client
percent-encodes ``*`` (and requests/urllib3 encode ``^`` and spaces, as RFC 3986 wants), and
Orthanc 1.10 does not decode them, so wildcard and name searches matched nothing. A value is
sent verbatim when it holds only characters that need no encoding (letters, digits,
``* ? - . _ , : @``); otherwise only its longest such prefix is sent, followed by ``*`` (a
search for ``Smith^John`` asks for ``Smith*``; ``*lung nodule*`` for ``*lung*``), which matches
everything the full value matches and more, and the answers are then filtered on our side
with DICOM's rules (:func:`viewer.pacs.query.matches`), as every search is.
"""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from viewer.pacs.errors import PacsError, socket_problem
from viewer.pacs.events import NotSent, Sink, Stored
from viewer.pacs.nodes import Timeouts, WebNode
from viewer.pacs.secrets import Secrets

_UNSAFE = re.compile(r"[^A-Za-z0-9*?\-._,:@]")
ANY_SYNTAX = (("application/dicom", "*"),)  # as stored: no transcoding asked of the server


def query_string(keys: dict[str, str], *, extra: Sequence[tuple[str, str]] = ()
                 ) -> tuple[str, list[str]]:
    """``(query string, keys narrowed or left out)``; see the module docstring.

    >>> query_string({"PatientName": "smi*", "StudyDescription": "*lung nodule*"})
    ('PatientName=smi*&StudyDescription=*lung*', ['StudyDescription'])
    >>> query_string({"PatientName": "DOE^J*", "AccessionNumber": " 12"}, extra=[("limit", "9")])
    ('PatientName=DOE*&limit=9', ['PatientName', 'AccessionNumber'])
    """
    parts, narrowed = [], []
    for keyword, value in keys.items():
        cut = _UNSAFE.search(value)
        if cut is None:
            parts.append(f"{keyword}={value}")
            continue
        narrowed.append(keyword)
        prefix = value[:cut.start()].rstrip("*?")
        if prefix:
            parts.append(f"{keyword}={prefix}*")
    parts.extend(f"{k}={v}" for k, v in extra)
    return "&".join(parts), narrowed


def quiet_http_logs() -> None:
    """Keep dicomweb-client and urllib3 at WARNING: at DEBUG they log every request URL (a
    search's patient name) and dicomweb-client its headers (a bearer token)."""
    import logging

    for name in ("dicomweb_client", "urllib3.connectionpool"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)


class WebService:
    """DICOMweb calls to one node; every failure is a PacsError in plain words."""

    def __init__(self, node: WebNode, timeouts: Timeouts, secrets: Secrets | None = None
                 ) -> None:
        import requests
        from dicomweb_client.api import DICOMwebClient

        quiet_http_logs()
        self.node, self.timeouts = node, timeouts
        self.secrets = secrets or Secrets()
        self.session = requests.Session()
        if node.ca_bundle:
            if not Path(node.ca_bundle).is_file():
                raise PacsError(f"the CA bundle {node.ca_bundle} does not exist")
            self.session.mount("https://", _pinned_ca_adapter(node.ca_bundle))
        self._authorised = node.auth == "none"
        self.client = DICOMwebClient(url=node.base_url, session=self.session,
                                     timeout=(timeouts.connect_s, timeouts.message_s))
        self.client.set_http_retry_params(retry=False)
        self._lock = threading.Lock()

    # ---- plumbing --------------------------------------------------------------------
    def _authorise(self) -> None:
        if self._authorised:
            return
        what = "password" if self.node.auth == "basic" else "token"
        secret = self.secrets.get(self.node.secret_key,
                                  prompt=f"{what.title()} for {self.node.label}"
                                  + (f" (user {self.node.username})" if self.node.username
                                     else ""))
        if not secret:
            raise PacsError(f"no {what} given for {self.node.label}")
        if self.node.auth == "basic":
            self.session.auth = (self.node.username, secret)
        else:
            self.session.headers["Authorization"] = f"Bearer {secret}"
        self._authorised = True

    def _problem(self, exc: Exception, what: str) -> PacsError:
        import requests

        url = self.node.base_url
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if isinstance(exc, requests.exceptions.SSLError):
            return PacsError(f"the TLS certificate of {parts.hostname} is not trusted during "
                             f"{what}: give the node the CA bundle that signed it ({exc})")
        if isinstance(exc, requests.exceptions.Timeout):
            return PacsError(f"{url} did not answer within {self.timeouts.message_s:g} s "
                             f"during {what}: gave up")
        if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
            code = exc.response.status_code
            if code in (401, 403):
                self.secrets.forget(self.node.secret_key)
                self.session.auth = None
                self.session.headers.pop("Authorization", None)
                self._authorised = self.node.auth == "none"
                how = "asks for a login" if self.node.auth == "none" else \
                    "refused the user name and password" if self.node.auth == "basic" else \
                    "refused the token"
                return PacsError(f"{url} {how} (HTTP {code}) during {what}")
            if code == 404:
                return PacsError(f"{url} answered 404 (not found) to {what}: is this the "
                                 "DICOMweb base URL (often ending in /dicom-web)?")
            return PacsError(f"{url} answered HTTP {code} to {what}: "
                             f"{exc.response.text[:200].strip()}")
        if isinstance(exc, requests.exceptions.ConnectionError):
            problem = socket_problem(parts.hostname or "", port, self.timeouts.connect_s)
            return PacsError(problem or f"the connection to {url} was lost during {what}")
        if isinstance(exc, requests.exceptions.RequestException | ValueError | OSError):
            return PacsError(f"{what} at {url} failed: {exc}")
        raise exc

    def _get_json(self, path: str, keys: dict[str, str], extra: Sequence[tuple[str, str]],
                  what: str) -> tuple[list[dict[str, Any]], list[str]]:
        self._authorise()
        query, narrowed = query_string(keys, extra=extra)
        url = f"{self.node.base_url}/{path}" + (f"?{query}" if query else "")
        try:
            response = self.session.get(url, headers={"Accept": "application/dicom+json"},
                                        timeout=(self.timeouts.connect_s,
                                                 self.timeouts.message_s))
            response.raise_for_status()
            data = response.json() if response.content else []
        except Exception as exc:  # noqa: BLE001 - sorted in _problem
            raise self._problem(exc, what) from exc
        return (data if isinstance(data, list) else [data]), narrowed

    # ---- operations ------------------------------------------------------------------
    def ping(self) -> float:
        """A QIDO search for one study; returns the round trip in milliseconds."""
        started = time.perf_counter()
        self._get_json("studies", {}, [("limit", "1")], "the connection test")
        return (time.perf_counter() - started) * 1000.0

    def search(self, path: str, keys: dict[str, str], returned: Sequence[str], *,
               limit: int | None = None, what: str = "the search"
               ) -> tuple[list[dict[str, Any]], list[str]]:
        """QIDO-RS at ``path``; returns (keyword -> value per result, keys narrowed)."""
        from pydicom.dataset import Dataset

        extra = [("includefield", keyword) for keyword in returned]
        if limit:
            extra.append(("limit", str(limit)))
        items, narrowed = self._get_json(path, keys, extra, what)
        results = []
        for item in items:
            try:
                ds = Dataset.from_json(item)
            except (ValueError, TypeError, KeyError) as exc:
                raise PacsError(f"{self.node.base_url} sent a search result that is not "
                                f"DICOM JSON ({exc})") from exc
            results.append({elem.keyword: _value(elem.value) for elem in ds if elem.keyword})
        return results, narrowed

    def fetch(self, study_uid: str, series_uid: str, sop_uids: Sequence[str] | None, sink: Sink,
              *, cancel: threading.Event | None = None) -> Iterator[Stored | NotSent]:
        """WADO-RS: the whole series streamed, or each of ``sop_uids``; as stored on the
        server (``transfer-syntax=*``)."""
        import pydicom

        self._authorise()
        what = "the retrieve"
        try:
            if sop_uids:
                datasets: Iterator = (self.client.retrieve_instance(
                    study_uid, series_uid, sop, media_types=ANY_SYNTAX) for sop in sop_uids)
            else:
                datasets = self.client.iter_series(study_uid, series_uid,
                                                   media_types=ANY_SYNTAX)
            for ds in datasets:
                if cancel is not None and cancel.is_set():
                    return
                buffer = io.BytesIO()
                pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
                sop = str(ds.SOPInstanceUID)
                path = sink(series_uid, sop, str(ds.SOPClassUID), buffer.getvalue())
                yield Stored(sop, str(path))
        except PacsError:
            raise
        except Exception as exc:  # noqa: BLE001 - sorted in _problem
            raise self._problem(exc, what) from exc

    def store(self, paths: Sequence[str | Path]) -> list[tuple[str, str]]:
        """STOW-RS each study's files in one request; ``(path, "")`` or ``(path, reason)``."""
        import pydicom

        self._authorise()
        results: list[tuple[str, str]] = []
        by_study: dict[str, list[tuple[str, Any]]] = {}
        for path in map(str, paths):
            try:
                ds = pydicom.dcmread(path)
                by_study.setdefault(str(ds.StudyInstanceUID), []).append((path, ds))
            except (OSError, AttributeError, pydicom.errors.InvalidDicomError) as exc:
                results.append((path, f"not a DICOM file that can be sent: {exc}"))
        for study_uid, items in by_study.items():
            try:
                answer = self.client.store_instances([ds for _, ds in items], study_uid)
            except Exception as exc:  # noqa: BLE001 - every file of this study failed
                reason = str(self._problem(exc, "sending"))
                results.extend((path, reason) for path, _ in items)
                continue
            failed = {str(item.get("ReferencedSOPInstanceUID", "")):
                      f"refused (reason {item.get('FailureReason', '?')})"
                      for item in answer.get("FailedSOPSequence", [])}
            stored = {str(item.get("ReferencedSOPInstanceUID", ""))
                      for item in answer.get("ReferencedSOPSequence", [])}
            for path, ds in items:
                sop = str(ds.SOPInstanceUID)
                reason = failed.get(sop, "" if sop in stored else
                                    "the PACS did not confirm storing it")
                results.append((path, reason))
        return results


def _pinned_ca_adapter(ca_bundle: str):
    """An https adapter that always verifies with ``ca_bundle``. Setting ``session.verify``
    is not enough: requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE in the environment
    override it for every request (they are set on many machines, including ours)."""
    from requests.adapters import HTTPAdapter

    class PinnedCA(HTTPAdapter):
        def send(self, request, stream=False, timeout=None, verify=True, cert=None,
                 proxies=None):
            return super().send(request, stream=stream, timeout=timeout, verify=ca_bundle,
                                cert=cert, proxies=proxies)

    return PinnedCA()


def _value(value: Any) -> Any:
    """A DICOM JSON value as plain Python (person names as DICOM PN strings)."""
    from pydicom.multival import MultiValue

    if isinstance(value, MultiValue | list):
        return [str(v) for v in value]
    return "" if value is None else str(value)
