"""Inference providers: the protocol (:mod:`.base`), presets (data), the registry, and the drivers
(OpenAI-compatible on the official SDK, Anthropic over httpx). Drivers are imported lazily."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from instructor_py.providers.presets import (
    PRESETS,
    JsonModeStyle,
    JsonSchemaStyle,
    ProviderPreset,
)
from instructor_py.providers.registry import (
    create_provider,
    get_preset,
    preset_names,
    register_preset,
)

if TYPE_CHECKING:
    from instructor_py.providers.anthropic import AnthropicProvider
    from instructor_py.providers.openai import OpenAIProvider

__all__ = [
    "PRESETS",
    "AnthropicProvider",
    "JsonModeStyle",
    "JsonSchemaStyle",
    "OpenAIProvider",
    "ProviderPreset",
    "create_provider",
    "get_preset",
    "preset_names",
    "register_preset",
]


def __getattr__(name: str) -> Any:
    if name == "OpenAIProvider":
        from instructor_py.providers.openai import OpenAIProvider

        return OpenAIProvider
    if name == "AnthropicProvider":
        from instructor_py.providers.anthropic import AnthropicProvider

        return AnthropicProvider
    raise AttributeError(f"module 'instructor_py.providers' has no attribute {name!r}")
