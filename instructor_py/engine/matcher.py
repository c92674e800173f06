"""The matcher protocol (shaped like CBISON's matcher).

A matcher tracks one constrained generation. Bitmask layout (shared with llguidance, xgrammar and
CBISON): a numpy int32 array ``[batch, ceil(vocab/32)]``; bit ``i`` of word ``w`` allows token
``32*w + i``. Bits past the tokenizer's vocabulary are always 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Matcher(Protocol):
    def fill_next_token_bitmask(self, bitmask: Any, index: int = 0) -> None:
        """Write the allowed-next-token mask into row ``index`` of ``bitmask``."""
        ...

    def accept_token(self, token_id: int) -> bool:
        """Advance by one token; False (and no state change) if the token is not allowed."""
        ...

    def accept_tokens(self, token_ids: Sequence[int]) -> bool:
        """Advance by several tokens; False at the first one not allowed (the ones before stay)."""
        ...

    def validate_tokens(self, token_ids: Sequence[int]) -> int:
        """How many of ``token_ids`` (a prefix) would be accepted, without changing state."""
        ...

    def is_accepting(self) -> bool:
        """The output so far is a complete match (an end-of-sequence token may come next)."""
        ...

    def is_terminated(self) -> bool:
        """Nothing more may be generated (accepted an EOS, or the grammar is complete and closed)."""
        ...

    def rollback(self, num_tokens: int) -> None: ...

    def reset(self) -> None: ...

    def compute_ff_tokens(self) -> list[int]:
        """Tokens forced by the grammar from here (may be empty); not yet accepted."""
        ...

    def clone(self) -> Matcher: ...

    def get_error(self) -> str | None:
        """The matcher's error, if it entered an error state."""
        ...
