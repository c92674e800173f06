"""`EngineStepper`: one sequence's state inside `StructuringEngine` (PSE calls it a Stepper).

It holds the sequence's matcher (through its compiled handle), every token id emitted after the
prompt, and the bytes of the tokens the structure consumed (control and end-of-sequence tokens
are not part of the output text). ``clone()`` copies all of it, so a caller can save a state and
put it back later through ``engine.steppers``.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Sequence
from dataclasses import replace

from instructor_py.engine.handle import CompiledGrammarHandle, InstrumentedMatcher

__all__ = ["EngineStepper"]


class EngineStepper:
    """The state of one row: matcher, emitted token ids, output bytes, finished flag.

    ``start`` is the length of the row's ``input_ids`` when the engine first saw them (the prompt),
    and ``anchor`` the prompt's last token: together they tell the engine which later input ids
    are new and whether a call belongs to another generation. ``visible`` maps a token id to the
    bytes it adds to the output (``b""`` for control and end-of-sequence tokens); the output is
    rendered from the token ids when it is read, so a step only records the id.
    """

    __slots__ = (
        "_data", "_rendered", "anchor", "consume", "finished", "handle", "inner", "start",
        "token_ids", "visible",
    )  # fmt: skip

    def __init__(self, handle: CompiledGrammarHandle, visible: Sequence[bytes]) -> None:
        self.handle = handle
        inner = handle.matcher.inner
        self.inner = inner  # the backend matcher (the per-token calls skip the instrumentation)
        # advance by a token the row's fresh mask allows (llguidance: without a trial consume)
        self.consume: Callable[[int], bool] = getattr(inner, "consume_allowed", inner.accept_token)
        self.visible = visible
        self.token_ids: list[int] = []
        self._data = bytearray()
        self._rendered = 0  # how many of token_ids _data holds
        self.finished = False
        self.start: int | None = None
        self.anchor: int | None = None

    @property
    def matcher(self) -> InstrumentedMatcher:
        return self.handle.matcher

    def push(self, token_id: int) -> None:
        self.token_ids.append(token_id)

    @property
    def output_bytes(self) -> bytes:
        return bytes(self._render())

    def _render(self) -> bytearray:
        ids = self.token_ids
        done = self._rendered
        if done != len(ids):
            if done > len(ids):  # the ids were cut back: render again
                self._data = bytearray()
                done = 0
            visible = self.visible
            self._data += b"".join([visible[t] for t in ids[done:]])
            self._rendered = len(ids)
        return self._data

    @property
    def text(self) -> str:
        """The output so far (an incomplete UTF-8 tail shows as U+FFFD)."""
        return self._render().decode("utf-8", errors="replace")

    @property
    def safe_text(self) -> str:
        """The output so far without an incomplete UTF-8 tail (for live display)."""
        return codecs.getincrementaldecoder("utf-8")("replace").decode(bytes(self._render()), False)

    def is_accepting(self) -> bool:
        """The output is a complete match of the structure."""
        return self.matcher.is_accepting()

    def is_terminated(self) -> bool:
        """Nothing more will be generated: the structure is closed, or an EOS was emitted."""
        return self.finished or self.matcher.is_terminated()

    def clone(self) -> EngineStepper:
        out = EngineStepper(replace(self.handle, matcher=self.matcher.clone()), self.visible)
        out.token_ids = list(self.token_ids)
        out.finished = self.finished
        out.start = self.start
        out.anchor = self.anchor
        return out

    def __repr__(self) -> str:
        head = self.text
        head = head if len(head) <= 40 else head[:37] + "..."
        state = "finished" if self.finished else "accepting" if self.is_accepting() else "open"
        return f"EngineStepper({len(self.token_ids)} tokens, {state}, {head!r})"
