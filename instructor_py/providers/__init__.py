"""Inference providers: the protocol (:mod:`.base`), presets (data), the registry, and the drivers
(OpenAI-compatible and Azure OpenAI on the official SDK, Anthropic and Gemini / Vertex AI over
httpx, Amazon Bedrock on boto3). Drivers are imported lazily."""

from __future__ import annotations

import importlib
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
    from instructor_py.providers.azure import AzureOpenAIProvider
    from instructor_py.providers.bedrock import BedrockProvider
    from instructor_py.providers.gemini import GeminiProvider
    from instructor_py.providers.openai import OpenAIProvider
    from instructor_py.providers.vertex import VertexProvider

__all__ = [
    "PRESETS",
    "AnthropicProvider",
    "AzureOpenAIProvider",
    "BedrockProvider",
    "GeminiProvider",
    "JsonModeStyle",
    "JsonSchemaStyle",
    "OpenAIProvider",
    "ProviderPreset",
    "VertexProvider",
    "create_provider",
    "get_preset",
    "preset_names",
    "register_preset",
]

_LAZY = {
    "OpenAIProvider": "openai",
    "AnthropicProvider": "anthropic",
    "AzureOpenAIProvider": "azure",
    "GeminiProvider": "gemini",
    "VertexProvider": "vertex",
    "BedrockProvider": "bedrock",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'instructor_py.providers' has no attribute {name!r}")
    return getattr(importlib.import_module(f"instructor_py.providers.{module}"), name)
