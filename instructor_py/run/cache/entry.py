"""What the response cache keeps of a validated call: the answer text the value was built from,
the usage and attempts of the original call, and the provider's response as JSON (when it has a
JSON form). Not the value itself: a hit builds the value again from the text through the call's
own pipeline (so a hit is validated like a live answer, and transformers and ``into(...)`` apply
as for a live call)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from instructor_py.common.attempts import Attempt
from instructor_py.common.errors import CacheError
from instructor_py.common.usage import Usage

__all__ = ["CacheEntry"]

_FORMAT = 1


@dataclass(frozen=True, slots=True)
class CacheEntry:
    raw_text: str
    usage: Usage
    attempts: tuple[Attempt, ...]
    raw_response: Any = None
    created_at: float = field(default_factory=time.time)

    def to_bytes(self) -> bytes:
        record = {
            "format": _FORMAT,
            "raw_text": self.raw_text,
            "usage": _usage_record(self.usage),
            "attempts": [
                {
                    "index": a.index,
                    "content": a.content,
                    "errors": list(a.errors),
                    "stage": a.stage,
                    "usage": _usage_record(a.usage),
                }
                for a in self.attempts
            ],
            "raw_response": self.raw_response,
            "created_at": self.created_at,
        }
        return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> CacheEntry:
        """Raises :class:`CacheError` for anything that is not an entry of this format."""
        try:
            record = json.loads(data)
            if record.get("format") != _FORMAT:
                raise ValueError(f"unknown entry format {record.get('format')!r}")
            attempts = tuple(
                Attempt(
                    int(a["index"]),
                    str(a["content"]),
                    errors=tuple(str(e) for e in a["errors"]),
                    stage=None if a["stage"] is None else str(a["stage"]),
                    usage=_usage(a["usage"]),
                )
                for a in record["attempts"]
            )
            return cls(
                raw_text=str(record["raw_text"]),
                usage=_usage(record["usage"]),
                attempts=attempts,
                raw_response=record.get("raw_response"),
                created_at=float(record["created_at"]),
            )
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise CacheError(
                f"a cache entry is corrupt ({type(error).__name__}: {error})"
            ) from None

    @property
    def size(self) -> int:
        return len(self.to_bytes())


def _usage_record(usage: Usage) -> dict[str, int]:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
    }


def _usage(record: Any) -> Usage:
    return Usage(**{name: int(value) for name, value in dict(record).items()})
