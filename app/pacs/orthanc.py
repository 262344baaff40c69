"""A throwaway Orthanc (Debian's ``orthanc`` + ``orthanc-dicomweb``) on free loopback ports
with its own storage, for the PACS tests and ``medmo bench pacs`` (not for production).

``Orthanc(folder).start()`` writes a config, starts the server and waits for its REST API;
``stop()`` terminates it (killing it after a timeout: an open association delays Orthanc's
own shutdown by seconds). Only 127.0.0.1 modalities are registered. Nothing here mocks
anything: it is the real server the hospital would run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
INSTALL_HINT = ("Orthanc is not installed: run `sh installer/system-deps.sh test` (apt-get "
                "install orthanc orthanc-dicomweb)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Orthanc:
    """One Orthanc process. ``modalities`` maps a name to (AE title, port) on 127.0.0.1;
    ``users`` turns on HTTP basic authentication; ``env`` adds environment variables (e.g.
    TCP_NODELAY). (Orthanc's own HTTPS, ``SslEnabled``, crashes Debian's 1.10.1 on the first
    request here: put a TLS proxy in front instead.)"""

    def __init__(self, folder: str | Path, *, aet: str = "ORTHANC",
                 modalities: dict[str, tuple[str, int]] | None = None,
                 users: dict[str, str] | None = None, env: dict[str, str] | None = None) -> None:
        self.folder = Path(folder)
        self.aet = aet
        self.modalities = dict(modalities or {})
        self.users = users
        self.env = env or {}
        self.http_port = 0
        self.dicom_port = 0
        self.process: subprocess.Popen | None = None

    # ---- addresses ---------------------------------------------------------------------
    @property
    def dicom_url(self) -> str:
        return f"dicom://{self.aet}@127.0.0.1:{self.dicom_port}"

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def web_url(self) -> str:
        return f"{self.rest_url}/dicom-web"

    # ---- life ------------------------------------------------------------------------
    def start(self, timeout_s: float = 20.0) -> Orthanc:
        if not Path(ORTHANC).exists() or not Path(DICOMWEB_PLUGIN).exists():
            raise RuntimeError(INSTALL_HINT)
        self.folder.mkdir(parents=True, exist_ok=True)
        for _attempt in range(5):  # a free port can be taken between probe and bind
            self.http_port, self.dicom_port = free_port(), free_port()
            self._write_config()
            log = open(self.folder / "orthanc.log", "ab")  # noqa: SIM115 - closed in stop()
            self.process = subprocess.Popen(
                [ORTHANC, str(self.folder / "orthanc.json")], stdout=log,
                stderr=subprocess.STDOUT, env={**os.environ, **self.env})
            log.close()
            if self._wait_ready(timeout_s):
                return self
            self.stop()
        raise RuntimeError(f"Orthanc did not start; see {self.folder / 'orthanc.log'}")

    def _write_config(self) -> None:
        config = {
            "Name": "medmo-test", "DicomAet": self.aet, "DicomPort": self.dicom_port,
            "HttpPort": self.http_port, "StorageDirectory": str(self.folder / "storage"),
            "IndexDirectory": str(self.folder / "storage"), "RemoteAccessAllowed": False,
            "Plugins": [DICOMWEB_PLUGIN], "DicomCheckCalledAet": True,
            "DicomModalities": {name: [aet, "127.0.0.1", port]
                                for name, (aet, port) in self.modalities.items()},
            "AuthenticationEnabled": bool(self.users), "RegisteredUsers": self.users or {},
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
            "StableAge": 1, "DicomAssociationCloseDelay": 0,
        }
        (self.folder / "orthanc.json").write_text(json.dumps(config, indent=1))

    def _wait_ready(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.http_port), timeout=0.5), \
                        socket.create_connection(("127.0.0.1", self.dicom_port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.05)
        return False

    def stop(self, timeout_s: float = 5.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)  # in case a test froze it
            process.terminate()
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout_s)

    def freeze(self) -> None:
        """SIGSTOP: the server stops answering but keeps its connections (a hung PACS)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGSTOP)

    def kill(self) -> None:
        """SIGKILL: the server dies mid-whatever (its connections close)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(5)
            self.process = None

    # ---- REST ------------------------------------------------------------------------
    def _client(self):
        import httpx

        auth = next(iter(self.users.items())) if self.users else None
        return httpx.Client(base_url=self.rest_url, auth=auth, timeout=30.0)

    def upload(self, paths) -> list[str]:
        """POST each file to /instances; returns Orthanc's instance ids."""
        ids = []
        with self._client() as client:
            for path in paths:
                response = client.post("/instances", content=Path(path).read_bytes())
                response.raise_for_status()
                ids.append(response.json()["ID"])
        return ids

    def get(self, path: str):
        with self._client() as client:
            response = client.get(path)
            response.raise_for_status()
            return response.json() if "json" in response.headers.get("content-type", "") \
                else response.content

    def version(self) -> str:
        """The version the running server reports (REST ``/system``), e.g. ``1.10.1``."""
        return str(self.get("/system")["Version"])

    def put_modality(self, name: str, aet: str, port: int) -> None:
        with self._client() as client:
            client.put(f"/modalities/{name}", json={"AET": aet, "Host": "127.0.0.1",
                                                    "Port": port}).raise_for_status()

    def instance_file(self, sop_uid: str) -> bytes:
        """The stored DICOM file of ``sop_uid`` as Orthanc holds it."""
        with self._client() as client:
            found = client.post("/tools/find", json={
                "Level": "Instance", "Query": {"SOPInstanceUID": sop_uid}}).json()
            if not found:
                raise KeyError(sop_uid)
            return client.get(f"/instances/{found[0]}/file").content

    def __enter__(self) -> Orthanc:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
