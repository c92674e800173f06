"""`CompiledGrammarHandle`: what the orchestrator returns for one compiled constraint.

``handle.matcher`` is a fresh :class:`~instructor_py.engine.matcher.Matcher` (an
:class:`InstrumentedMatcher` that times each mask fill for the statistics and counts accepted
tokens). ``exact`` is False when the orchestrator had to fall back on a relaxed constraint: output
that passes the matcher may still fail the schema, so validation + retry must finish the job.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from instructor_py.constraints.spec import ConstraintSpec
from instructor_py.engine.backends.base import BackendMatcher


class InstrumentedMatcher:
    """Delegates to a backend matcher; records each fill's duration (ns) into ``sink``."""

    __slots__ = ("backend", "inner", "sink")

    def __init__(self, inner: BackendMatcher, backend: str, sink: deque[int]) -> None:
        self.inner = inner
        self.backend = backend
        self.sink = sink

    @property
    def tokens_accepted(self) -> int:
        return self.inner.tokens_accepted

    def fill_next_token_bitmask(self, bitmask: Any, index: int = 0) -> None:
        t0 = time.perf_counter_ns()
        self.inner.fill_next_token_bitmask(bitmask, index)
        self.sink.append(time.perf_counter_ns() - t0)

    def accept_token(self, token_id: int) -> bool:
        return self.inner.accept_token(token_id)

    def accept_tokens(self, token_ids: Sequence[int]) -> bool:
        return self.inner.accept_tokens(token_ids)

    def validate_tokens(self, token_ids: Sequence[int]) -> int:
        return self.inner.validate_tokens(token_ids)

    def is_accepting(self) -> bool:
        return self.inner.is_accepting()

    def is_terminated(self) -> bool:
        return self.inner.is_terminated()

    def rollback(self, num_tokens: int) -> None:
        self.inner.rollback(num_tokens)

    def reset(self) -> None:
        self.inner.reset()

    def compute_ff_tokens(self) -> list[int]:
        return self.inner.compute_ff_tokens()

    def compute_ff_bytes(self) -> bytes:
        """The bytes the grammar forces next (optional on backends: ``b""`` when unknown), less
        trailing spaces and tabs.

        This is what the decode loop jump-forwards. BPE vocabularies put a word's leading space
        in the word's token (``" Jason"``); forcing the space of a literal such as ``"Name: "``
        on its own would split it from the word that follows into a token sequence the model
        never saw, and small models then answer badly (``"Name: 25"``). The space is left to
        the next sampled token, which the mask still constrains.
        """
        fn = getattr(self.inner, "compute_ff_bytes", None)
        return bytes(fn()).rstrip(b" \t") if fn is not None else b""

    def heal(self, token_id: int) -> bool:
        """Leave ``token_id``, the last token of a forced text, to the model (backends that can:
        :meth:`LLGuidanceMatcher.heal <instructor_py.engine.backends.llguidance_backend.LLGuidanceMatcher.heal>`);
        False: the caller forces it."""
        fn = getattr(self.inner, "heal", None)
        return bool(fn(token_id)) if fn is not None else False

    @property
    def healing_token(self) -> int | None:
        """The token a pending heal left to the model (None: no heal pending)."""
        token = getattr(self.inner, "healing_token", None)
        return token if isinstance(token, int) else None

    def segments(self) -> list[tuple[str, str]]:
        """``(label, text)`` of the labeled parts (``[]`` on backends without captures)."""
        fn = getattr(self.inner, "segments", None)
        return list(fn()) if fn is not None else []

    def clone(self) -> InstrumentedMatcher:
        inner = cast(BackendMatcher, self.inner.clone())
        return InstrumentedMatcher(inner, self.backend, self.sink)

    def get_error(self) -> str | None:
        return self.inner.get_error()


@dataclass(frozen=True)
class CompiledGrammarHandle:
    """A compiled constraint with its own fresh matcher.

    The handle is itself a grammar (the seed's grammar protocol): :meth:`accept_token`,
    :meth:`fill_next_token_bitmask`, :meth:`is_terminated`, :meth:`reset` and
    :attr:`tokens_accepted` act on its matcher, as do :meth:`is_accepting` and
    :meth:`segments` (the labeled parts of a composite constraint).

    - ``backend``: the backend that compiled it.
    - ``exact``: False for a relaxed fallback (see ``relaxed_reason``).
    - ``cache_hit``: the grammar came from the orchestrator's cache (no recompilation).
    - ``fallback_reasons``: why earlier backends were skipped or failed, in order.
    - ``compile_ms``: time spent compiling for this handle (0 on a cache hit).
    """

    spec: ConstraintSpec
    matcher: InstrumentedMatcher
    backend: str
    exact: bool = True
    relaxed_reason: str | None = None
    cache_hit: bool = False
    fallback_reasons: tuple[str, ...] = ()
    compile_ms: float = 0.0

    @property
    def tokens_accepted(self) -> int:
        """How many tokens the matcher has accepted (after rollbacks)."""
        return self.matcher.tokens_accepted

    def accept_token(self, token_id: int) -> bool:
        """Advance the matcher by one token; False (no state change) if it is not allowed."""
        return self.matcher.accept_token(token_id)

    def fill_next_token_bitmask(self, bitmask: Any, index: int = 0) -> None:
        """Write the allowed-next-token mask into row ``index`` of ``bitmask``."""
        self.matcher.fill_next_token_bitmask(bitmask, index)

    def is_terminated(self) -> bool:
        return self.matcher.is_terminated()

    def is_accepting(self) -> bool:
        return self.matcher.is_accepting()

    def reset(self) -> None:
        """Back to the initial state (the compiled grammar is kept)."""
        self.matcher.reset()

    def segments(self) -> list[tuple[str, str]]:
        """``(label, text)`` of every labeled part generated so far, in output order."""
        return self.matcher.segments()

    def fresh(self) -> CompiledGrammarHandle:
        """Another handle for the same grammar with a new matcher in its initial state."""
        m = self.matcher.clone()
        m.reset()
        return CompiledGrammarHandle(
            self.spec,
            m,
            self.backend,
            self.exact,
            self.relaxed_reason,
            True,
            self.fallback_reasons,
            0.0,
        )
