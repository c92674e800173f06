"""A small progress bar on stderr for batches (``batch(..., progress=True)`` and the command
line), with no dependency: ``[########------------]  12/40  30%  3.1/s  ETA 9s``.

On a terminal it redraws one line in place (at most ~10 times a second, and always for the last
item); elsewhere (a log file, CI) it writes a line at every tenth of the way, so a log gets a
few lines rather than one per item.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["ProgressBar"]

_WIDTH = 24


class ProgressBar:
    """Call it with ``(done, total)``; it draws on ``stream`` (default ``sys.stderr``)."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        label: str = "batch",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._label = label
        self._clock = clock
        self._start: float | None = None
        self._last_draw = 0.0
        self._last_tenth = -1
        self._lock = threading.Lock()
        isatty = getattr(self._stream, "isatty", None)
        self._tty = bool(isatty and isatty())

    def __call__(self, done: int, total: int) -> None:
        with self._lock:
            now = self._clock()
            if self._start is None:
                self._start = now
            finished = done >= total
            if self._tty:
                if not finished and done and now - self._last_draw < 0.1:
                    return
                self._last_draw = now
                end = "\n" if finished else ""
                self._stream.write("\r" + self.line(done, total, now - self._start) + end)
            else:
                tenth = 10 if finished else (10 * done) // max(total, 1)
                if tenth == self._last_tenth:
                    return
                self._last_tenth = tenth
                self._stream.write(self.line(done, total, now - self._start) + "\n")
            self._stream.flush()

    def line(self, done: int, total: int, elapsed: float) -> str:
        """The bar's text for ``done`` of ``total`` after ``elapsed`` seconds."""
        share = done / total if total else 1.0
        filled = round(_WIDTH * share)
        bar = "#" * filled + "-" * (_WIDTH - filled)
        text = f"{self._label} [{bar}] {done:>{len(str(total))}}/{total} {share:4.0%}"
        if done and elapsed > 0:
            rate = done / elapsed
            text += f"  {rate:.1f}/s"
            if done < total:
                text += f"  ETA {_duration((total - done) / rate)}"
            else:
                text += f"  in {_duration(elapsed)}"
        return text


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
