"""Delivering events to ``on_event``/``wiretap`` handlers and the ``instructor_py`` logger.

Events hold names, counts, usage and error messages, never request headers or API keys.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from instructor_py.run.events import (
    AttemptFailed,
    BudgetExceeded,
    CacheUnavailable,
    Event,
    RetriesExhausted,
    RetryScheduled,
)

logger = logging.getLogger("instructor_py")
# A library adds no output of its own: without logging configured, nothing reaches stderr
# (Python's last-resort handler would print every WARNING record otherwise).
logger.addHandler(logging.NullHandler())

Handler = Callable[[Any], None]

_INFO = (AttemptFailed, RetryScheduled)
_WARNING = (RetriesExhausted, BudgetExceeded, CacheUnavailable)


@dataclass(frozen=True, slots=True)
class EventDispatcher:
    """``handlers``: (event type, handler) pairs matched with ``isinstance``; ``wiretaps`` get
    every event."""

    handlers: tuple[tuple[type[Event], Handler], ...] = ()
    wiretaps: tuple[Handler, ...] = ()

    def with_handler(self, event_type: type[Event], handler: Handler) -> EventDispatcher:
        return EventDispatcher((*self.handlers, (event_type, handler)), self.wiretaps)

    def with_wiretap(self, handler: Handler) -> EventDispatcher:
        return EventDispatcher(self.handlers, (*self.wiretaps, handler))

    def emit(self, event: Event) -> None:
        level = (
            logging.WARNING
            if isinstance(event, _WARNING)
            else logging.INFO
            if isinstance(event, _INFO)
            else logging.DEBUG
        )
        if logger.isEnabledFor(level):
            logger.log(level, "%s", event)
        for event_type, handler in self.handlers:
            if isinstance(event, event_type):
                handler(event)
        for handler in self.wiretaps:
            handler(event)
