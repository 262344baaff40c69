"""Everything that can go wrong between a viewer and a server ends as one sentence (a
RemoteError), never a traceback: nothing listening, a hung peer, a proxy whose backend is down,
broken stream chunks, an untrusted certificate. TLS with the site's CA bundle works."""

from __future__ import annotations

import numpy as np
import pytest

from app.training.data import phantom_example
from inference.remote import RemoteConfig, RemoteEngine, RemoteError
from tests.serving_fixtures import (
    ScriptedPeer,
    SilentPeer,
    TlsFront,
    free_port,
    make_site_ca,
)

FRAME = np.full((64, 64), 90, np.uint8)


def _sse(*events: str) -> bytes:
    body = "".join(f"data: {e}\n\n" for e in events).encode()
    return (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: "
            + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body)


def test_config_refuses_what_would_go_wrong_later(tmp_path):
    with pytest.raises(ValueError, match="unencrypted"):
        RemoteConfig(url="http://medmo.example.org", api_key="secret")
    RemoteConfig(url="http://127.0.0.1:8000", api_key="secret")  # this machine: fine
    with pytest.raises(ValueError, match="not in the URL"):
        RemoteConfig(url="https://user:pw@medmo.example.org")
    with pytest.raises(ValueError, match="http"):
        RemoteConfig(url="medmo.example.org:8000")
    with pytest.raises(ValueError, match="not a file"):
        RemoteConfig(url="https://medmo.example.org", ca_bundle=str(tmp_path / "none.pem"))
    with pytest.raises(ValueError, match="timeouts"):
        RemoteConfig(url="https://medmo.example.org", read_timeout_s=0)
    assert RemoteConfig(url="https://medmo.example.org/v1/").base_url == \
        "https://medmo.example.org"
    assert "secret" not in repr(RemoteConfig(url="https://m.example.org", api_key="secret"))


def test_nothing_listening_is_connection_refused():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RemoteError, match="connection refused"):
        RemoteEngine(RemoteConfig(url=url))


def test_a_peer_that_never_answers_times_out():
    peer = SilentPeer()
    try:
        with pytest.raises(RemoteError, match=r"sent nothing for 0\.5 s \(timeout\)"):
            RemoteEngine(RemoteConfig(url=peer.url, read_timeout_s=0.5))
    finally:
        peer.close()


def test_a_proxy_whose_backend_is_down_is_unavailable_not_a_crash():
    page = b"<html><body>502 Bad Gateway</body></html>"
    peer = ScriptedPeer(b"HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\n"
                        b"content-length: " + str(len(page)).encode() + b"\r\n\r\n" + page)
    try:
        engine = RemoteEngine(RemoteConfig(url=peer.url))
        with pytest.raises(RemoteError, match=r"unavailable \(HTTP 502\)"):
            engine.ask([FRAME], "Describe.")
    finally:
        peer.close()


def test_a_malformed_chunk_is_an_error_that_keeps_the_text_before_it():
    good = '{"model": "medmo", "choices": [{"index": 0, "delta": {"content": "lesion "}}]}'
    peer = ScriptedPeer(_sse(good, '{"choices": [{"delta": {"content": "<bo'))
    try:
        engine = RemoteEngine(RemoteConfig(url=peer.url))
        with pytest.raises(RemoteError, match="malformed stream chunk") as failure:
            engine.ask([FRAME], "Describe.")
        assert failure.value.partial_text == "lesion "
    finally:
        peer.close()


def test_an_error_inside_the_stream_is_reported_with_the_text_so_far():
    good = '{"model": "medmo", "choices": [{"index": 0, "delta": {"content": "The "}}]}'
    peer = ScriptedPeer(_sse(good, '{"error": "CUDA out of memory"}'))
    try:
        engine = RemoteEngine(RemoteConfig(url=peer.url))
        with pytest.raises(RemoteError, match="failed while answering: CUDA out of memory") \
                as failure:
            engine.ask([FRAME], "Describe.")
        assert failure.value.partial_text == "The "
    finally:
        peer.close()


def test_a_stream_that_stops_without_finishing_is_not_taken_for_an_answer():
    good = '{"model": "medmo", "choices": [{"index": 0, "delta": {"content": "The "}}]}'
    peer = ScriptedPeer(_sse(good))
    try:
        engine = RemoteEngine(RemoteConfig(url=peer.url))
        with pytest.raises(RemoteError, match="without finishing it"):
            engine.ask([FRAME], "Describe.")
    finally:
        peer.close()


def test_tls_with_the_site_ca_bundle_works_and_without_it_is_refused(served, tmp_path,
                                                                     demo_engine):
    ca, cert, key = make_site_ca(tmp_path / "pki")
    front = TlsFront(served.url, cert, key)
    try:
        engine = RemoteEngine(RemoteConfig(url=front.url, ca_bundle=str(ca), api_key="t0ken",
                                           max_new_tokens=48))
        frame = phantom_example(5).image
        answer = engine.ask([frame], "", task="localize")
        assert answer.text == demo_engine.ask([frame], "", task="localize").text
        assert answer.server == front.url
        engine.close()
        with pytest.raises(RemoteError, match="certificate of .* is not trusted"):
            RemoteEngine(RemoteConfig(url=front.url))
    finally:
        front.close()
