"""OpenAI's Batch API through the official ``openai`` SDK: the requests as a JSONL file
(``client.files.create(purpose="batch")``), a batch over it (``client.batches.create`` /
``retrieve`` / ``cancel`` / ``list``), and the output and error files read back line by line
(``client.files.with_streaming_response.content``).

Wire format (OpenAI "Batch API" guide and API reference, Files and Batches):

- an input line: ``{"custom_id": "...", "method": "POST", "url": "/v1/chat/completions",
  "body": {...}}`` -- the body is the one a live ``chat.completions.create`` sends
  (:func:`~instructor_py.providers.openai_wire.build_params`, options the SDK does not name merged
  in as they are, like ``extra_body`` does);
- a batch: ``{"id", "status": "validating" | "failed" | "in_progress" | "finalizing" |
  "completed" | "expired" | "cancelling" | "cancelled", "request_counts": {"total",
  "completed", "failed"}, "output_file_id", "error_file_id", "created_at", "completed_at",
  "expires_at", ..., "metadata"}``; we tag ours with ``metadata={"instructor_py_job": job id}``;
- an output or error line: ``{"id", "custom_id", "response": {"status_code", "request_id",
  "body"} | null, "error": {"code", "message"} | null}``; the items an expired or cancelled
  batch did not run come back in the error file with ``batch_expired`` / ``batch_cancelled``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

import openai

from instructor_py.common.errors import ProviderError
from instructor_py.providers._tls import shared_ssl_context
from instructor_py.providers.base import InferenceRequest, InferenceResponse
from instructor_py.providers.batch import BatchLine, BatchState, RemoteBatch, item_error
from instructor_py.providers.http_errors import ErrorContext, body_message, error_for_status, redact
from instructor_py.providers.openai import NO_KEY, _translate
from instructor_py.providers.openai_wire import build_params, parse_completion
from instructor_py.providers.presets import ProviderPreset

ENDPOINT: Final = "/v1/chat/completions"
COMPLETION_WINDOW: Final = "24h"
JOB_METADATA_KEY = "instructor_py_job"
_LOOKBACK_SECONDS = 600.0
"""How far before a job's record :meth:`OpenAIBatchDriver.find` still looks (clock skew)."""

_STATES: dict[str, BatchState] = {
    "validating": "validating",
    "in_progress": "in_progress",
    "finalizing": "finalizing",
    "cancelling": "cancelling",
    "completed": "completed",
    "failed": "failed",
    "expired": "expired",
    "cancelled": "cancelled",
}


class OpenAIBatchDriver:
    """:class:`~instructor_py.providers.batch.BatchDriver` for OpenAI-compatible Batch APIs."""

    def __init__(
        self, preset: ProviderPreset, *, api_key: str | None, base_url: str, timeout: float = 60.0
    ) -> None:
        self._preset = preset
        self._ctx = ErrorContext(
            provider=preset.name,
            api_key_env=preset.api_key_env,
            base_url=base_url,
            timeout=timeout,
            secrets=(api_key,) if api_key else (),
        )
        # no SDK retries: a create retried after a lost answer would make a second batch
        self._client = openai.OpenAI(
            api_key=api_key or NO_KEY,
            base_url=base_url,
            timeout=timeout,
            max_retries=0,
            http_client=openai.DefaultHttpxClient(verify=shared_ssl_context()),
        )

    def __repr__(self) -> str:
        return f"OpenAIBatchDriver(preset={self._preset.name!r}, base_url={self._ctx.base_url!r})"

    @property
    def name(self) -> str:
        return self._preset.name

    def close(self) -> None:
        self._client.close()

    # -- requests ---------------------------------------------------------------------------

    def request_line(self, custom_id: str, request: InferenceRequest) -> dict[str, Any]:
        body = build_params(request, self._preset, stream=False)
        extra = body.pop("extra_body", None)
        if extra:
            body.update(extra)
        return {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": body}

    def upload(self, job_id: str, lines: Sequence[Mapping[str, Any]]) -> str | None:
        data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
        with _translate(self._ctx):
            uploaded = self._client.files.create(
                file=(f"{job_id}.jsonl", data, "application/jsonl"), purpose="batch"
            )
        return str(uploaded.id)

    def create(
        self, job_id: str, lines: Sequence[Mapping[str, Any]], upload: str | None
    ) -> RemoteBatch:
        if upload is None:
            raise ProviderError(
                "an OpenAI batch needs its uploaded input file (upload() first)",
                provider=self.name,
            )
        with _translate(self._ctx):
            batch = self._client.batches.create(
                input_file_id=upload,
                endpoint=ENDPOINT,
                completion_window=COMPLETION_WINDOW,
                metadata={JOB_METADATA_KEY: job_id},
            )
        return self._remote(batch)

    # -- the batch ----------------------------------------------------------------------------

    def find(self, job_id: str, *, total: int, since: float) -> RemoteBatch | None:
        """The batch tagged with ``job_id`` (batches are listed newest first; the scan stops at
        the first one created well before the job was recorded)."""
        with _translate(self._ctx):
            for batch in self._client.batches.list(limit=100):
                metadata = batch.metadata or {}
                if metadata.get(JOB_METADATA_KEY) == job_id:
                    return self._remote(batch)
                if batch.created_at < since - _LOOKBACK_SECONDS:
                    break
        return None

    def retrieve(self, remote_id: str) -> RemoteBatch:
        with _translate(self._ctx):
            return self._remote(self._client.batches.retrieve(remote_id))

    def cancel(self, remote_id: str) -> RemoteBatch:
        with _translate(self._ctx):
            return self._remote(self._client.batches.cancel(remote_id))

    def _remote(self, batch: Any) -> RemoteBatch:
        raw = batch.model_dump(mode="json")
        status = str(raw.get("status") or "")
        state = _STATES.get(status, "in_progress")
        counts = raw.get("request_counts") or {}
        total = int(counts.get("total") or 0)
        done = int(counts.get("completed") or 0)
        failed = int(counts.get("failed") or 0)
        ended = next(
            (raw[k] for k in ("completed_at", "failed_at", "expired_at", "cancelled_at") if raw.get(k)),
            None,
        )
        errors = (raw.get("errors") or {}).get("data") or []
        return RemoteBatch(
            id=str(raw["id"]),
            state=state,
            provider_status=status,
            total=total,
            succeeded=done,
            errored=failed,
            processing=0 if ended else max(0, total - done - failed),
            created_at=_seconds(raw.get("created_at")),
            ended_at=_seconds(ended),
            expires_at=_seconds(raw.get("expires_at")),
            results_ref={
                "output_file_id": raw.get("output_file_id"),
                "error_file_id": raw.get("error_file_id"),
                "errors": [
                    redact(f"{e.get('code')}: {e.get('message')}", self._ctx.secrets)
                    for e in errors
                    if isinstance(e, Mapping)
                ][:5],
            },
            raw=raw,
        )

    # -- results ------------------------------------------------------------------------------

    def result_lines(self, remote: RemoteBatch) -> Iterator[tuple[str, Any]]:
        for key in ("output_file_id", "error_file_id"):
            file_id = remote.results_ref.get(key)
            if not file_id:
                continue
            with (
                _translate(self._ctx),
                self._client.files.with_streaming_response.content(file_id) as response,
            ):
                for text in response.iter_lines():
                    if text.strip():
                        line = json.loads(text)
                        yield str(line.get("custom_id")), line

    def parse_line(self, custom_id: str, raw: Any) -> BatchLine:
        response = raw.get("response") if isinstance(raw, Mapping) else None
        error = raw.get("error") if isinstance(raw, Mapping) else None
        if isinstance(response, Mapping):
            status = int(response.get("status_code") or 0)
            body = response.get("body")
            if status == 200:
                try:
                    return BatchLine(custom_id, response=parse_completion(body, self._ctx))
                except ProviderError as failed:
                    what = f"the answer could not be read ({failed})"
                    return BatchLine(custom_id, error=self._error(custom_id, what, None, raw))
            typed = error_for_status(status, {}, body, self._ctx)
            code = _error_code(body)
            return BatchLine(
                custom_id, error=self._error(custom_id, str(typed), code, raw, status)
            )
        if isinstance(error, Mapping):
            code = str(error.get("code") or "error")
            message = redact(str(error.get("message") or code), self._ctx.secrets)
            return BatchLine(custom_id, error=self._error(custom_id, message, code, raw))
        what = "the result line holds neither a response nor an error"
        return BatchLine(custom_id, error=self._error(custom_id, what, None, raw))

    def parse_body(self, body: Any) -> InferenceResponse:
        return parse_completion(body, self._ctx)

    def _error(
        self, custom_id: str, what: str, code: str | None, raw: Any, status: int | None = None
    ) -> Any:
        return item_error(self.name, custom_id, what, code=code, raw=raw, status=status)


def _error_code(body: Any) -> str | None:
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        error = body["error"]
        code = error.get("code") or error.get("type")
        return str(code) if code else None
    return body_message(body) or None


def _seconds(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
