"""`BatchProcessor`: one bitmask ``[batch, ceil(vocab/32)]`` for many constrained sequences.

Each row has its own matcher (or none: an unconstrained row allows every token of the
vocabulary). :meth:`BatchProcessor.fill_bitmask` fills all rows in one call: the rows are grouped by
backend and each backend fills its group at once (llguidance in parallel native threads through
``LLExecutor``, which runs without the GIL).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence

from instructor_py.common.errors import ConfigurationError
from instructor_py.constraints.spec import ConstraintSpec
from instructor_py.engine.backends.base import BackendMatcher
from instructor_py.engine.bitmask import Bitmask, allocate_bitmask, set_all_allowed, set_token_bits
from instructor_py.engine.handle import CompiledGrammarHandle
from instructor_py.engine.orchestrator import StructuredOutputOrchestrator


class BatchProcessor:
    """Constraints for ``batch_size`` sequences sharing one bitmask.

    ``vocab_size`` is the logits width (defaults to the tokenizer's); bits past the tokenizer's
    vocabulary stay 0.
    """

    def __init__(
        self,
        orchestrator: StructuredOutputOrchestrator,
        batch_size: int,
        vocab_size: int | None = None,
    ) -> None:
        info = orchestrator.tokenizer_info
        width = info.logits_width if vocab_size is None else vocab_size
        if width < info.vocab_size:
            raise ConfigurationError(
                f"BatchProcessor: vocab_size {width} is smaller than the tokenizer's vocabulary "
                f"({info.vocab_size}); pass the logits width."
            )
        self._orch = orchestrator
        self._vocab = info.vocab_size
        self._eos = list(info.eos_token_ids)
        self.batch_size = batch_size
        self.bitmask: Bitmask = allocate_bitmask(batch_size, width)
        self._handles: list[CompiledGrammarHandle | None] = [None] * batch_size
        self._done: list[bool] = [False] * batch_size

    def _row(self, i: int) -> int:
        if not 0 <= i < self.batch_size:
            raise ConfigurationError(f"batch index {i} out of range [0, {self.batch_size}).")
        return i

    def set_constraint(
        self, i: int, spec: ConstraintSpec | CompiledGrammarHandle | None
    ) -> CompiledGrammarHandle | None:
        """Constrain row ``i`` (compiling ``spec`` through the orchestrator); None clears it."""
        self._row(i)
        handle = self._orch.compile(spec) if isinstance(spec, ConstraintSpec) else spec
        self._handles[i] = handle
        self._done[i] = False
        return handle

    def handle(self, i: int) -> CompiledGrammarHandle | None:
        return self._handles[self._row(i)]

    def fill_bitmask(self, rows: Sequence[int] | None = None) -> Bitmask:
        """Fill every row (or only ``rows``) for the next step and return the bitmask.

        A terminated row allows only the end-of-sequence tokens, so a sampler always has a choice.
        """
        groups: dict[str, list[tuple[BackendMatcher, int]]] = {}
        sinks: dict[str, deque[int]] = {}
        for i in range(self.batch_size) if rows is None else map(self._row, rows):
            h = self._handles[i]
            if h is None:
                set_all_allowed(self.bitmask[i], self._vocab)
            elif self._done[i]:
                self.bitmask[i] = 0
                set_token_bits(self.bitmask[i], self._eos)
            else:
                groups.setdefault(h.backend, []).append((h.matcher.inner, i))
                sinks[h.backend] = h.matcher.sink
        for name, items in groups.items():
            t0 = time.perf_counter_ns()
            self._orch.get_backend(name).fill_bitmask_batch(items, self.bitmask)
            per_row = (time.perf_counter_ns() - t0) // len(items)
            sinks[name].extend([per_row] * len(items))
        return self.bitmask

    def accept_tokens(self, token_ids: Sequence[int | None]) -> list[bool]:
        """Feed one sampled token per row (None skips a row); False where a row refused it."""
        if len(token_ids) != self.batch_size:
            raise ConfigurationError(
                f"accept_tokens: expected {self.batch_size} token ids, got {len(token_ids)}."
            )
        results: list[bool] = []
        for i, (h, t) in enumerate(zip(self._handles, token_ids, strict=True)):
            if t is None or h is None:
                results.append(True)
                continue
            if self._done[i]:
                results.append(t in self._eos)
                continue
            ok = h.matcher.accept_token(t)
            results.append(ok)
            if ok and h.matcher.is_terminated():
                self._done[i] = True
        return results

    def get_terminated_indices(self) -> list[int]:
        """Rows whose constraint is complete and closed (or that accepted an EOS)."""
        return [
            i
            for i, h in enumerate(self._handles)
            if h is not None and (self._done[i] or h.matcher.is_terminated())
        ]

    def reset(self) -> None:
        """Every matcher back to its initial state (constraints kept)."""
        for i, h in enumerate(self._handles):
            if h is not None:
                h.matcher.reset()
            self._done[i] = False
