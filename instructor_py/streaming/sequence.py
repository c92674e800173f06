"""Sequence tracking: each list item exactly once, validated, as soon as its closing bracket arrives.

What a consumer of ``sequence()`` sees, across retries (the contract documented in
``docs/streaming.md``):

1. While an attempt streams, each completed item of the tracked list is validated on its own
   and yielded at once, in order. An item that fails validation is not yielded, and neither is
   anything after it in that attempt (the attempt will fail and be retried).
2. When a new attempt starts (validation retry, transport retry, a stream cut), items already
   yielded are never yielded again. The new attempt's item ``i`` for an already-yielded index is
   compared with what was yielded (validated values, ``==``): identical items confirm it; from the
   first difference on, the attempt is *diverged* and yields nothing more.
3. When an attempt's final value validates: if it diverged from (or has fewer items than) what was
   yielded, :class:`~instructor_py.common.errors.SequenceContradictionError` is raised, carrying the index
   and the validated final value; otherwise every final item not yet yielded is yielded, in order.
   So, absent a contradiction, the items yielded are exactly the final value's items, each once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from instructor_py.common.errors import SequenceContradictionError

__all__ = ["SequenceTracker"]

T = TypeVar("T")


class SequenceTracker(Generic[T]):
    """Decides which items to yield; ``validate_item`` validates one raw JSON item (raising when
    it is invalid, e.g. pydantic's ``ValidationError``)."""

    def __init__(self, validate_item: Callable[[Any], T]) -> None:
        self._validate = validate_item
        self._yielded: list[T] = []
        self._next = 0  # next index expected from the current attempt
        self._blocked = False  # invalid item or divergence: yield nothing more in this attempt
        self._diverged_at: int | None = None

    @property
    def yielded(self) -> tuple[T, ...]:
        return tuple(self._yielded)

    def new_attempt(self) -> None:
        """A new attempt starts streaming: forget the per-attempt state, keep what was yielded."""
        self._next = 0
        self._blocked = False
        self._diverged_at = None

    def offer(self, index: int, raw: Any) -> T | None:
        """Item ``index`` of the current attempt completed; return it if it is to be yielded."""
        if self._blocked or index != self._next:
            return None
        self._next += 1
        try:
            item = self._validate(raw)
        except Exception:  # any validator failure: the item is not valid (the final says why)
            self._blocked = True
            return None
        if index < len(self._yielded):
            if item != self._yielded[index]:
                self._blocked = True
                self._diverged_at = index
            return None
        self._yielded.append(item)
        return item

    def finish(self, final_items: list[T], value: Any) -> list[T]:
        """The attempt succeeded with ``final_items``; return the items still to yield, or raise
        :class:`SequenceContradictionError` if items already yielded are contradicted."""
        yielded = self._yielded
        index = self._diverged_at
        if index is None:
            for k in range(min(len(yielded), len(final_items))):
                if final_items[k] != yielded[k]:
                    index = k
                    break
        if index is None and len(final_items) < len(yielded):
            index = len(final_items)
        if index is not None:
            raise SequenceContradictionError(
                f"sequence(): item {index} was already yielded from an attempt that then failed "
                f"validation, and the successful retry produced {'a different item' if index < len(final_items) else 'fewer items'}. "
                f"Items 0..{index - 1} are confirmed; discard the ones from index {index} on and "
                "use the error's `value` (the validated final value) instead.",
                index=index,
                value=value,
            )
        rest = final_items[len(yielded) :]
        yielded.extend(rest)
        return rest
