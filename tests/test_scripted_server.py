"""The scripted server's own contract (the streaming tests depend on it)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.support.servers import Reply, ScriptedServer
from tests.support.servers.wire import openai_stream


def test_replies_in_order_then_default_then_599(scripted_server: ScriptedServer) -> None:
    scripted_server.script([Reply.json({"n": 1}), Reply.error(429, "slow", headers={"Retry-After": "3"})])
    with httpx.Client(base_url=scripted_server.url) as client:
        first = client.post("/v1/chat/completions", json={"q": 1}, headers={"Authorization": "Bearer x"})
        second = client.post("/v1/messages", json={"q": 2})
        third = client.get("/anything")
    assert first.json() == {"n": 1}
    assert second.status_code == 429 and second.headers["retry-after"] == "3"
    assert third.status_code == 599 and "#3" in third.text
    recorded = scripted_server.requests
    assert [(r.method, r.path) for r in recorded] == [
        ("POST", "/v1/chat/completions"), ("POST", "/v1/messages"), ("GET", "/anything")
    ]  # fmt: skip
    assert recorded[0].json == {"q": 1} and recorded[0].headers["authorization"] == "Bearer x"
    scripted_server.script([], default=Reply.raw("ok"))
    with httpx.Client(base_url=scripted_server.url) as client:
        assert [client.get("/").text for _ in range(3)] == ["ok"] * 3


def test_sse_arrives_in_tiny_chunks_that_split_characters(scripted_server: ScriptedServer) -> None:
    text = 'é🎉 \\u00e9 "q" 日本'
    reply = Reply.sse(openai_stream(text, piece=2), chunk_sizes=(1, 3), seed=3)
    assert all(1 <= len(p) <= 3 for p in reply.pieces())
    assert b"".join(reply.pieces()) == reply.body
    scripted_server.script([reply])
    with httpx.Client() as client, client.stream("POST", scripted_server.url + "/v1/chat/completions") as response:
        chunks = list(response.iter_raw())
    assert b"".join(chunks) == reply.body
    # each write is its own HTTP chunk, and httpx (h11) yields chunk by chunk even when TCP
    # coalesces the segments: the client sees exactly the scripted pieces
    assert chunks == reply.pieces()
    split_utf8 = False
    for chunk in chunks:
        try:
            chunk.decode("utf-8")
        except UnicodeDecodeError:
            split_utf8 = True
    assert split_utf8  # at least one chunk ends or starts inside a multi-byte character


def test_cut_after_closes_the_socket_mid_body(scripted_server: ScriptedServer) -> None:
    reply = Reply.sse(openai_stream("x" * 50), cut_after=40)
    scripted_server.script([reply, Reply.json({"a": "b" * 100}, cut_after=20)])
    with httpx.Client() as client:
        with pytest.raises(httpx.RemoteProtocolError), client.stream("POST", scripted_server.url) as response:
            for _ in response.iter_raw():
                pass
        with pytest.raises(httpx.RemoteProtocolError):
            client.post(scripted_server.url)


def test_delay_triggers_a_client_timeout(scripted_server: ScriptedServer) -> None:
    scripted_server.script([Reply.json({}, delay=0.5)])
    with httpx.Client(timeout=0.1) as client, pytest.raises(httpx.ReadTimeout):
        client.post(scripted_server.url)


def test_sse_encoding_of_named_events() -> None:
    body = Reply.sse([("message_start", {"a": "é"}), "[DONE]", {"b": 1}], chunk_sizes=None).body
    assert body.decode() == 'event: message_start\ndata: {"a": "é"}\n\ndata: [DONE]\n\ndata: {"b": 1}\n\n'
    assert json.loads(body.decode().split("\n")[1][6:]) == {"a": "é"}
