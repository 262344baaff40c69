"""Real model servers for the remote-engine tests, started on free loopback ports.

``transformers serve`` (the serving extra in the lock) serves the bundled demo model: a real
Qwen3-VL checkpoint whose greedy answers are real boxes, so "the same answer as in-process" is
a strong check. ``make test-vllm`` points ``MEDMO_VLLM_PYTHON`` at the CPU build of vLLM in its
own virtualenv and the vLLM tests start that instead (see tests/vllm/).

Besides the servers: a TLS front (a real TLS endpoint with a certificate from a throw-away site
CA, forwarding bytes to a server), and two broken peers no real server can be asked to be (one
that accepts and never answers, one that streams malformed chunks).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from inference.models import DEMO_MODEL_DIR


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A started server process: its base URL, the model it serves, its log."""

    url: str
    model: str
    process: subprocess.Popen
    log: Path
    api_key: str = ""  # the token the server demands ("" = none)

    def stop(self, *, kill: bool = False) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)

    def log_tail(self, n: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""


def _wait_ready(server: Server, timeout_s: float) -> Server:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited ({server.process.returncode}):\n"
                               f"{server.log_tail()}")
        try:
            if httpx.get(server.url + "/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    server.stop(kill=True)
    raise RuntimeError(f"the server was not ready within {timeout_s:.0f} s:\n{server.log_tail()}")


def start_transformers_serve(workdir: Path, model_dir: Path = DEMO_MODEL_DIR, *,
                             timeout_s: float = 180.0) -> Server:
    """``transformers serve MODEL_DIR --device cpu`` on a free loopback port, ready to answer.

    HF_HUB_CACHE points at a folder that does not exist, as on a machine that never downloaded
    anything: its ``/v1/models`` then fails (it lists the cache, not the served folder), which
    the engine must handle.
    """
    port = free_port()
    log = workdir / f"transformers-serve-{port}.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(workdir / "no-hf-cache")}
    cli = Path(sys.executable).with_name("transformers")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(cli), "serve", str(model_dir), "--device", "cpu", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", str(model_dir), process, log)
    return _wait_ready(server, timeout_s)


def start_vllm(workdir: Path, python: str, model_dir: Path = DEMO_MODEL_DIR, *,
               api_key: str = "", timeout_s: float = 600.0) -> Server:
    """vLLM's OpenAI server (CPU build) with runtime LoRA loading, as resources/serving/
    configures it for a GPU, with CPU memory settings for a shared test machine. The model is
    served under a short name, as sites do (``--served-model-name``)."""
    port = free_port()
    log = workdir / f"vllm-{port}.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True",
           "VLLM_CPU_KVCACHE_SPACE": "1"}
    args = [python, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model_dir),
            "--served-model-name", "medmo-demo",
            "--host", "127.0.0.1", "--port", str(port), "--dtype", "float32",
            "--max-model-len", "2048", "--gpu-memory-utilization", "0.1",
            "--limit-mm-per-prompt", '{"image": 4}', "--enable-lora", "--max-lora-rank", "16"]
    if api_key:
        args += ["--api-key", api_key]
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", "medmo-demo", process, log, api_key)
    return _wait_ready(server, timeout_s)


# ---------------------------------------------------------------------------- TLS in front
def make_site_ca(folder: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key) for 127.0.0.1, made with openssl."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (folder / n for n in ("ca.key", "ca.pem", "server.key",
                                                       "server.csr", "server.pem"))
    ext = folder / "san.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca),
        "-days", "2", "-subj", "/CN=MedMO test site CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
        "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext))
    return ca, cert, key


class _Pipe(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        try:
            tls = self.server.context.wrap_socket(self.request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # a client that does not trust us hangs up during the handshake
        with tls, socket.create_connection(self.server.backend) as back:
            def pump(src: socket.socket, dst: socket.socket) -> None:
                try:
                    while data := src.recv(65536):
                        dst.sendall(data)
                except OSError:
                    pass
                finally:
                    for s in (src, dst):
                        with contextlib.suppress(OSError):
                            s.shutdown(socket.SHUT_RDWR)

            other = threading.Thread(target=pump, args=(back, tls), daemon=True)
            other.start()
            pump(tls, back)
            other.join(timeout=5)


class TlsFront(socketserver.ThreadingTCPServer):
    """https://127.0.0.1:PORT in front of a plain http server (what the site's proxy does)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, backend_url: str, cert: Path, key: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Pipe)
        host, port = backend_url.rsplit("//", 1)[1].split(":")
        self.backend = (host, int(port))
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.url = f"https://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()


# ---------------------------------------------------------------------------- broken peers
class SilentPeer:
    """Accepts connections and never says a word (a hung server or a stuck proxy)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def close(self) -> None:
        self.sock.close()


class ScriptedPeer(socketserver.ThreadingTCPServer):
    """Answers every request with the same raw HTTP response bytes (a broken server, or a
    proxy whose backend is down); ``/v1/models`` gets a one-model list so connecting works."""

    daemon_threads = True

    def __init__(self, response: bytes, model: str = "medmo") -> None:
        models = (b'{"object": "list", "data": [{"id": "' + model.encode()
                  + b'", "owned_by": "vllm"}]}')
        listing = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                   + str(len(models)).encode() + b"\r\nconnection: close\r\n\r\n" + models)

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                head = b""
                while b"\r\n\r\n" not in head:
                    data = self.request.recv(65536)
                    if not data:
                        return
                    head += data
                self.request.sendall(listing if b"/v1/models" in head.split(b"\r\n")[0]
                                     else response)

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()
