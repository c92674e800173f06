"""The token budget of a call (``with_(token_budget=N)`` / ``with_budget(tokens=N)``).

Before each attempt the run checks that the tokens spent so far (``Usage.total_tokens`` summed over
the attempts made: prompt, cached prompt and output tokens, reasoning included, as the provider
reported them) plus an estimate of the next attempt's prompt stay within the budget; if not, the
call stops with :class:`~instructor_py.common.errors.TokenBudgetExceededError`, which carries every
attempt made. The estimate needs no tokenizer:

- the first attempt: the request's characters / 4 (message texts, the JSON schema and the tool
  definition; a media part counts 1,000 tokens); ``CHARS_PER_TOKEN`` = 4 is the usual figure for
  English with BPE tokenizers, so the estimate is rough (a budget is a stop-loss, not an invoice);
- a retry: the previous attempt's reported prompt tokens plus its output tokens (its answer is now
  part of the prompt) plus the feedback message's characters / 4; when the provider reported no
  prompt tokens, the whole next request's characters / 4.

The answer's own length is not predicted: cap it per attempt with ``with_options(max_tokens=...)``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from instructor_py.common.usage import Usage
from instructor_py.providers.base import InferenceRequest, Message

__all__ = ["CHARS_PER_TOKEN", "MEDIA_TOKENS", "estimate_prompt", "estimate_retry"]

CHARS_PER_TOKEN = 4
MEDIA_TOKENS = 1000


def _tokens(chars: int) -> int:
    return math.ceil(chars / CHARS_PER_TOKEN)


def _content_chars(content: Any) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list | tuple):
        return sum(_content_chars(part) for part in content)
    if isinstance(content, dict):
        text = content.get("text")
        if isinstance(text, str):
            return len(text)
        return MEDIA_TOKENS * CHARS_PER_TOKEN
    return MEDIA_TOKENS * CHARS_PER_TOKEN  # a media object


def _messages_chars(messages: Iterable[Message]) -> int:
    total = 0
    for message in messages:
        total += _content_chars(message.get("content"))
        calls = message.get("tool_calls")
        if calls:
            total += len(json.dumps(calls, default=str))
    return total


def estimate_prompt(request: InferenceRequest) -> int:
    """The prompt tokens of ``request``, estimated (module docstring)."""
    chars = _messages_chars(request.messages) + len(
        json.dumps(request.response_schema, default=str)
    )
    if request.tool is not None:
        chars += len(request.tool.name) + len(request.tool.description)
    return _tokens(chars)


def estimate_retry(
    previous: Usage, previous_request: InferenceRequest, next_request: InferenceRequest
) -> int:
    """The prompt tokens of ``next_request`` (a retry of ``previous_request``, whose attempt
    reported ``previous``), estimated (module docstring)."""
    if previous.input_tokens <= 0:
        return estimate_prompt(next_request)
    added = next_request.messages[len(previous_request.messages) :]
    feedback = [m for m in added if m.get("role") != "assistant"]
    return previous.input_tokens + previous.output_tokens + _tokens(_messages_chars(feedback))
