"""`EngineStepper`: one sequence's state inside `StructuringEngine` (PSE calls it a Stepper).

It holds the sequence's matcher (through its compiled handle), every token id emitted after the
prompt, and the bytes of the tokens the structure consumed (control and end-of-sequence tokens
are not part of the output text). ``clone()`` copies all of it, so a caller can save a state and
put it back later through ``engine.steppers``.
"""

from __future__ import annotations

import codecs
from dataclasses import replace

from instructor_py.local.handle import CompiledGrammarHandle, InstrumentedMatcher

__all__ = ["EngineStepper"]


class EngineStepper:
    """The state of one row: matcher, emitted token ids, output bytes, finished flag.

    ``start`` is the length of the row's ``input_ids`` when the engine first saw them (the prompt),
    and ``anchor`` the prompt's last token: together they tell the engine which later input ids
    are new and whether a call belongs to another generation.
    """

    __slots__ = ("_data", "anchor", "finished", "handle", "start", "token_ids")

    def __init__(self, handle: CompiledGrammarHandle) -> None:
        self.handle = handle
        self.token_ids: list[int] = []
        self._data = bytearray()
        self.finished = False
        self.start: int | None = None
        self.anchor: int | None = None

    @property
    def matcher(self) -> InstrumentedMatcher:
        return self.handle.matcher

    def push(self, token_id: int, data: bytes) -> None:
        self.token_ids.append(token_id)
        if data:
            self._data += data

    @property
    def output_bytes(self) -> bytes:
        return bytes(self._data)

    @property
    def text(self) -> str:
        """The output so far (an incomplete UTF-8 tail shows as U+FFFD)."""
        return self._data.decode("utf-8", errors="replace")

    @property
    def safe_text(self) -> str:
        """The output so far without an incomplete UTF-8 tail (for live display)."""
        return codecs.getincrementaldecoder("utf-8")("replace").decode(bytes(self._data), False)

    def is_accepting(self) -> bool:
        """The output is a complete match of the structure."""
        return self.matcher.is_accepting()

    def is_terminated(self) -> bool:
        """Nothing more will be generated: the structure is closed, or an EOS was emitted."""
        return self.finished or self.matcher.is_terminated()

    def clone(self) -> EngineStepper:
        out = EngineStepper(replace(self.handle, matcher=self.matcher.clone()))
        out.token_ids = list(self.token_ids)
        out._data = bytearray(self._data)
        out.finished = self.finished
        out.start = self.start
        out.anchor = self.anchor
        return out

    def __repr__(self) -> str:
        head = self.text
        head = head if len(head) <= 40 else head[:37] + "..."
        state = "finished" if self.finished else "accepting" if self.is_accepting() else "open"
        return f"EngineStepper({len(self.token_ids)} tokens, {state}, {head!r})"
