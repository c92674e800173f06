"""A loopback server speaking OpenAI's Files + Batches API and Anthropic's Message Batches API
(and each vendor's live endpoint, for ``repair=True`` re-asks), field by field as documented:

- OpenAI ("Batch API" guide; API reference "Files" and "Batches"): ``POST /v1/files``
  (multipart/form-data: ``purpose=batch`` and ``file``, a JSONL of ``{"custom_id", "method",
  "url", "body"}``) -> a File object; ``GET /v1/files/{id}/content`` -> the bytes;
  ``POST /v1/batches`` (``input_file_id``, ``endpoint``, ``completion_window``, ``metadata``),
  ``GET /v1/batches/{id}``, ``POST /v1/batches/{id}/cancel``, ``GET /v1/batches?limit=&after=``
  -> Batch objects (``status`` validating -> in_progress -> finalizing -> completed, or failed /
  expired / cancelling -> cancelled; ``request_counts``; ``output_file_id``, ``error_file_id``);
  output lines ``{"id", "custom_id", "response": {"status_code", "request_id", "body"},
  "error"}``; an expired or cancelled batch's unrun items go to the error file with
  ``{"response": null, "error": {"code": "batch_expired" | "batch_cancelled", "message"}}``.
- Anthropic (API reference "Message Batches"): ``POST /v1/messages/batches`` (``{"requests":
  [{"custom_id", "params"}]}``), ``GET /v1/messages/batches/{id}``, ``POST .../{id}/cancel``,
  ``GET /v1/messages/batches?limit=&after_id=`` (``data``, ``has_more``, ``first_id``,
  ``last_id``), ``GET .../{id}/results`` (JSONL of ``{"custom_id", "result": {"type":
  "succeeded", "message"} | {"type": "errored", "error": {"type": "error", "error": {"type",
  "message"}}} | {"type": "canceled"} | {"type": "expired"}}``); ``processing_status``
  in_progress -> ended (or canceling -> ended).

A batch advances one step per retrieve (``steps_to_finish`` retrieves after its creation it has
ended), so a test controls time by polling. What the "model" answers is the test's
``scenario(text, live) -> Answer`` (``text``: the first user message; ``live``: a live call, not a
batch line). ``hold_create`` keeps the create call's answer back (the batch exists already) until
released, for kill-after-create tests. The server stops by itself after ``lifetime`` seconds.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass(frozen=True)
class Answer:
    """What the model says: ``json`` (the JSON text of the answer), or an ``error`` line
    (``status``, ``code``, ``message``)."""

    json: str | None = None
    status: int = 200
    code: str | None = None
    message: str = ""


Scenario = Callable[[str, bool], Answer]

_PERSON = re.compile(r"(?P<name>[A-Z][a-z]+) is (?P<age>\d+)")


def people(text: str, live: bool) -> Answer:
    """The default scenario: ``"<Name> is <age>"`` -> ``{"name", "age"}``; a text with ``BAD``
    gets an answer invalid for the schema in the batch (a live re-ask gets a valid one);
    ``FAIL`` is an error line (HTTP 400); ``JUNK`` answers with no JSON at all."""
    match = _PERSON.search(text)
    name, age = (match["name"], int(match["age"])) if match else ("Nobody", 0)
    if "FAIL" in text:
        return Answer(status=400, code="invalid_request_error", message="the request was refused")
    if "BAD" in text and not live:
        return Answer(json=json.dumps({"name": name, "age": "very old"}))
    if "JUNK" in text:
        return Answer(json=json.dumps({"name": name}) if live else "I cannot answer that")
    return Answer(json=json.dumps({"name": name, "age": age}))


@dataclass
class _Batch:
    id: str
    vendor: str
    requests: list[dict[str, Any]]
    created_at: float
    metadata: dict[str, Any] = field(default_factory=dict)
    input_file_id: str | None = None
    polls: int = 0
    status: str = "validating"
    cancel_at: float | None = None
    ended_at: float | None = None
    answered: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    results: list[dict[str, Any]] = field(default_factory=list)


class BatchAPIServer:
    """The server (module docstring); ``with BatchAPIServer() as server: server.base_url``."""

    def __init__(
        self,
        scenario: Scenario = people,
        *,
        steps_to_finish: int = 2,
        expire_after: int | None = None,
        fail_validation: bool = False,
        lifetime: float = 120.0,
        latency: float = 0.0,
    ) -> None:
        self.scenario = scenario
        self.steps_to_finish = steps_to_finish
        self.expire_after = expire_after
        self.fail_validation = fail_validation
        self.lifetime = lifetime
        self.latency = latency
        self.files: dict[str, tuple[str, bytes]] = {}
        self.batches: dict[str, _Batch] = {}
        self.calls: dict[str, int] = {}
        self.live_bodies: list[dict[str, Any]] = []
        self.created = threading.Event()
        self.hold_create: threading.Event | None = None
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> BatchAPIServer:
        self._thread.start()
        self._timer.start()
        return self

    def stop(self) -> None:
        self._timer.cancel()
        if self.hold_create is not None:
            self.hold_create.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> BatchAPIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def count(self, name: str) -> int:
        with self._lock:
            return self.calls.get(name, 0)

    # -- the model --------------------------------------------------------------------------------

    def _answer(self, body: dict[str, Any], live: bool) -> Answer:
        text = ""
        for message in body.get("messages") or []:
            if message.get("role") == "user":
                content = message.get("content")
                text = content if isinstance(content, str) else json.dumps(content)
                break
        if live and len([m for m in body.get("messages") or [] if m.get("role") == "user"]) < 2:
            text = text  # a first live call: the same answer a batch line would get
        return self.scenario(text, live)

    def _openai_completion(self, body: dict[str, Any], answer: Answer) -> dict[str, Any]:
        text = answer.json or ""
        message: dict[str, Any] = {"role": "assistant", "content": text}
        finish = "stop"
        if body.get("tools"):
            name = body["tools"][0]["function"]["name"]
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_" + uuid.uuid4().hex[:8],
                        "type": "function",
                        "function": {"name": name, "arguments": text},
                    }
                ],
            }
            finish = "tool_calls"
        return {
            "id": "chatcmpl-" + uuid.uuid4().hex[:12],
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "gpt-4o-mini"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
        }

    def _openai_stream(self, body: dict[str, Any], answer: Answer) -> bytes:
        """The answer as chat.completion.chunk events (OpenAI API reference, "The chat
        completion chunk object"): the whole delta in one chunk, then the finish reason, then
        the usage chunk when ``stream_options.include_usage`` asks for it, then ``[DONE]``."""
        whole = self._openai_completion(body, answer)
        message = whole["choices"][0]["message"]
        delta: dict[str, Any] = {"role": "assistant", "content": message["content"]}
        if message.get("tool_calls"):
            call = message["tool_calls"][0]
            delta = {"role": "assistant", "tool_calls": [{"index": 0, **call}]}
        head = {k: whole[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
        events = [
            head | {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
            head | {"choices": [{"index": 0, "delta": {}, "finish_reason": whole["choices"][0]["finish_reason"]}]},
        ]
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append(head | {"choices": [], "usage": whole["usage"]})
        text = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        return text.encode()

    def _anthropic_message(self, body: dict[str, Any], answer: Answer) -> dict[str, Any]:
        text = answer.json or ""
        content: list[dict[str, Any]]
        stop = "end_turn"
        if body.get("tools"):
            try:
                data = json.loads(text)
            except json.JSONDecodeError:
                data = {"text": text}
            content = [
                {
                    "type": "tool_use",
                    "id": "toolu_" + uuid.uuid4().hex[:12],
                    "name": body["tools"][0]["name"],
                    "input": data,
                }
            ]
            stop = "tool_use"
        else:
            content = [{"type": "text", "text": text}]
        return {
            "id": "msg_" + uuid.uuid4().hex[:12],
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "claude"),
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": 11, "output_tokens": 7},
        }

    # -- batches ----------------------------------------------------------------------------------

    def _advance(self, batch: _Batch) -> None:
        """One step of a batch's life (called on every retrieve)."""
        if batch.ended_at is not None:
            return
        batch.polls += 1
        if batch.cancel_at is not None:
            self._finish(batch, "cancelled")
            return
        if batch.vendor == "openai" and self.fail_validation:
            batch.status = "failed"
            batch.ended_at = time.time()
            return
        if batch.polls >= self.steps_to_finish:
            if self.expire_after is not None:
                self._finish(batch, "expired")
            else:
                self._finish(batch, "completed")
        elif batch.polls >= 1:
            batch.status = "in_progress" if batch.polls < self.steps_to_finish - 1 else "finalizing"

    def _finish(self, batch: _Batch, status: str) -> None:
        limit = len(batch.requests)
        if status == "expired":
            limit = min(limit, self.expire_after or 0)
        if status == "cancelled":
            limit = min(limit, 1)  # one request had already run
        out: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for i, request in enumerate(batch.requests):
            custom_id = request["custom_id"]
            if batch.vendor == "openai":
                if i < limit:
                    answer = self._answer(request["body"], live=False)
                    line = self._openai_line(custom_id, request["body"], answer)
                    (out if answer.status == 200 else errors).append(line)
                else:
                    code = "batch_expired" if status == "expired" else "batch_cancelled"
                    errors.append(
                        {
                            "id": "batch_req_" + uuid.uuid4().hex[:12],
                            "custom_id": custom_id,
                            "response": None,
                            "error": {"code": code, "message": f"This request was not run: {code}."},
                        }
                    )
            else:
                if i < limit:
                    answer = self._answer(request["params"], live=False)
                    out.append(self._anthropic_line(custom_id, request["params"], answer))
                else:
                    kind = "expired" if status == "expired" else "canceled"
                    out.append({"custom_id": custom_id, "result": {"type": kind}})
        batch.answered = limit
        batch.status = status
        batch.ended_at = time.time()
        if batch.vendor == "openai":
            if out:
                batch.output_file_id = self._store_file(f"{batch.id}_output.jsonl", out)
            if errors:
                batch.error_file_id = self._store_file(f"{batch.id}_error.jsonl", errors)
        batch.results = out + errors

    def _openai_line(self, custom_id: str, body: dict[str, Any], answer: Answer) -> dict[str, Any]:
        if answer.status != 200:
            payload: dict[str, Any] = {
                "error": {"message": answer.message, "type": answer.code, "param": None, "code": answer.code}
            }
        else:
            payload = self._openai_completion(body, answer)
        return {
            "id": "batch_req_" + uuid.uuid4().hex[:12],
            "custom_id": custom_id,
            "response": {
                "status_code": answer.status,
                "request_id": uuid.uuid4().hex,
                "body": payload,
            },
            "error": None,
        }

    def _anthropic_line(self, custom_id: str, params: dict[str, Any], answer: Answer) -> dict[str, Any]:
        if answer.status != 200:
            result: dict[str, Any] = {
                "type": "errored",
                "error": {"type": "error", "error": {"type": answer.code, "message": answer.message}},
            }
        else:
            result = {"type": "succeeded", "message": self._anthropic_message(params, answer)}
        return {"custom_id": custom_id, "result": result}

    def _store_file(self, name: str, lines: list[dict[str, Any]]) -> str:
        file_id = "file-" + uuid.uuid4().hex[:16]
        self.files[file_id] = (name, "".join(json.dumps(x) + "\n" for x in lines).encode())
        return file_id

    def _openai_batch(self, batch: _Batch) -> dict[str, Any]:
        total = len(batch.requests)
        ended = batch.ended_at is not None
        failed = sum(1 for r in batch.results if r.get("error") or (r.get("response") or {}).get("status_code", 200) != 200)
        times = {k: None for k in ("in_progress_at", "finalizing_at", "completed_at", "failed_at", "expired_at", "cancelling_at", "cancelled_at")}
        if ended:
            times[f"{batch.status}_at"] = int(batch.ended_at or 0)
        return {
            "id": batch.id,
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "errors": (
                {"object": "list", "data": [{"code": "invalid_json_line", "message": "line 1 is not valid", "param": None, "line": 1}]}
                if batch.status == "failed"
                else None
            ),
            "input_file_id": batch.input_file_id,
            "completion_window": "24h",
            "status": "cancelling" if batch.cancel_at is not None and not ended else batch.status,
            "output_file_id": batch.output_file_id,
            "error_file_id": batch.error_file_id,
            "created_at": int(batch.created_at),
            "expires_at": int(batch.created_at + 86400),
            **times,
            "request_counts": {
                "total": total,
                "completed": (len(batch.results) - failed) if ended else 0,
                "failed": failed if ended else 0,
            },
            "metadata": batch.metadata or None,
        }

    def _anthropic_batch(self, batch: _Batch) -> dict[str, Any]:
        ended = batch.ended_at is not None
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if ended:
            for line in batch.results:
                counts[line["result"]["type"]] += 1
        else:
            counts["processing"] = len(batch.requests)
        status = "ended" if ended else ("canceling" if batch.cancel_at is not None else "in_progress")
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": status,
            "request_counts": counts,
            "ended_at": _rfc3339(batch.ended_at) if ended else None,
            "created_at": _rfc3339(batch.created_at),
            "expires_at": _rfc3339(batch.created_at + 86400),
            "archived_at": None,
            "cancel_initiated_at": _rfc3339(batch.cancel_at) if batch.cancel_at else None,
            "results_url": f"{self.base_url}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    # -- HTTP -------------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _send(self, status: int, payload: Any, content_type: str = "application/json") -> None:
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", content_type)
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _body(self) -> bytes:
                length = int(self.headers.get("content-length") or 0)
                return self.rfile.read(length) if length else b""

            def do_GET(self) -> None:
                server._route(self, "GET", b"")

            def do_POST(self) -> None:
                server._route(self, "POST", self._body())

        return Handler

    def _tick(self, name: str) -> None:
        with self._lock:
            self.calls[name] = self.calls.get(name, 0) + 1

    def _route(self, h: Any, method: str, raw: bytes) -> None:
        if self.latency:
            time.sleep(self.latency)
        url = urlparse(h.path)
        path, query = url.path, parse_qs(url.query)
        parts = [p for p in path.split("/") if p]
        try:
            # -- OpenAI -------------------------------------------------------------------------
            if method == "POST" and path == "/v1/chat/completions":
                self._tick("openai.live")
                body = json.loads(raw)
                with self._lock:
                    self.live_bodies.append(body)
                answer = self._answer(body, live=True)
                if answer.status != 200:
                    return h._send(answer.status, {"error": {"message": answer.message, "type": answer.code}})
                if body.get("stream"):
                    return h._send(200, self._openai_stream(body, answer), "text/event-stream")
                return h._send(200, self._openai_completion(body, answer))
            if method == "POST" and path == "/v1/files":
                self._tick("openai.upload")
                purpose, name, data = _multipart(h.headers.get("content-type", ""), raw)
                if purpose != "batch" or data is None:
                    return h._send(400, {"error": {"message": "purpose must be batch and a file given", "type": "invalid_request_error"}})
                file_id = "file-" + uuid.uuid4().hex[:16]
                with self._lock:
                    self.files[file_id] = (name or "upload.jsonl", data)
                return h._send(200, {"id": file_id, "object": "file", "bytes": len(data), "created_at": int(time.time()), "filename": name, "purpose": "batch", "status": "processed"})
            if method == "GET" and len(parts) == 4 and parts[:2] == ["v1", "files"] and parts[3] == "content":
                self._tick("openai.download")
                stored = self.files.get(parts[2])
                if stored is None:
                    return h._send(404, {"error": {"message": "No such file", "type": "invalid_request_error"}})
                return h._send(200, stored[1], "application/octet-stream")
            if method == "POST" and path == "/v1/batches":
                body = json.loads(raw)
                stored = self.files.get(body.get("input_file_id", ""))
                if stored is None or body.get("endpoint") != "/v1/chat/completions" or body.get("completion_window") != "24h":
                    return h._send(400, {"error": {"message": "bad batch", "type": "invalid_request_error"}})
                requests = [json.loads(line) for line in stored[1].decode().splitlines() if line.strip()]
                for request in requests:
                    assert set(request) == {"custom_id", "method", "url", "body"}, request
                    assert request["method"] == "POST" and request["url"] == "/v1/chat/completions"
                batch = _Batch(
                    id="batch_" + uuid.uuid4().hex[:16],
                    vendor="openai",
                    requests=requests,
                    created_at=time.time(),
                    metadata=dict(body.get("metadata") or {}),
                    input_file_id=body["input_file_id"],
                )
                return self._created(h, batch, self._openai_batch)
            if method == "GET" and path == "/v1/batches":
                self._tick("openai.list")
                return h._send(200, self._list("openai", query, "after", self._openai_batch))
            if len(parts) >= 3 and parts[:2] == ["v1", "batches"]:
                batch = self.batches.get(parts[2])
                if batch is None or batch.vendor != "openai":
                    return h._send(404, {"error": {"message": "No such batch", "type": "invalid_request_error"}})
                if method == "POST" and parts[3:] == ["cancel"]:
                    self._tick("openai.cancel")
                    with self._lock:
                        if batch.ended_at is None:
                            batch.cancel_at = time.time()
                    return h._send(200, self._openai_batch(batch))
                self._tick("openai.retrieve")
                with self._lock:
                    self._advance(batch)
                return h._send(200, self._openai_batch(batch))
            # -- Anthropic ------------------------------------------------------------------------
            if method == "POST" and path == "/v1/messages":
                self._tick("anthropic.live")
                body = json.loads(raw)
                with self._lock:
                    self.live_bodies.append(body)
                answer = self._answer(body, live=True)
                if answer.status != 200:
                    return h._send(answer.status, {"type": "error", "error": {"type": answer.code, "message": answer.message}})
                return h._send(200, self._anthropic_message(body, answer))
            if method == "POST" and path == "/v1/messages/batches":
                if h.headers.get("anthropic-version") is None:
                    return h._send(400, {"type": "error", "error": {"type": "invalid_request_error", "message": "anthropic-version header is required"}})
                requests = json.loads(raw)["requests"]
                for request in requests:
                    assert set(request) == {"custom_id", "params"}, request
                    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", request["custom_id"])
                batch = _Batch(
                    id="msgbatch_" + uuid.uuid4().hex[:20],
                    vendor="anthropic",
                    requests=requests,
                    created_at=time.time(),
                )
                batch.status = "in_progress"
                return self._created(h, batch, self._anthropic_batch)
            if method == "GET" and path == "/v1/messages/batches":
                self._tick("anthropic.list")
                return h._send(200, self._list("anthropic", query, "after_id", self._anthropic_batch))
            if len(parts) >= 4 and parts[:3] == ["v1", "messages", "batches"]:
                batch = self.batches.get(parts[3])
                if batch is None or batch.vendor != "anthropic":
                    return h._send(404, {"type": "error", "error": {"type": "not_found_error", "message": "batch not found"}})
                if method == "POST" and parts[4:] == ["cancel"]:
                    self._tick("anthropic.cancel")
                    with self._lock:
                        if batch.ended_at is None:
                            batch.cancel_at = time.time()
                    return h._send(200, self._anthropic_batch(batch))
                if method == "GET" and parts[4:] == ["results"]:
                    self._tick("anthropic.results")
                    if batch.ended_at is None:
                        return h._send(400, {"type": "error", "error": {"type": "invalid_request_error", "message": "batch has not ended"}})
                    data = "".join(json.dumps(x) + "\n" for x in batch.results).encode()
                    return h._send(200, data, "application/binary")
                self._tick("anthropic.retrieve")
                with self._lock:
                    self._advance(batch)
                return h._send(200, self._anthropic_batch(batch))
            return h._send(404, {"error": {"message": f"no route {method} {path}", "type": "not_found"}})
        except Exception as err:  # a harness bug shows in the test as a 500 with its text
            return h._send(500, {"error": {"message": f"{type(err).__name__}: {err}", "type": "server_error"}})

    def _created(self, h: Any, batch: _Batch, render: Callable[[_Batch], dict[str, Any]]) -> None:
        with self._lock:
            self.batches[batch.id] = batch
            self.calls[f"{batch.vendor}.create"] = self.calls.get(f"{batch.vendor}.create", 0) + 1
        self.created.set()
        if self.hold_create is not None:
            self.hold_create.wait(timeout=30)
        return h._send(200, render(batch))

    def _list(self, vendor: str, query: dict[str, list[str]], cursor: str, render: Callable[[_Batch], dict[str, Any]]) -> dict[str, Any]:
        limit = int((query.get("limit") or ["20"])[0])
        after = (query.get(cursor) or [None])[0]
        with self._lock:
            ordered = sorted((b for b in self.batches.values() if b.vendor == vendor), key=lambda b: b.created_at, reverse=True)
        if after is not None:
            ids = [b.id for b in ordered]
            ordered = ordered[ids.index(after) + 1 :] if after in ids else []
        page = ordered[:limit]
        data = [render(b) for b in page]
        out: dict[str, Any] = {
            "data": data,
            "has_more": len(ordered) > limit,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }
        if vendor == "openai":
            out["object"] = "list"
        return out


def _multipart(content_type: str, raw: bytes) -> tuple[str | None, str | None, bytes | None]:
    """``purpose``, the file's name and bytes from a multipart/form-data body."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    purpose = name = None
    data = None
    for part in message.iter_parts():
        field_name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if field_name == "purpose":
            purpose = payload.decode() if isinstance(payload, bytes) else None
        elif field_name == "file":
            name = part.get_filename()
            data = payload if isinstance(payload, bytes) else None
    return purpose, name, data


def _rfc3339(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def main() -> None:
    """``python -m tests.support.batch_api [--latency S] [--lifetime S] [--steps N]``: serve from
    a process of its own (benchmarks); prints ``URL <base url>`` when ready, stops after
    ``--lifetime`` seconds or when its stdin closes."""
    import argparse
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--lifetime", type=float, default=600.0)
    parser.add_argument("--steps", type=int, default=2)
    args = parser.parse_args()
    server = BatchAPIServer(latency=args.latency, lifetime=args.lifetime, steps_to_finish=args.steps)
    server.start()
    print(f"URL {server.base_url}", flush=True)
    try:
        sys.stdin.read()  # returns when the parent closes our stdin (or dies)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
