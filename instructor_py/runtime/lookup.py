"""Prompt-lookup drafting: guess the next tokens of an answer by finding where it copies the prompt.

Extraction answers copy spans of the prompt (a name, an address, a quoted phrase, a tool
argument). :class:`PromptLookup` finds the longest tail of the output text that also occurs in the
prompt text (at least ``min_chars`` characters, ``min_alnum`` of them letters or digits, so a bare
``": "`` does not match) and drafts the tokens of the text that follows it there.

The lookup works on **text**, not token ids: a BPE tokenizer spells a word differently after a
quote than after a space (``"Jason`` vs `` Jason``), so the answer's tokens rarely repeat the
prompt's; its text does. The continuation is tokenized by the model's tokenizer, its last token
(probably a cut word) dropped.

The decode loop checks every draft (the grammar's ``validate_tokens`` first, then the model's own
choice at each position): a draft only saves forward passes, it never changes the output.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["PromptLookup"]

DEFAULT_DRAFT_TOKENS = 6


class PromptLookup:
    """Drafts for one generation after ``prompt_text``. ``tokenize`` turns output text into
    token ids (the model's ``tokenize_bytes``)."""

    __slots__ = ("_prompt", "_tokenize", "max_chars", "max_tokens", "min_alnum", "min_chars")

    def __init__(
        self,
        prompt_text: str,
        tokenize: Callable[[bytes], list[int]],
        *,
        max_tokens: int = DEFAULT_DRAFT_TOKENS,
        min_chars: int = 3,
        min_alnum: int = 3,
        max_chars: int = 64,
    ) -> None:
        self._prompt = prompt_text
        self._tokenize = tokenize
        self.max_tokens = max_tokens
        self.min_chars = min_chars
        self.min_alnum = min_alnum
        self.max_chars = max_chars

    def match(self, text: str) -> int:
        """Where the continuation of the longest tail of ``text`` found in the prompt starts (the
        latest occurrence), or -1."""
        prompt = self._prompt
        n = self.min_chars
        if len(text) < n:
            return -1
        tail = text[-n:]
        if sum(c.isalnum() for c in tail) < self.min_alnum:
            # grow the tail until it holds enough letters/digits (or give up at max_chars)
            while n < min(len(text), self.max_chars):
                n += 1
                tail = text[-n:]
                if sum(c.isalnum() for c in tail) >= self.min_alnum:
                    break
            else:
                return -1
        at = prompt.rfind(tail)
        if at < 0:
            return -1
        end = at + n
        # extend the match while the longer tail still occurs (doubling, then settle)
        while n < min(len(text), self.max_chars):
            longer = min(len(text), self.max_chars, n * 2)
            found = prompt.rfind(text[-longer:])
            if found < 0:
                break
            n, end = longer, found + longer
        return end

    def propose(self, text: str, limit: int) -> list[int]:
        """Up to ``min(limit, max_tokens)`` drafted tokens to follow ``text``; ``[]`` when its tail
        is not in the prompt."""
        limit = min(limit, self.max_tokens)
        if limit <= 0:
            return []
        end = self.match(text)
        if end < 0 or end >= len(self._prompt):
            return []
        follow = self._prompt[end : end + 6 * (limit + 1)]
        cut = follow.find("<|")  # a chat template's special token closes the copied span
        if cut >= 0:
            follow = follow[:cut]
        if not follow:
            return []
        tokens = self._tokenize(follow.encode("utf-8"))
        if end + len(follow) < len(self._prompt) and len(tokens) > 1:
            tokens = tokens[:-1]  # the continuation was cut, probably inside a word
        return tokens[:limit]
