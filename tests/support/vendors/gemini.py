"""A loopback double of Gemini's ``generateContent`` REST API (Gemini API and Vertex AI).

Follows https://ai.google.dev/api/generate-content:

- ``POST /v1beta/models/{model}:generateContent`` with the key in the ``x-goog-api-key`` header;
  ``POST .../models/{model}:streamGenerateContent?alt=sse`` answers Server-Sent Events, "each
  chunk a GenerateContentResponse" (``data: {...}`` lines separated by a blank line; Google's
  servers end lines with CRLF, reproduced here).
- ``GenerateContentResponse``: ``candidates[]`` (``content: {role: "model", parts: [{text} |
  {functionCall: {name, args}} | {text, thought: true}]}``, ``finishReason``, ``safetyRatings``,
  ``index``), ``promptFeedback: {blockReason, safetyRatings}`` when the prompt is blocked,
  ``usageMetadata: {promptTokenCount, candidatesTokenCount, totalTokenCount, thoughtsTokenCount,
  cachedContentTokenCount}``, ``modelVersion``, ``responseId``.
- Errors (https://ai.google.dev/gemini-api/docs/troubleshooting): ``{"error": {"code": 429,
  "message": ..., "status": "RESOURCE_EXHAUSTED", "details": [{"@type":
  "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "17s"}]}}``.

Vertex AI (https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/v1/
projects.locations.publishers.models/generateContent): ``POST /v1/projects/{project}/locations/
{location}/publishers/google/models/{model}:generateContent`` with ``Authorization: Bearer``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.vendors import RecordedRequest, Reply

MODEL_VERSION = "gemini-2.5-flash"


def usage(prompt: int = 12, candidates: int = 7, *, thoughts: int = 0, cached: int = 0) -> dict[str, int]:
    out = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates + thoughts,
    }
    if thoughts:
        out["thoughtsTokenCount"] = thoughts
    if cached:
        out["cachedContentTokenCount"] = cached
    return out


def response(
    text: str | None = None,
    *,
    call: tuple[str, Mapping[str, Any]] | None = None,
    thought: str | None = None,
    finish: str = "STOP",
    tokens: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """A whole ``GenerateContentResponse``: text and/or a function call (``(name, args)``), with
    an optional thought summary part first."""
    parts: list[dict[str, Any]] = []
    if thought is not None:
        parts.append({"text": thought, "thought": True})
    if text is not None:
        parts.append({"text": text})
    if call is not None:
        parts.append({"functionCall": {"name": call[0], "args": dict(call[1])}})
    candidate: dict[str, Any] = {
        "content": {"role": "model", "parts": parts},
        "finishReason": finish,
        "index": 0,
    }
    if finish == "SAFETY":
        candidate["safetyRatings"] = [
            {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}
        ]
    return {
        "candidates": [candidate],
        "usageMetadata": dict(tokens or usage()),
        "modelVersion": MODEL_VERSION,
        "responseId": "resp-1",
    }


@dataclass(frozen=True)
class GeminiReply(Reply):
    """A whole ``GenerateContentResponse`` answered as JSON to ``:generateContent`` and, like the
    real API, as the same answer's SSE chunks to ``:streamGenerateContent?alt=sse`` (the driver
    streams ``get()`` too, to check answers as they arrive)."""

    def answering(self, request: RecordedRequest) -> Reply:
        if ":streamGenerateContent" not in request.path or self.status != 200:
            return self
        return sse(chunks_of(json.loads(self.body)), seed=self.seed)


def answer(body: Mapping[str, Any], *, seed: int = 0) -> GeminiReply:
    return GeminiReply(200, json.dumps(body, ensure_ascii=False).encode(), {}, seed=seed)


def chunks_of(body: Mapping[str, Any], piece: int = 9) -> list[dict[str, Any]]:
    """The stream of the whole answer ``body``: its text in pieces, its function call whole, the
    finish reason and final usage on the last chunk; a blocked prompt is one chunk."""
    if not body.get("candidates"):
        return [dict(body)]
    candidate = body["candidates"][0]
    parts = candidate["content"]["parts"]
    text = "".join(p.get("text", "") for p in parts if not p.get("thought"))
    call = next(((p["functionCall"]["name"], p["functionCall"]["args"]) for p in parts if "functionCall" in p), None)
    return stream_chunks(text or None, call=call, piece=piece, finish=candidate.get("finishReason"), tokens=body.get("usageMetadata"))


def blocked_prompt(reason: str = "SAFETY") -> dict[str, Any]:
    return {
        "promptFeedback": {
            "blockReason": reason,
            "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH"}],
        },
        "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9},
        "modelVersion": MODEL_VERSION,
    }


def stream_chunks(
    text: str | None = None,
    *,
    call: tuple[str, Mapping[str, Any]] | None = None,
    piece: int = 9,
    finish: str | None = "STOP",
    tokens: Mapping[str, int] | None = None,
) -> list[dict[str, Any]]:
    """The chunks ``streamGenerateContent`` sends for an answer: text in ``piece``-character
    parts (each chunk carrying the running usage, as Gemini does), a function call whole in one
    chunk, the last chunk with ``finishReason`` and the final usage."""
    final = dict(tokens or usage())
    running = {"promptTokenCount": final["promptTokenCount"], "totalTokenCount": final["promptTokenCount"]}
    chunks: list[dict[str, Any]] = []

    def chunk(parts: list[dict[str, Any]], reason: str | None = None, meta: Mapping[str, int] = running) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if reason:
            candidate["finishReason"] = reason
        return {"candidates": [candidate], "usageMetadata": dict(meta), "modelVersion": MODEL_VERSION, "responseId": "resp-1"}

    pieces = [text[i : i + piece] for i in range(0, len(text), piece)] if text else []
    for part in pieces:
        chunks.append(chunk([{"text": part}]))
    if call is not None:
        chunks.append(chunk([{"functionCall": {"name": call[0], "args": dict(call[1])}}]))
    if finish:
        if chunks:
            last = chunks.pop()
            last_parts = last["candidates"][0]["content"]["parts"]
            chunks.append(chunk(last_parts, finish, final))
        else:
            chunks.append(chunk([{"text": ""}], finish, final))
    return chunks


def sse(chunks: Sequence[Mapping[str, Any]], *, cut_after: int | None = None, seed: int = 0) -> Reply:
    """The chunks as Gemini's SSE body (CRLF line ends), written in 1-to-7-byte pieces."""
    body = "".join(f"data: {json.dumps(c, ensure_ascii=False)}\r\n\r\n" for c in chunks).encode()
    return Reply(
        200,
        body,
        {},
        content_type="text/event-stream",
        chunked=True,
        chunk_sizes=(1, 7),
        cut_after=cut_after,
        seed=seed,
        as_is=True,
    )


def error(status: int, grpc_status: str, message: str, *, retry_delay: str | None = None, headers: Mapping[str, str] | None = None) -> Reply:
    details: list[dict[str, Any]] = []
    if retry_delay is not None:
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay})
    body = {"error": {"code": status, "message": message, "status": grpc_status, "details": details}}
    return GeminiReply(status, json.dumps(body).encode(), dict(headers or {}))


def check_gemini_request(request: RecordedRequest, *, model: str, stream: bool, api_key: str) -> dict[str, Any]:
    """Assert the URL, the key header (and no key in the URL); return the JSON body."""
    url = urlsplit(request.path)
    action = "streamGenerateContent" if stream else "generateContent"
    assert request.method == "POST"
    assert url.path == f"/v1beta/models/{model}:{action}", url.path
    assert parse_qs(url.query) == ({"alt": ["sse"]} if stream else {}), url.query
    assert request.headers.get("x-goog-api-key") == api_key
    assert api_key not in request.path and "authorization" not in request.headers
    return _check_body(request.json)


def check_vertex_request(
    request: RecordedRequest, *, project: str, location: str, model: str, stream: bool, token: str
) -> dict[str, Any]:
    url = urlsplit(request.path)
    action = "streamGenerateContent" if stream else "generateContent"
    expected = f"/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:{action}"
    assert url.path == expected, url.path
    assert request.headers.get("authorization") == f"Bearer {token}"
    assert "x-goog-api-key" not in request.headers
    return _check_body(request.json)


def _check_body(body: Any) -> dict[str, Any]:
    """The ``GenerateContentRequest`` fields we send, each of the documented shape."""
    assert isinstance(body, dict)
    assert set(body) <= {"contents", "systemInstruction", "tools", "toolConfig", "generationConfig", "safetySettings", "cachedContent", "labels"}, set(body)
    for content in body["contents"]:
        assert content["role"] in ("user", "model")
        assert content["parts"] and all(isinstance(p, dict) and len(set(p) - {"thoughtSignature"}) == 1 for p in content["parts"])
    roles = [c["role"] for c in body["contents"]]
    assert all(a != b for a, b in itertools.pairwise(roles)), roles  # alternating turns
    if "systemInstruction" in body:
        assert [set(p) for p in body["systemInstruction"]["parts"]] == [{"text"}]
    return body
