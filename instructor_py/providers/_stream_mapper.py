"""The part of mapping an SSE byte stream to :class:`InferenceDelta` s that both wire formats share:
decode events as bytes arrive, and at the end tell a cut stream or a non-stream body from a
finished answer. Each wire format maps its own events in ``_event``."""

from __future__ import annotations

from instructor_py.common.errors import StreamInterruptedError
from instructor_py.providers.base import InferenceDelta
from instructor_py.providers.http_errors import ErrorContext, not_a_stream_error
from instructor_py.providers.sse import SSEDecoder, SSEEvent


class StreamMapper:
    __slots__ = ("_ctx", "_decoder", "finished")

    finish_field = "finish_reason"
    """The wire format's name for the field that marks a complete answer (for the error text)."""

    def __init__(self, ctx: ErrorContext) -> None:
        self._ctx = ctx
        self._decoder = SSEDecoder()
        self.finished = False

    def feed(self, chunk: bytes) -> list[InferenceDelta]:
        out: list[InferenceDelta] = []
        for event in self._decoder.feed(chunk):
            self._event(event, out)
        return out

    def close(self) -> list[InferenceDelta]:
        out: list[InferenceDelta] = []
        for event in self._decoder.close():
            self._event(event, out)
        if not self.finished and not self._decoder.events_seen and self._decoder.head.strip():
            raise not_a_stream_error(bytes(self._decoder.head), self._ctx)
        if not self.finished:
            raise StreamInterruptedError(
                f"The stream from {self._ctx.provider} ended before the answer was complete (no "
                f"{self.finish_field}). The request is sent again by the transport retries.",
                provider=self._ctx.provider,
            )
        return out

    def _event(self, event: SSEEvent, out: list[InferenceDelta]) -> None:
        raise NotImplementedError
