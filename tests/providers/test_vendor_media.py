"""Images, PDFs and audio end to end through the Azure OpenAI, Gemini / Vertex AI and Bedrock
drivers, against the loopback doubles of tests/support/vendors (the parts checked field by field),
and the refusals (audio to Bedrock) before any request.

Wire formats followed:
- Gemini "Image understanding" / "Document understanding" / "Audio understanding": a part
  ``{"inlineData": {"mimeType": "image/png", "data": "<base64>"}}`` or ``{"fileData":
  {"mimeType": ..., "fileUri": ...}}`` (Files API URIs and YouTube on the Gemini API; Cloud
  Storage and HTTP(S) URLs on Vertex AI).
- Bedrock Converse ``ImageBlock`` ``{"image": {"format": "png", "source": {"bytes": <blob>}}}`` and
  ``DocumentBlock`` ``{"document": {"format": "pdf", "name": ..., "source": {"bytes": <blob>}}}``
  (a blob is base64 in the JSON body boto3 writes); no audio block.
- Azure OpenAI: the OpenAI chat parts (``image_url``, ``input_audio``, ``file``).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
from pydantic import BaseModel

from instructor_py import PDF, Audio, Image, StructuredOutput, UnsupportedMediaError
from instructor_py.common.media import Media
from instructor_py.common.modes import OutputMode
from tests.support.media_samples import PDF_BYTES, PNG_BYTES, WAV_BYTES
from tests.support.servers.wire import openai_chat
from tests.support.vendors import Reply, ScriptedServer
from tests.support.vendors import bedrock as b
from tests.support.vendors import gemini as g
from tests.support.vendors.azure import check_azure_request

pytest.importorskip("boto3", reason="the optional 'bedrock' extra (boto3) is not installed")

ANSWER = {"text": "a green pixel"}
GEMINI_KEY = "AIzaSy-SECRET-media-key-000000000"
ALL_MODES = [OutputMode.TOOLS, OutputMode.JSON_SCHEMA, OutputMode.JSON, OutputMode.MD_JSON]
MEDIA = {
    "image": lambda: Image.from_bytes(PNG_BYTES),
    "pdf": lambda: PDF.from_bytes(PDF_BYTES),
    "audio": lambda: Audio.from_bytes(WAV_BYTES),
}
MIME = {"image": "image/png", "pdf": "application/pdf", "audio": "audio/wav"}
RAW = {"image": PNG_BYTES, "pdf": PDF_BYTES, "audio": WAV_BYTES}


class Caption(BaseModel):
    text: str


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def text_answer(mode: OutputMode) -> str:
    text = json.dumps(ANSWER)
    return f"```json\n{text}\n```" if mode is OutputMode.MD_JSON else text


# -- Gemini ----------------------------------------------------------------------------------------


def gemini(server: ScriptedServer, mode: OutputMode) -> StructuredOutput[Any]:
    return StructuredOutput().using("gemini", api_key=GEMINI_KEY, base_url=f"{server.url}/v1beta").with_(mode=mode)


def gemini_answer(mode: OutputMode) -> Reply:
    if mode is OutputMode.TOOLS:
        return g.answer(g.response(call=("Caption", ANSWER)))
    return g.answer(g.response(text_answer(mode)))


@pytest.mark.parametrize("mode", ALL_MODES)
@pytest.mark.parametrize("kind", ["image", "pdf", "audio"])
def test_gemini_inline_media_per_mode(scripted_server: ScriptedServer, kind: str, mode: OutputMode) -> None:
    scripted_server.script([gemini_answer(mode)])
    media = MEDIA[kind]()
    value = gemini(scripted_server, mode).with_(messages=["Describe this", media], response_model=Caption).get()
    assert value == Caption(**ANSWER)
    body = g.check_gemini_request(scripted_server.requests[0], model="gemini-2.5-flash", stream=True, api_key=GEMINI_KEY)
    parts = body["contents"][0]["parts"]
    assert parts[0] == {"text": "Describe this"}
    assert parts[1] == {"inlineData": {"mimeType": MIME[kind], "data": b64(RAW[kind])}}


def test_gemini_downloads_urls_it_cannot_fetch_and_passes_file_uris() -> None:
    with ScriptedServer() as media_server, ScriptedServer() as api:
        media_server.script([Reply.raw(PNG_BYTES, content_type="image/png")])
        api.script([gemini_answer(OutputMode.JSON_SCHEMA)])
        uploaded = "https://generativelanguage.googleapis.com/v1beta/files/abc-123"
        messages = ["Compare", Image.from_url(f"{media_server.url}/cat.png"), PDF.from_url(uploaded, media_type="application/pdf")]
        value = gemini(api, OutputMode.JSON_SCHEMA).with_(messages=messages, response_model=Caption).with_media_policy(allow_private=True).get()
        assert value == Caption(**ANSWER)
        assert [r.path for r in media_server.requests] == ["/cat.png"]  # the Files API URI was not fetched
        parts = api.requests[0].json["contents"][0]["parts"]
        assert parts[1] == {"inlineData": {"mimeType": "image/png", "data": b64(PNG_BYTES)}}
        assert parts[2] == {"fileData": {"mimeType": "application/pdf", "fileUri": uploaded}}


def test_vertex_passes_urls_as_file_data(scripted_server: ScriptedServer) -> None:
    scripted_server.script([gemini_answer(OutputMode.JSON)])
    url = "https://storage.googleapis.com/bucket/cat.png"
    builder = StructuredOutput().using(
        "vertex", project="p", location="us-central1", token_provider=lambda: "ya29.token", base_url=f"{scripted_server.url}/v1"
    )
    value = builder.with_(messages=["Describe", Image.from_url(url)], response_model=Caption, mode="json").get()
    assert value == Caption(**ANSWER)
    body = g.check_vertex_request(scripted_server.requests[0], project="p", location="us-central1", model="gemini-2.5-flash", stream=True, token="ya29.token")
    assert body["contents"][0]["parts"][1] == {"fileData": {"mimeType": "image/png", "fileUri": url}}


def test_gemini_refuses_an_image_type_it_cannot_read(scripted_server: ScriptedServer) -> None:
    gif = Image.from_bytes(b"GIF89a" + b"\x00" * 30)
    with pytest.raises(UnsupportedMediaError, match="gemini"):
        gemini(scripted_server, OutputMode.JSON).with_(messages=["x", gif], response_model=Caption).get()
    assert scripted_server.requests == []


# -- Bedrock ---------------------------------------------------------------------------------------


def bedrock(server: ScriptedServer, mode: OutputMode) -> StructuredOutput[Any]:
    return StructuredOutput().using(
        "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0", region=b.REGION, base_url=server.url,
        aws_access_key_id=b.ACCESS_KEY, aws_secret_access_key=b.SECRET_KEY,
    ).with_(mode=mode)  # fmt: skip


def bedrock_answer(mode: OutputMode) -> Reply:
    if mode is OutputMode.TOOLS:
        return b.answer(b.converse(tool=("Caption", ANSWER)))
    return b.answer(b.converse(text_answer(mode)))


def expected_block(media: Media) -> dict[str, Any]:
    if media.kind == "image":
        return {"image": {"format": "png", "source": {"bytes": b64(PNG_BYTES)}}}
    return {"document": {"format": "pdf", "name": f"document-{media.sha256[:12]}", "source": {"bytes": b64(PDF_BYTES)}}}


@pytest.mark.parametrize("mode", [OutputMode.TOOLS, OutputMode.JSON, OutputMode.MD_JSON])
@pytest.mark.parametrize("kind", ["image", "pdf"])
def test_bedrock_media_blocks_per_mode(scripted_server: ScriptedServer, kind: str, mode: OutputMode) -> None:
    scripted_server.script([bedrock_answer(mode)])
    media = MEDIA[kind]()
    value = bedrock(scripted_server, mode).with_(messages=["Describe this", media], response_model=Caption).get()
    assert value == Caption(**ANSWER)
    sent = scripted_server.requests[0]
    b.check_sigv4(sent, host=scripted_server.url.removeprefix("http://"))
    body = b.check_converse_request(sent, model="anthropic.claude-3-5-sonnet-20240620-v1:0", stream=True)
    content = body["messages"][0]["content"]
    assert content[0] == {"text": "Describe this"} and content[1] == expected_block(media)
    name = content[1].get("document", {}).get("name", "ok")
    assert re.fullmatch(r"[A-Za-z0-9\-()\[\] ]+", name)  # the characters Converse allows in a name


def test_bedrock_refuses_audio_before_any_request(scripted_server: ScriptedServer) -> None:
    with pytest.raises(UnsupportedMediaError, match="not audio"):
        bedrock(scripted_server, OutputMode.TOOLS).with_(messages=["transcribe", Audio.from_bytes(WAV_BYTES)], response_model=Caption).get()
    assert scripted_server.requests == []


def test_bedrock_downloads_url_media_once_across_retries() -> None:
    with ScriptedServer() as media_server, ScriptedServer() as api:
        media_server.script([Reply.raw(PDF_BYTES, content_type="application/pdf")])
        api.script([b.answer(b.converse(tool=("Caption", {"wrong": 1}))), bedrock_answer(OutputMode.TOOLS)])
        doc = PDF.from_url(f"{media_server.url}/report.pdf")
        value = (
            bedrock(api, OutputMode.TOOLS).with_(messages=["Summarise", doc], response_model=Caption, max_retries=1)
            .with_media_policy(allow_private=True).get()
        )
        assert value == Caption(**ANSWER)
        assert len(media_server.requests) == 1 and len(api.requests) == 2
        for request in api.requests:
            document = request.json["messages"][0]["content"][1]["document"]
            assert document["format"] == "pdf" and document["source"] == {"bytes": b64(PDF_BYTES)}


# -- Azure OpenAI ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ALL_MODES)
def test_azure_image_per_mode(scripted_server: ScriptedServer, mode: OutputMode) -> None:
    if mode is OutputMode.TOOLS:
        scripted_server.script([Reply.json(openai_chat(tool_args=json.dumps(ANSWER), tool_name="Caption"))])
    else:
        scripted_server.script([Reply.json(openai_chat(text_answer(mode)))])
    builder = StructuredOutput().using("azure", endpoint=scripted_server.url, deployment="gpt-4o", api_key="azure-SECRET-key-123456", api_version="2024-10-21")
    value = builder.with_(messages=["Describe", Image.from_bytes(PNG_BYTES)], response_model=Caption, mode=mode).get()
    assert value == Caption(**ANSWER)
    sent = scripted_server.requests[0]
    check_azure_request(sent, deployment="gpt-4o", api_version="2024-10-21", api_key="azure-SECRET-key-123456")
    parts = sent.json["messages"][-1]["content"]
    assert parts[-1] == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(PNG_BYTES)}"}}
