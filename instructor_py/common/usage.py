"""Token usage, summed over attempts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Usage:
    """``input_tokens`` counts the whole prompt (cached tokens included); ``output_tokens`` the
    answer as billed, including ``reasoning_tokens`` (a thinking model's hidden reasoning:
    Gemini's ``thoughtsTokenCount``, OpenAI's ``reasoning_tokens``) when the provider reports
    them apart; ``cache_read_tokens`` / ``cache_write_tokens`` the prompt tokens read from / written
    to the provider's prompt cache."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )
