"""Token usage, summed over attempts.

``input_tokens`` counts every prompt token, cached ones included (OpenAI's ``prompt_tokens``;
Anthropic's ``input_tokens + cache_read_input_tokens + cache_creation_input_tokens``);
``cache_read_tokens`` / ``cache_write_tokens`` say how many of them were read from / written to the
provider's prompt cache. ``output_tokens`` counts every generated token, reasoning included
(OpenAI's ``completion_tokens``); ``reasoning_tokens`` says how many of them were reasoning
(``completion_tokens_details.reasoning_tokens``). So ``total_tokens`` is what a call spent, and
the detail fields never add to it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Usage:
    """See the module docstring. Gemini: ``output_tokens`` is ``candidatesTokenCount +
    thoughtsTokenCount`` and ``reasoning_tokens`` the thoughts; Bedrock reports no reasoning."""

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
