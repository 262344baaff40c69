"""Nodes as written and saved, secrets kept out of files, DICOMweb logins and TLS against a
real Orthanc."""

from __future__ import annotations

import http.server
import json
import select
import socket
import socketserver
import ssl
import subprocess
import threading

import keyring
import pytest
from keyring.backend import KeyringBackend

from viewer.pacs import NodeBook, PacsClient, PacsError, StudyQuery, WebNode, parse_node
from viewer.pacs.nodes import DicomNode
from viewer.pacs.secrets import Secrets, vault_name


def test_nodes_round_trip_through_the_shared_config_file(tmp_path):
    book = NodeBook(tmp_path / "nodes.json")
    book.put(DicomNode("ORTHANC", "pacs.local", 4242, name="main", our_ae_title="READER1",
                       storage_port=11112, retrieve="move"))
    book.put(WebNode("https://pacs.local/dicom-web", name="web", auth="basic",
                     username="alice", ca_bundle="/etc/ssl/site-ca.pem"))
    again = NodeBook(tmp_path / "nodes.json")
    assert again.nodes == book.nodes and not again.problems
    assert again.resolve("main").retrieve == "move"
    assert again.resolve("main", our_ae_title="OTHER").our_ae_title == "OTHER"
    assert again.resolve("dicom://X@h:1").port == 1
    with pytest.raises(PacsError, match="saved nodes: main, web"):
        again.resolve("nonsense")


def test_a_bad_entry_is_reported_and_the_rest_load(tmp_path):
    path = tmp_path / "nodes.json"
    path.write_text(json.dumps({"nodes": [
        {"kind": "dicom", "name": "ok", "ae_title": "A", "host": "h", "port": 104},
        {"kind": "dicom", "name": "bad", "ae_title": "A" * 17, "host": "h", "port": 104},
        {"kind": "dicomweb", "name": "web", "url": "ftp://x"}]}))
    book = NodeBook(path)
    assert [n.name for n in book.nodes] == ["ok"]
    assert len(book.problems) == 2 and "longer than 16" in book.problems[0]


@pytest.mark.parametrize("bad, message", [
    (lambda: DicomNode("A", "h", 0), "port must be"),
    (lambda: DicomNode("A", "h", 104, retrieve="move"), "C-MOVE needs our storage port"),
    (lambda: WebNode("http://h/dicom-web", auth="basic"), "needs a user name"),
    (lambda: WebNode("http://h/dicom-web", ca_bundle="/x.pem"), "only applies to https"),
    (lambda: parse_node("pacs:4242"), "is not a node"),
])
def test_invalid_nodes_say_why(bad, message):
    with pytest.raises(ValueError, match=message):
        bad()


class DictKeyring(KeyringBackend):
    """An OS-vault stand-in living in memory (keyring's own extension point)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        self.items.pop((service, username), None)


class PlaintextKeyring(DictKeyring):
    """Named like keyrings.alt's file backend: writes secrets in clear text."""


@pytest.fixture
def restore_keyring():
    before = keyring.get_keyring()
    yield
    keyring.set_keyring(before)


def test_without_a_vault_secrets_live_in_memory_and_are_asked_once(restore_keyring):
    keyring.set_keyring(keyring.backends.fail.Keyring())
    assert vault_name() == ""
    asked = []
    secrets = Secrets(ask=lambda prompt: asked.append(prompt) or "pw")
    assert secrets.get("basic:alice@https://x", prompt="Password for x") == "pw"
    assert secrets.get("basic:alice@https://x") == "pw"
    assert asked == ["Password for x"]
    assert Secrets().get("basic:alice@https://x") is None  # a new session knows nothing


def test_a_vault_keeps_secrets_and_a_plain_text_one_is_refused(restore_keyring):
    vault = DictKeyring()
    keyring.set_keyring(vault)
    assert Secrets().remember("token@https://x", "t0k") is True
    assert Secrets().get("token@https://x") == "t0k"  # from the vault, next session
    keyring.set_keyring(PlaintextKeyring())
    assert vault_name() == ""
    assert Secrets().remember("token@https://y", "t0k") is False
    assert keyring.get_keyring().items == {}


def test_basic_login_against_orthanc(orthanc_factory):
    orthanc = orthanc_factory(users={"alice": "s3cret"})
    node = WebNode(orthanc.web_url, auth="basic", username="alice")
    asked = []
    client = PacsClient(node, secrets=Secrets(ask=lambda p: asked.append(p) or "s3cret"))
    assert client.echo() > 0 and client.find_studies(StudyQuery()) == []
    assert len(asked) == 1

    wrong = PacsClient(node, secrets=Secrets(ask=lambda p: "wrong"))
    with pytest.raises(PacsError, match="refused the user name and password .HTTP 401."):
        wrong.echo()
    anonymous = PacsClient(WebNode(orthanc.web_url))
    with pytest.raises(PacsError, match="asks for a login .HTTP 401."):
        anonymous.echo()


def test_cancelled_login_is_a_clear_message():
    node = WebNode("http://127.0.0.1:9/dicom-web", auth="bearer")
    with pytest.raises(PacsError, match="no token given"):
        PacsClient(node, secrets=Secrets(ask=lambda p: None)).echo()


def test_bearer_token_reaches_the_server():
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.headers.get("Authorization"))
            ok = self.headers.get("Authorization") == "Bearer t0ken"
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/dicom+json")
            self.end_headers()
            self.wfile.write(b"[]" if ok else b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        node = WebNode(f"http://127.0.0.1:{server.server_port}/dicom-web", auth="bearer")
        assert PacsClient(node, secrets=Secrets(ask=lambda p: "t0ken")).echo() > 0
        assert seen == ["Bearer t0ken"]
    finally:
        server.shutdown()


@pytest.fixture
def tls_files(tmp_path):
    """A CA, and a server certificate for 127.0.0.1 it signed."""
    def ssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=tmp_path)

    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
        "ca.pem", "-days", "2", "-subj", "/CN=medmo test CA")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=127.0.0.1")
    (tmp_path / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "san.ext")
    return {"ca": tmp_path / "ca.pem", "cert": tmp_path / "server.crt",
            "key": tmp_path / "server.key"}


@pytest.fixture
def https_front(tls_files, orthanc_factory):
    """Orthanc behind a TLS-terminating proxy, as sites put nginx in front of it (Debian's
    Orthanc 1.10.1 serves HTTPS itself, but its civetweb worker segfaults on the first
    request here, with OpenSSL 3)."""
    orthanc = orthanc_factory()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls_files["cert"], tls_files["key"])

    class Pipe(socketserver.BaseRequestHandler):
        def handle(self):
            try:
                client = context.wrap_socket(self.request, server_side=True)
            except (ssl.SSLError, OSError):
                return  # the client refused our certificate
            with client, socket.create_connection(("127.0.0.1", orthanc.http_port)) as back:
                pair = {client: back, back: client}
                while True:
                    ready, _, _ = select.select(list(pair), [], [], 5)
                    if not ready:
                        return
                    for sock in ready:
                        data = sock.recv(65536)
                        if not data:
                            return
                        pair[sock].sendall(data)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Pipe)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}/dicom-web"
    server.shutdown()
    server.server_close()


def test_https_with_the_site_ca_bundle(https_front, tls_files):
    trusted = PacsClient(WebNode(https_front, ca_bundle=str(tls_files["ca"])))
    assert trusted.echo() > 0
    with pytest.raises(PacsError, match="TLS certificate of 127.0.0.1 is not trusted.*CA "
                                        "bundle"):
        PacsClient(WebNode(https_front)).echo()
