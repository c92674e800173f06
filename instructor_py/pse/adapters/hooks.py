"""What a framework hook needs of an engine (``StructuringEngine`` is one): the hooks depend on
this protocol, not on the engine class."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

__all__ = ["EngineHooks", "RowState"]


class RowState(Protocol):
    """One batch row's state."""

    def is_terminated(self) -> bool: ...


class EngineHooks(Protocol):
    """Mask a logits row, follow the tokens a framework sampled, and say when it is done."""

    @property
    def state_machine(self) -> object | None: ...

    @property
    def steppers(self) -> Sequence[RowState]: ...

    @property
    def is_terminated(self) -> bool: ...

    def reset(self, hard_reset: bool = False) -> None: ...

    def process_logits(self, input_ids: Any, scores: Any) -> Any: ...

    def sync(self, input_ids: Any, batch: int | None = None) -> None: ...
