"""Images, PDFs and audio end to end: StructuredOutput -> driver -> loopback server speaking the
vendor's wire format (the OpenAI driver through the official openai SDK, the Anthropic driver over
httpx), the request parts checked field by field.

Wire formats followed:
- OpenAI chat completions, "Images and vision": ``{"type": "image_url", "image_url": {"url":
  "https://..." | "data:image/png;base64,..."}}``; "Audio": ``{"type": "input_audio",
  "input_audio": {"data": "<base64>", "format": "wav" | "mp3"}}``; "File inputs": ``{"type":
  "file", "file": {"filename": "...", "file_data": "data:application/pdf;base64,..."}}``.
- Anthropic Messages, "Vision": ``{"type": "image", "source": {"type": "base64", "media_type":
  "image/png", "data": "..."}}`` or ``{"type": "url", "url": "..."}``; "PDF support":
  ``{"type": "document", "source": {...same...}}``; no audio block.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from instructor_py import (
    PDF,
    Audio,
    Image,
    MediaURLRefusedError,
    StructuredOutput,
    UnsupportedMediaError,
)
from instructor_py.common.modes import OutputMode
from instructor_py.run.events import Event
from tests.support.media_samples import PDF_BYTES, PNG_BYTES, WAV_BYTES, Reply, ScriptedServer, wire

KEY = "sk-test-SECRET"


class Caption(BaseModel):
    text: str


ANSWER = {"text": "a green pixel"}


def _openai(server: ScriptedServer, mode: OutputMode = OutputMode.TOOLS) -> StructuredOutput[Any]:
    return StructuredOutput().using("openai", base_url=server.openai_url, api_key=KEY,
                                    model="gpt-4o").with_(mode=mode)


def _anthropic(server: ScriptedServer, mode: OutputMode = OutputMode.TOOLS) -> StructuredOutput[Any]:
    return StructuredOutput().using("anthropic", base_url=server.url, api_key=KEY,
                                    model="claude").with_(mode=mode)


def _openai_reply(mode: OutputMode) -> Reply:
    if mode is OutputMode.TOOLS:
        return Reply.json(wire.openai_chat(tool_args=json.dumps(ANSWER), tool_name="Caption"))
    return Reply.json(wire.openai_chat(content=json.dumps(ANSWER)))


def _anthropic_reply(mode: OutputMode) -> Reply:
    if mode is OutputMode.TOOLS:
        return Reply.json(wire.anthropic_message(tool_input=ANSWER, tool_name="Caption"))
    return Reply.json(wire.anthropic_message(text=json.dumps(ANSWER)))


def _user_parts(body: dict[str, Any]) -> list[dict[str, Any]]:
    users = [m for m in body["messages"] if m["role"] == "user"]
    content = users[0]["content"]
    assert isinstance(content, list)
    return content


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


OPENAI_MODES = [OutputMode.TOOLS, OutputMode.JSON_SCHEMA, OutputMode.JSON, OutputMode.MD_JSON]


@pytest.mark.parametrize("mode", OPENAI_MODES)
@pytest.mark.parametrize("kind", ["image", "pdf", "audio"])
def test_openai_media_parts_field_by_field(
    scripted_server: ScriptedServer, mode: OutputMode, kind: str
) -> None:
    media = {"image": Image.from_bytes(PNG_BYTES), "pdf": PDF.from_bytes(PDF_BYTES, filename="a.pdf"),
             "audio": Audio.from_bytes(WAV_BYTES)}[kind]
    reply = _openai_reply(mode)
    if mode is OutputMode.MD_JSON:
        reply = Reply.json(wire.openai_chat(content=f"```json\n{json.dumps(ANSWER)}\n```"))
    scripted_server.script([reply])
    value = _openai(scripted_server, mode).with_(
        messages=["Describe this", media], response_model=Caption
    ).get()
    assert value == Caption(**ANSWER)
    parts = _user_parts(scripted_server.requests[0].json)
    assert parts[0] == {"type": "text", "text": "Describe this"}
    expected = {
        "image": {"type": "image_url", "image_url": {"url": "data:image/png;base64," + _b64(PNG_BYTES)}},
        "pdf": {"type": "file", "file": {"filename": "a.pdf",
                                         "file_data": "data:application/pdf;base64," + _b64(PDF_BYTES)}},
        "audio": {"type": "input_audio", "input_audio": {"data": _b64(WAV_BYTES), "format": "wav"}},
    }[kind]
    assert parts[1] == expected


ANTHROPIC_MODES = [OutputMode.TOOLS, OutputMode.JSON, OutputMode.MD_JSON]


@pytest.mark.parametrize("mode", ANTHROPIC_MODES)
@pytest.mark.parametrize("kind", ["image", "pdf"])
def test_anthropic_media_blocks_field_by_field(
    scripted_server: ScriptedServer, mode: OutputMode, kind: str
) -> None:
    media = Image.from_bytes(PNG_BYTES) if kind == "image" else PDF.from_bytes(PDF_BYTES)
    reply = _anthropic_reply(mode)
    if mode is OutputMode.MD_JSON:
        reply = Reply.json(wire.anthropic_message(text=f"```json\n{json.dumps(ANSWER)}\n```"))
    scripted_server.script([reply])
    value = _anthropic(scripted_server, mode).with_(
        messages=[{"role": "user", "content": ["What is it?", media]}], response_model=Caption
    ).get()
    assert value == Caption(**ANSWER)
    parts = _user_parts(scripted_server.requests[0].json)
    assert parts[0] == {"type": "text", "text": "What is it?"}
    media_type = "image/png" if kind == "image" else "application/pdf"
    data = _b64(PNG_BYTES if kind == "image" else PDF_BYTES)
    assert parts[1] == {"type": "image" if kind == "image" else "document",
                        "source": {"type": "base64", "media_type": media_type, "data": data}}


def test_urls_are_passed_as_urls_where_the_api_takes_them(scripted_server: ScriptedServer) -> None:
    url = "https://example.com/pics/cat.png?signature=SECRET"
    scripted_server.script([_openai_reply(OutputMode.TOOLS), _anthropic_reply(OutputMode.TOOLS),
                            _anthropic_reply(OutputMode.TOOLS)])
    _openai(scripted_server).with_(messages=["see", Image.from_url(url)], response_model=Caption).get()
    _anthropic(scripted_server).with_(messages=["see", Image.from_url(url)], response_model=Caption).get()
    _anthropic(scripted_server).with_(
        messages=["read", PDF.from_url("https://example.com/doc.pdf")], response_model=Caption
    ).get()
    assert _user_parts(scripted_server.requests[0].json)[1] == {
        "type": "image_url", "image_url": {"url": url}}
    assert _user_parts(scripted_server.requests[1].json)[1] == {
        "type": "image", "source": {"type": "url", "url": url}}
    assert _user_parts(scripted_server.requests[2].json)[1] == {
        "type": "document", "source": {"type": "url", "url": "https://example.com/doc.pdf"}}
    assert len(scripted_server.requests) == 3  # nothing downloaded: the APIs take the URLs


def test_audio_url_is_downloaded_once_across_retries_and_sent_as_bytes() -> None:
    with ScriptedServer() as media_server, ScriptedServer() as api:
        media_server.script([Reply.raw(WAV_BYTES, content_type="audio/wav")])
        api.script([
            Reply.json(wire.openai_chat(tool_args='{"wrong": 1}', tool_name="Caption")),
            _openai_reply(OutputMode.TOOLS),
        ])
        clip = Audio.from_url(f"{media_server.url}/clip.wav")
        value = (
            _openai(api).with_(messages=["transcribe", clip], response_model=Caption, max_retries=1)
            .with_media_policy(allow_private=True).get()
        )
        assert value == Caption(**ANSWER)
        assert len(media_server.requests) == 1  # downloaded once; the retry reused the bytes
        assert [r.path for r in media_server.requests] == ["/clip.wav"]
        for request in api.requests:  # both attempts carry the same part
            assert _user_parts(request.json)[1] == {
                "type": "input_audio", "input_audio": {"data": _b64(WAV_BYTES), "format": "wav"}}


def test_ssrf_guard_refuses_loopback_by_default_before_any_request() -> None:
    with ScriptedServer() as media_server, ScriptedServer() as api:
        clip = Audio.from_url(f"{media_server.url}/clip.wav")
        with pytest.raises(MediaURLRefusedError, match=r"127\.0\.0\.1.*allow_private=True"):
            _openai(api).with_(messages=["transcribe", clip], response_model=Caption).get()
        assert media_server.requests == [] and api.requests == []


def test_ssrf_guard_checks_redirect_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    """A public URL that redirects to the link-local metadata address is refused at the redirect
    (127.0.0.1 stands in for a public host here: only it is treated as public)."""
    import ipaddress

    from instructor_py.providers import media_fetch

    real = media_fetch._is_public
    monkeypatch.setattr(media_fetch, "_is_public",
                        lambda ip: ip == ipaddress.ip_address("127.0.0.1") or real(ip))
    with ScriptedServer() as media_server, ScriptedServer() as api:
        media_server.script([Reply(status=302, headers={"Location": "http://169.254.169.254/x"})])
        doc = PDF.from_url(f"{media_server.url}/doc.pdf")
        with pytest.raises(MediaURLRefusedError, match=r"169.254.169.254"):
            _openai(api).with_(messages=["read", doc], response_model=Caption).get()
        assert len(media_server.requests) == 1 and api.requests == []


def test_download_size_cap_and_http_error_are_clear() -> None:
    from instructor_py import MediaFetchError

    with ScriptedServer() as media_server, ScriptedServer() as api:
        media_server.script([Reply.raw(PDF_BYTES + b"x" * 5000, content_type="application/pdf"),
                             Reply.error(404)])
        builder = _openai(api).with_(response_model=Caption).with_media_policy(
            allow_private=True, max_bytes=1000)
        with pytest.raises(MediaFetchError, match="1000-byte cap"):
            builder.with_(messages=["read", PDF.from_url(f"{media_server.url}/big.pdf")]).get()
        with pytest.raises(MediaFetchError, match="HTTP 404"):
            builder.with_(messages=["read", PDF.from_url(f"{media_server.url}/gone.pdf")]).get()
        assert api.requests == []


def test_audio_to_anthropic_is_refused_before_any_request(scripted_server: ScriptedServer) -> None:
    with pytest.raises(UnsupportedMediaError, match=r"'anthropic' cannot take audio.*gemini"):
        _anthropic(scripted_server).with_(
            messages=["transcribe", Audio.from_bytes(WAV_BYTES)], response_model=Caption).get()
    assert scripted_server.requests == []


def test_unsupported_media_type_is_refused_before_any_request(scripted_server: ScriptedServer) -> None:
    flac = Audio.from_bytes(b"fLaC" + b"\x00" * 40)
    with pytest.raises(UnsupportedMediaError, match="audio/flac"):
        _openai(scripted_server).with_(messages=["x", flac], response_model=Caption).get()
    assert scripted_server.requests == []


def test_local_provider_refuses_media_before_loading_a_model() -> None:
    from instructor_py.providers.local import LocalProvider

    provider = LocalProvider.from_options(model_path="/nonexistent/model.gguf")
    with pytest.raises(UnsupportedMediaError, match=r"'local' cannot take images.*text"):
        StructuredOutput().with_provider(provider).with_(
            messages=["x", Image.from_bytes(PNG_BYTES)], response_model=Caption).get()


def test_streaming_with_media(scripted_server: ScriptedServer) -> None:
    scripted_server.script([_openai_reply(OutputMode.TOOLS)])  # streamed by the server harness
    stream = _openai(scripted_server).with_(
        messages=["Describe", Image.from_bytes(PNG_BYTES)], response_model=Caption).stream()
    partials = list(stream.partials())
    assert partials and stream.final_value() == Caption(**ANSWER)
    body = scripted_server.requests[0].json
    assert body["stream"] is True
    assert _user_parts(body)[1]["image_url"]["url"].startswith("data:image/png;base64,")


@pytest.mark.asyncio
async def test_async_get_with_url_pdf(tmp_path: Path) -> None:
    with ScriptedServer() as media_server, ScriptedServer() as api:
        media_server.script([Reply.raw(PDF_BYTES, content_type="application/pdf")])
        api.script([_openai_reply(OutputMode.TOOLS)])
        doc = PDF.from_url(f"{media_server.url}/doc.pdf")
        value = await _openai(api).with_(messages=["read", doc], response_model=Caption) \
            .with_media_policy(allow_private=True).aget()
        assert value == Caption(**ANSWER)
        assert _user_parts(api.requests[0].json)[1]["file"] == {
            "filename": "doc.pdf", "file_data": "data:application/pdf;base64," + _b64(PDF_BYTES)}


def test_batch_with_media(scripted_server: ScriptedServer) -> None:
    scripted_server.script([_openai_reply(OutputMode.TOOLS)] * 2)
    results = _openai(scripted_server).with_(response_model=Caption).batch(
        [["one", Image.from_bytes(PNG_BYTES)], {"messages": ["two", PDF.from_bytes(PDF_BYTES)]}],
        concurrency=1,
    )
    assert [r.value for r in results] == [Caption(**ANSWER)] * 2  # type: ignore[union-attr]
    kinds = sorted(_user_parts(r.json)[1]["type"] for r in scripted_server.requests)
    assert kinds == ["file", "image_url"]


def test_media_bytes_never_in_reprs_events_or_errors(scripted_server: ScriptedServer) -> None:
    big = PNG_BYTES + b"\x00" * 300  # a PNG with trailing bytes: a long, searchable base64
    image = Image.from_bytes(big)
    encoded = image.base64()
    needle = encoded[40:80]
    events: list[Event] = []
    scripted_server.script([Reply.json(wire.openai_chat(tool_args='{"nope": 1}', tool_name="Caption"))] * 2)
    builder = _openai(scripted_server).with_(
        messages=["Describe", image], response_model=Caption, max_retries=1).wiretap(events.append)
    with pytest.raises(Exception) as caught:
        builder.get()
    seen = [repr(image), str(image), repr(builder), str(caught.value), repr(caught.value)]
    seen += [repr(e) for e in events]
    seen += [json.dumps(getattr(e, "__dict__", {}), default=repr) for e in events]
    for attempt in getattr(caught.value, "attempts", ()):
        seen.append(repr(attempt))
    assert events and all(needle not in text for text in seen)
    assert "sha256=" in repr(image) and f"{len(big)} bytes" in repr(image)
    # ... while the bytes did go to the server
    assert needle in scripted_server.requests[0].body.decode()


def test_retry_resends_the_same_parts_without_reencoding(
    scripted_server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import instructor_py.common.media as media_module

    calls = {"n": 0}
    real = media_module.b64.b64encode

    def counting(data: bytes) -> bytes:
        calls["n"] += 1
        return real(data)

    monkeypatch.setattr(media_module.b64, "b64encode", counting)
    scripted_server.script([
        Reply.json(wire.openai_chat(tool_args='{"nope": 1}', tool_name="Caption")),
        Reply.json(wire.openai_chat(tool_args='{"nope": 2}', tool_name="Caption")),
        _openai_reply(OutputMode.TOOLS),
    ])
    image = Image.from_bytes(PNG_BYTES)
    value = _openai(scripted_server).with_(
        messages=["Describe", image], response_model=Caption, max_retries=2).get()
    assert value == Caption(**ANSWER)
    assert calls["n"] == 1  # encoded once for three attempts
    parts = [_user_parts(r.json)[1] for r in scripted_server.requests]
    assert len(parts) == 3 and parts[0] == parts[1] == parts[2]


def test_file_reads_happen_once(tmp_path: Path, scripted_server: ScriptedServer,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cat.png"
    path.write_bytes(PNG_BYTES)
    reads = {"n": 0}
    real = Path.read_bytes

    def counting(self: Path) -> bytes:
        if self == path:
            reads["n"] += 1
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    scripted_server.script([
        Reply.json(wire.openai_chat(tool_args='{"nope": 1}', tool_name="Caption")),
        _openai_reply(OutputMode.TOOLS),
    ])
    _openai(scripted_server).with_(messages=["x", Image.from_path(path)], response_model=Caption,
                                   max_retries=1).get()
    assert reads["n"] == 1 and len(scripted_server.requests) == 2
