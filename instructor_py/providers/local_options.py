"""The local provider's option names and checks: which ``using("local", ...)`` keys configure
the model, which the provider, and the clear errors for a bad value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from instructor_py.common.errors import ConfigurationError

__all__ = [
    "DEFAULT_RETRY_REPEAT_PENALTY",
    "DEFAULT_RETRY_TEMPERATURE",
    "MODEL_KEYS",
    "PROVIDER_KEYS",
    "REMOTE_KEYS",
    "int_option",
    "number_option",
]

DEFAULT_RETRY_TEMPERATURE = 0.7
DEFAULT_RETRY_REPEAT_PENALTY = 1.3

PROVIDER_KEYS = (
    "fast_forward",
    "sample_first",
    "max_tokens",
    "strict_objects",
    "mode",
    "jump_forward",
    "stop_repetition",
    "retry_temperature",
    "retry_repeat_penalty",
    "json_whitespace",
    "required_first",
    "prompt_lookup",
    "draft_tokens",
    "score_choices",
    "resume_loops",
    "score_optional",
    "mention_keys",
    "ground_values",
)
MODEL_KEYS = (
    "model_path",
    "n_ctx",
    "n_threads",
    "n_threads_batch",
    "n_batch",
    "chat_template",
    "n_parallel",
    "n_ctx_parallel",
)
REMOTE_KEYS = ("api_key", "base_url", "organization", "timeout", "headers")


def number_option(options: Mapping[str, Any], name: str, default: float) -> float:
    """``options[name]`` (or ``default``) as a number >= 0, or a clear error."""
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigurationError(f"option {name!r} must be a number >= 0, got {value!r}")
    return float(value)


def int_option(options: Mapping[str, Any], name: str, default: int) -> int:
    """``options[name]`` (or ``default`` when unset) as a positive int, or a clear error."""
    value = options.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"option {name!r} must be a positive int, got {value!r}")
    return value
