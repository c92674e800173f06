"""The batch driver of a preset's API family (the one place that knows every batch driver)."""

from __future__ import annotations

from instructor_py.common.errors import ConfigurationError
from instructor_py.providers.anthropic_batch import AnthropicBatchDriver
from instructor_py.providers.batch import BatchDriver
from instructor_py.providers.openai_batch import OpenAIBatchDriver
from instructor_py.providers.presets import ProviderPreset

__all__ = ["create_batch_driver"]


def create_batch_driver(
    preset: ProviderPreset,
    *,
    api_key: str | None,
    base_url: str,
    timeout: float = 60.0,
) -> BatchDriver:
    """The batch driver of ``preset``'s API family (``openai`` or ``anthropic``)."""
    if preset.driver == "openai":
        return OpenAIBatchDriver(preset, api_key=api_key, base_url=base_url, timeout=timeout)
    if preset.driver == "anthropic":
        return AnthropicBatchDriver(preset, api_key=api_key, base_url=base_url, timeout=timeout)
    raise ConfigurationError(
        f"The {preset.name!r} provider has no batch API instructor_py can drive (OpenAI's Batches "
        "API and Anthropic's Message Batches are supported); use batch() for live calls."
    )
