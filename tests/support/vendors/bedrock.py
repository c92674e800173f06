"""A loopback double of the Amazon Bedrock runtime's Converse and ConverseStream APIs, for boto3
pointed at it with ``endpoint_url`` and dummy credentials (boto3 signs with SigV4 for real; the
signature is checked here from the documented algorithm).

Wire format followed (AWS API reference):

- Converse: ``POST /model/{modelId}/converse``, JSON body ``{messages, system, inferenceConfig,
  toolConfig, additionalModelRequestFields...}``; answer ``{"output": {"message": {"role":
  "assistant", "content": [{"text": ...} | {"toolUse": {"toolUseId", "name", "input"}}]}},
  "stopReason": "end_turn" | "tool_use" | "max_tokens" | "stop_sequence" |
  "guardrail_intervened" | "content_filtered", "usage": {"inputTokens", "outputTokens",
  "totalTokens", "cacheReadInputTokens", "cacheWriteInputTokens"}, "metrics": {"latencyMs"}}``.
- ConverseStream: ``POST /model/{modelId}/converse-stream``, answered with
  ``application/vnd.amazon.eventstream`` messages whose ``:event-type`` is ``messageStart``,
  ``contentBlockStart`` (``start.toolUse {toolUseId, name}``), ``contentBlockDelta``
  (``delta.text`` or ``delta.toolUse.input``: a piece of JSON text), ``contentBlockStop``,
  ``messageStop`` (``stopReason``), ``metadata`` (``usage``, ``metrics``); errors mid-stream are
  ``:message-type: exception`` messages (``:exception-type`` e.g. ``throttlingException``).
- Errors: HTTP status with ``x-amzn-ErrorType: ThrottlingException:...`` and ``{"message": ...}``
  (429 ThrottlingException, 400 ValidationException, 403 AccessDeniedException, 500
  InternalServerException, 503 ServiceUnavailableException).

The event-stream framing ("Event stream encoding", AWS docs): each message is a prelude -- total
byte length (uint32 big-endian), headers byte length (uint32 BE), CRC32 of those 8 bytes -- then
the headers (name length: 1 byte, name, value type: 1 byte, 7 = string, value length: uint16 BE,
value), the payload, and a CRC32 of everything before it.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from tests.support.vendors import RecordedRequest, Reply

EVENTSTREAM = "application/vnd.amazon.eventstream"
ACCESS_KEY = "AKIDEXAMPLE000000000"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCY-SECRET-KEY"
REGION = "us-east-1"


# -- the event-stream framing ----------------------------------------------------------------------


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return struct.pack("!B", len(raw_name)) + raw_name + struct.pack("!BH", 7, len(raw_value)) + raw_value


def encode_message(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One event-stream message (prelude, prelude CRC, headers, payload, message CRC)."""
    head = b"".join(_header(k, v) for k, v in headers.items())
    total = 12 + len(head) + len(payload) + 4
    prelude = struct.pack("!II", total, len(head))
    prelude += struct.pack("!I", zlib.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + head + payload
    return message + struct.pack("!I", zlib.crc32(message) & 0xFFFFFFFF)


def decode_messages(data: bytes) -> list[tuple[dict[str, str], bytes]]:
    """The inverse (checks both CRCs): used to test the encoder itself."""
    out: list[tuple[dict[str, str], bytes]] = []
    at = 0
    while at < len(data):
        total, head_len, prelude_crc = struct.unpack_from("!III", data, at)
        assert zlib.crc32(data[at : at + 8]) & 0xFFFFFFFF == prelude_crc
        end = at + total
        assert zlib.crc32(data[at : end - 4]) & 0xFFFFFFFF == struct.unpack_from("!I", data, end - 4)[0]
        headers: dict[str, str] = {}
        pos = at + 12
        while pos < at + 12 + head_len:
            name_len = data[pos]
            name = data[pos + 1 : pos + 1 + name_len].decode()
            pos += 1 + name_len
            kind, value_len = struct.unpack_from("!BH", data, pos)
            assert kind == 7
            headers[name] = data[pos + 3 : pos + 3 + value_len].decode()
            pos += 3 + value_len
        out.append((headers, data[at + 12 + head_len : end - 4]))
        at = end
    return out


def event(event_type: str, payload: Mapping[str, Any]) -> bytes:
    body = dict(payload)
    body.setdefault("p", "abcdefghijklmnopq"[: len(event_type) % 17])  # Bedrock pads events ("p")
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return encode_message(headers, json.dumps(body, ensure_ascii=False).encode())


def exception(exception_type: str, message: str) -> bytes:
    headers = {":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"}
    return encode_message(headers, json.dumps({"message": message}).encode())


# -- answers ---------------------------------------------------------------------------------------


def usage(inputs: int = 21, outputs: int = 9, *, cache_read: int = 0, cache_write: int = 0) -> dict[str, int]:
    out = {"inputTokens": inputs, "outputTokens": outputs, "totalTokens": inputs + outputs}
    if cache_read:
        out["cacheReadInputTokens"] = cache_read
    if cache_write:
        out["cacheWriteInputTokens"] = cache_write
    return out


def converse(
    text: str | None = None,
    *,
    tool: tuple[str, Mapping[str, Any]] | None = None,
    stop: str | None = None,
    tokens: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if text is not None:
        content.append({"text": text})
    if tool is not None:
        content.append({"toolUse": {"toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "name": tool[0], "input": dict(tool[1])}})
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop or ("tool_use" if tool is not None else "end_turn"),
        "usage": dict(tokens or usage()),
        "metrics": {"latencyMs": 412},
    }


def stream_events(body: Mapping[str, Any], *, piece: int = 7, exception_at: int | None = None) -> bytes:
    """The ConverseStream messages for the same answer as the Converse ``body``: text and tool
    input in ``piece``-character deltas; ``exception_at``: a ``throttlingException`` message
    instead of the n-th event (a failure mid-stream)."""
    out: list[bytes] = [event("messageStart", {"role": "assistant"})]
    for index, block in enumerate(body["output"]["message"]["content"]):
        if "text" in block:
            # no contentBlockStart for a text block: its ``start`` union only has ``toolUse``
            text = block["text"]
            for at in range(0, len(text), piece):
                out.append(event("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": text[at : at + piece]}}))
        else:
            use = block["toolUse"]
            out.append(event("contentBlockStart", {"contentBlockIndex": index, "start": {"toolUse": {"toolUseId": use["toolUseId"], "name": use["name"]}}}))
            arguments = json.dumps(use["input"], ensure_ascii=False)
            for at in range(0, len(arguments), piece):
                out.append(event("contentBlockDelta", {"contentBlockIndex": index, "delta": {"toolUse": {"input": arguments[at : at + piece]}}}))
        out.append(event("contentBlockStop", {"contentBlockIndex": index}))
    out.append(event("messageStop", {"stopReason": body["stopReason"]}))
    out.append(event("metadata", {"usage": body["usage"], "metrics": body["metrics"]}))
    if exception_at is not None:
        out = [*out[:exception_at], exception("throttlingException", "Too many tokens, please wait before trying again.")]
    return b"".join(out)


@dataclass(frozen=True)
class BedrockReply(Reply):
    """A whole Converse answer, sent as JSON to ``/converse`` and as its event stream (in
    ``chunk_sizes`` writes, each its own HTTP chunk) to ``/converse-stream``, as the real API
    answers the same request on either route."""

    answer: Mapping[str, Any] | None = None
    exception_at: int | None = None
    stream_cut: float | None = None

    def answering(self, request: RecordedRequest) -> Reply:
        if self.answer is None or not request.path.endswith("/converse-stream"):
            return self
        data = stream_events(self.answer, exception_at=self.exception_at)
        cut = int(len(data) * self.stream_cut) if self.stream_cut is not None else None
        return Reply(200, data, {"x-amzn-requestid": "req-1"}, content_type=EVENTSTREAM, chunked=True, chunk_sizes=(1, 40), seed=self.seed, cut_after=cut, as_is=True)


def answer(body: Mapping[str, Any], *, exception_at: int | None = None, stream_cut: float | None = None, seed: int = 0) -> BedrockReply:
    return BedrockReply(
        200, json.dumps(body).encode(), {"x-amzn-requestid": "req-1"}, seed=seed,
        answer=body, exception_at=exception_at, stream_cut=stream_cut,
    )  # fmt: skip


def error(status: int, error_type: str, message: str, headers: Mapping[str, str] | None = None) -> Reply:
    head = {"x-amzn-ErrorType": f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/", "x-amzn-requestid": "req-err", **(headers or {})}
    return Reply(status, json.dumps({"message": message}).encode(), head, content_type="application/json", as_is=True)


# -- what a request must look like -----------------------------------------------------------------

_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[A-Z0-9]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/bedrock/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def check_sigv4(request: RecordedRequest, *, host: str, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY, region: str = REGION) -> None:
    """Verify the request's SigV4 signature from AWS's documented algorithm ("Create a signed AWS
    API request"): canonical request = method, canonical URI (each path segment URI-encoded
    twice for services other than S3), canonical query, canonical headers, signed headers,
    SHA-256 of the payload; string to sign = algorithm, X-Amz-Date, scope, hash of the
    canonical request; key = HMAC chain of date, region, service, "aws4_request"."""
    match = _AUTH.match(request.headers.get("authorization", ""))
    assert match, request.headers.get("authorization")
    assert match["key"] == access_key and match["region"] == region
    stamp = request.headers["x-amz-date"]
    assert re.fullmatch(r"\d{8}T\d{6}Z", stamp) and stamp[:8] == match["date"]
    signed = match["signed"].split(";")
    assert {"host", "x-amz-date"} <= set(signed), signed
    headers = {**request.headers, "host": host}
    canonical_headers = "".join(f"{name}:{' '.join(headers[name].split())}\n" for name in signed)
    path, _, query = request.path.partition("?")
    canonical_uri = quote(path, safe="/~")  # the path as sent is encoded once; encode again
    canonical = "\n".join(
        ["POST", canonical_uri, query, canonical_headers, match["signed"], hashlib.sha256(request.body).hexdigest()]
    )
    scope = f"{match['date']}/{region}/bedrock/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(f"AWS4{secret_key}".encode(), match["date"])
    for part in (region, "bedrock", "aws4_request"):
        key = _hmac(key, part)
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, match["signature"]), "SigV4 signature does not verify"


def check_converse_request(request: RecordedRequest, *, model: str, stream: bool) -> dict[str, Any]:
    """The route for ``model`` (URL-encoded in the path) and the documented body fields."""
    route = "converse-stream" if stream else "converse"
    assert request.method == "POST"
    assert request.path == f"/model/{quote(model, safe='')}/{route}", request.path
    assert unquote(request.path.split("/")[2]) == model
    body = request.json
    assert set(body) <= {
        "messages", "system", "inferenceConfig", "toolConfig", "guardrailConfig",
        "additionalModelRequestFields", "promptVariables", "additionalModelResponseFieldPaths",
        "requestMetadata", "performanceConfig",
    }, set(body)  # fmt: skip
    roles = [m["role"] for m in body["messages"]]
    assert roles and roles[0] == "user" and all(r in ("user", "assistant") for r in roles)
    assert all(a != b for a, b in itertools.pairwise(roles)), roles
    for message in body["messages"]:
        for block in message["content"]:
            assert len(block) == 1 and next(iter(block)) in {"text", "image", "document", "toolUse", "toolResult"}, block
    return dict(body)


def blocks_of(messages: Sequence[Mapping[str, Any]], kind: str) -> list[Any]:
    return [block[kind] for m in messages for block in m["content"] if kind in block]
