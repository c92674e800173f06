"""An incremental Server-Sent Events decoder (bytes in, events out), shared by the drivers.

Bytes may arrive split anywhere (inside a line, inside a multi-byte UTF-8 character): lines are
decoded only once complete (all the complete lines of a chunk at once), and every byte is scanned
once. Lines end with ``\\n`` or ``\\r\\n``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SSEEvent:
    event: str
    data: str


class SSEDecoder:
    """Feed raw bytes with :meth:`feed`; it returns the events completed so far."""

    __slots__ = ("_buffer", "_data", "_event", "_scan_from", "events_seen", "head")

    HEAD_LIMIT = 4096

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._scan_from = 0
        self._event = ""
        self._data: list[str] = []
        self.events_seen = 0
        self.head = bytearray()
        """The first bytes of the stream (up to :attr:`HEAD_LIMIT`), kept to explain a body that
        was not SSE at all (a JSON error answered to a streaming request)."""

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if len(self.head) < self.HEAD_LIMIT:
            self.head += chunk[: self.HEAD_LIMIT - len(self.head)]
        buffer = self._buffer
        buffer += chunk
        end = buffer.rfind(b"\n", self._scan_from)
        if end < 0:
            self._scan_from = len(buffer)
            return []
        # the complete lines, decoded at once (a character split across chunks is never cut:
        # only whole lines are decoded)
        complete = buffer[:end].decode("utf-8", errors="replace")
        del buffer[: end + 1]
        self._scan_from = len(buffer)
        events: list[SSEEvent] = []
        for line in complete.split("\n"):
            event = self._line(line[:-1] if line.endswith("\r") else line)
            if event is not None:
                events.append(event)
        self.events_seen += len(events)
        return events

    def close(self) -> list[SSEEvent]:
        """Flush a final event that was not followed by a blank line."""
        events: list[SSEEvent] = []
        if self._buffer:
            line = bytes(self._buffer).rstrip(b"\r")
            self._buffer.clear()
            self._scan_from = 0
            event = self._line(line.decode("utf-8", errors="replace"))
            if event is not None:
                events.append(event)
        if self._data:
            events.append(SSEEvent(self._event or "message", "\n".join(self._data)))
            self._data = []
            self._event = ""
        self.events_seen += len(events)
        return events

    def _line(self, line: str) -> SSEEvent | None:
        if not line:
            if not self._data:
                self._event = ""
                return None
            event = SSEEvent(self._event or "message", "\n".join(self._data))
            self._data = []
            self._event = ""
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        return None
