"""Anthropic's Message Batches API over httpx (like the live Anthropic driver).

Wire format (Anthropic API reference, "Message Batches"):

- create: ``POST /v1/messages/batches`` with ``{"requests": [{"custom_id": "...", "params":
  {...}}]}`` -- ``params`` is the body a live ``POST /v1/messages`` sends
  (:func:`~instructor_py.providers.anthropic_wire.build_body`); ``custom_id`` matches
  ``^[a-zA-Z0-9_-]{1,64}$``;
- a batch: ``{"id": "msgbatch_...", "type": "message_batch", "processing_status": "in_progress" |
  "canceling" | "ended", "request_counts": {"processing", "succeeded", "errored", "canceled",
  "expired"}, "created_at", "ended_at", "expires_at", "cancel_initiated_at", "results_url"}``
  (times in RFC 3339); ``GET /v1/messages/batches/{id}``, ``POST .../{id}/cancel``, and
  ``GET /v1/messages/batches?limit=&after_id=`` (newest first: ``data``, ``has_more``,
  ``last_id``);
- results: ``GET {results_url}``, JSONL of ``{"custom_id", "result": {"type": "succeeded",
  "message": {...}} | {"type": "errored", "error": {"type": "error", "error": {"type",
  "message"}}} | {"type": "canceled"} | {"type": "expired"}}``.

Anthropic batches carry no metadata, so :meth:`AnthropicBatchDriver.find` recognises a job's batch
by its time and size, and, once it has ended, by its results' custom ids (which start with the
job id).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx

from instructor_py.common.errors import BatchJobError, ProviderError
from instructor_py.providers._tls import shared_ssl_context
from instructor_py.providers._transport_errors import translate_transport_errors
from instructor_py.providers.anthropic_wire import API_VERSION, build_body, parse_message
from instructor_py.providers.base import InferenceRequest, InferenceResponse
from instructor_py.providers.batch import BatchLine, BatchState, RemoteBatch, item_error
from instructor_py.providers.http_errors import ErrorContext, error_for_status, redact
from instructor_py.providers.presets import ProviderPreset

_LOOKBACK_SECONDS = 600.0
_MAX_LISTED = 1000


class AnthropicBatchDriver:
    """:class:`~instructor_py.providers.batch.BatchDriver` for Anthropic's Message Batches."""

    def __init__(
        self, preset: ProviderPreset, *, api_key: str | None, base_url: str, timeout: float = 60.0
    ) -> None:
        self._preset = preset
        base = base_url.rstrip("/")
        self._path = "/messages/batches" if base.endswith("/v1") else "/v1/messages/batches"
        self._ctx = ErrorContext(
            provider=preset.name,
            api_key_env=preset.api_key_env,
            base_url=base,
            timeout=timeout,
            secrets=(api_key,) if api_key else (),
        )
        headers = {"anthropic-version": API_VERSION, "content-type": "application/json"}
        if api_key:
            headers["x-api-key"] = api_key
        self._client = httpx.Client(
            base_url=base, headers=headers, timeout=timeout, verify=shared_ssl_context()
        )

    def __repr__(self) -> str:
        return f"AnthropicBatchDriver(preset={self._preset.name!r}, base_url={self._ctx.base_url!r})"

    @property
    def name(self) -> str:
        return self._preset.name

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        with translate_transport_errors(self._ctx):
            response = self._client.request(method, url, **kwargs)
        if response.status_code >= 400:
            raise error_for_status(
                response.status_code, response.headers, _body(response.content), self._ctx
            )
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ProviderError(
                f"{self.name} answered {method} {url} with a body that is not JSON; check the "
                f"base URL ({self._ctx.base_url}).",
                provider=self.name,
            ) from None

    # -- requests ---------------------------------------------------------------------------

    def request_line(self, custom_id: str, request: InferenceRequest) -> dict[str, Any]:
        return {"custom_id": custom_id, "params": build_body(request, self._preset, stream=False)}

    def upload(self, job_id: str, lines: Sequence[Mapping[str, Any]]) -> str | None:
        return None  # the requests go inline in the create call

    def create(
        self, job_id: str, lines: Sequence[Mapping[str, Any]], upload: str | None
    ) -> RemoteBatch:
        return _remote(self._call("POST", self._path, json={"requests": list(lines)}))

    # -- the batch ----------------------------------------------------------------------------

    def find(self, job_id: str, *, total: int, since: float) -> RemoteBatch | None:
        candidates: list[RemoteBatch] = []
        after: str | None = None
        seen = 0
        while seen < _MAX_LISTED:
            params: dict[str, Any] = {"limit": 100}
            if after:
                params["after_id"] = after
            page = self._call("GET", self._path, params=params)
            data = page.get("data") or []
            older = False
            for raw in data:
                seen += 1
                remote = _remote(raw)
                if remote.created_at is not None and remote.created_at < since - _LOOKBACK_SECONDS:
                    older = True
                    break
                if remote.total == total and self._may_be(job_id, remote):
                    candidates.append(remote)
            if older or not page.get("has_more") or not data:
                break
            after = str(page.get("last_id") or data[-1].get("id"))
        if len(candidates) > 1:
            ids = ", ".join(c.id for c in candidates)
            raise BatchJobError(
                f"job {job_id}: {len(candidates)} {self.name} batches of {total} requests were "
                f"created since the job was recorded ({ids}) and none has ended, so it cannot tell "
                "which is its own; pass remote_id=... to BatchJob.resume()."
            )
        return candidates[0] if candidates else None

    def _may_be(self, job_id: str, remote: RemoteBatch) -> bool:
        """Whether ``remote`` may be the job's batch: yes while it runs (nothing tells), and once
        it ended only if its first result line has one of the job's custom ids."""
        if remote.state not in ("completed", "cancelled", "expired") or not remote.results_ref.get(
            "results_url"
        ):
            return True
        for custom_id, _ in self.result_lines(remote):
            return custom_id.startswith(f"{job_id}-")
        return False

    def retrieve(self, remote_id: str) -> RemoteBatch:
        return _remote(self._call("GET", f"{self._path}/{remote_id}"))

    def cancel(self, remote_id: str) -> RemoteBatch:
        return _remote(self._call("POST", f"{self._path}/{remote_id}/cancel"))

    # -- results ------------------------------------------------------------------------------

    def result_lines(self, remote: RemoteBatch) -> Iterator[tuple[str, Any]]:
        url = remote.results_ref.get("results_url")
        if not url:
            return
        with (
            translate_transport_errors(self._ctx),
            self._client.stream("GET", str(url)) as response,
        ):
            if response.status_code >= 400:
                response.read()
                raise error_for_status(
                    response.status_code, response.headers, _body(response.content), self._ctx
                )
            for text in response.iter_lines():
                if text.strip():
                    line = json.loads(text)
                    yield str(line.get("custom_id")), line

    def parse_line(self, custom_id: str, raw: Any) -> BatchLine:
        result = raw.get("result") if isinstance(raw, Mapping) else None
        kind = result.get("type") if isinstance(result, Mapping) else None
        if kind == "succeeded" and isinstance(result, Mapping):
            try:
                return BatchLine(custom_id, response=parse_message(result.get("message"), self._ctx))
            except ProviderError as failed:
                what = f"the answer could not be read ({failed})"
                return BatchLine(custom_id, error=self._error(custom_id, what, None, raw))
        if kind == "errored":
            error = result.get("error") if isinstance(result, Mapping) else None
            if isinstance(error, Mapping) and isinstance(error.get("error"), Mapping):
                error = error["error"]  # the ErrorResponse envelope
            error = error if isinstance(error, Mapping) else {}
            code = str(error.get("type") or "error")
            message = redact(str(error.get("message") or code), self._ctx.secrets)
            return BatchLine(custom_id, error=self._error(custom_id, f"{code}: {message}", code, raw))
        if kind in ("canceled", "expired"):
            what = f"the batch was {kind} before this request ran"
            return BatchLine(custom_id, error=self._error(custom_id, what, str(kind), raw))
        what = f"unknown result type {kind!r}"
        return BatchLine(custom_id, error=self._error(custom_id, what, None, raw))

    def parse_body(self, body: Any) -> InferenceResponse:
        return parse_message(body, self._ctx)

    def _error(self, custom_id: str, what: str, code: str | None, raw: Any) -> Any:
        return item_error(self.name, custom_id, what, code=code, raw=raw)


def _remote(raw: Any) -> RemoteBatch:
    if not isinstance(raw, Mapping) or not raw.get("id"):
        raise ProviderError("the Message Batches API answered without a batch object")
    counts = raw.get("request_counts") or {}
    numbers = {k: int(counts.get(k) or 0) for k in ("processing", "succeeded", "errored", "canceled", "expired")}
    status = str(raw.get("processing_status") or "")
    state: BatchState
    if status == "ended":  # a batch ends when every request is done, or at its expiry
        if raw.get("cancel_initiated_at"):
            state = "cancelled"
        elif numbers["expired"]:
            state = "expired"
        else:
            state = "completed"
    elif status == "canceling":
        state = "cancelling"
    else:
        state = "in_progress"
    return RemoteBatch(
        id=str(raw["id"]),
        state=state,
        provider_status=status,
        total=sum(numbers.values()),
        **numbers,
        created_at=_seconds(raw.get("created_at")),
        ended_at=_seconds(raw.get("ended_at")),
        expires_at=_seconds(raw.get("expires_at")),
        results_ref={"results_url": raw.get("results_url")},
        raw=dict(raw),
    )


def _seconds(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _body(content: bytes) -> Any:
    try:
        return json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return content
