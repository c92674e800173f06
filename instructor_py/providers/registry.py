"""``create_provider(preset, **overrides)``: from a preset name (data) to a ready driver.

The API key comes from ``api_key=`` or the preset's environment variable; the base URL from
``base_url=``, the preset's base-URL environment variable, or the preset. The preset ``"local"``
resolves lazily to the embedded llama.cpp model (``instructor_py.providers.local``).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from typing import Any, cast

from instructor_py.common.errors import ConfigurationError, InvalidArgumentError, MissingAPIKeyError
from instructor_py.common.modes import parse_mode
from instructor_py.providers.base import InferenceProvider
from instructor_py.providers.presets import PRESETS, ProviderPreset

LOCAL = "local"
_COMMON = frozenset({"api_key", "base_url", "model", "timeout", "mode", "headers"})
_DRIVER_EXTRAS = {
    "openai": frozenset({"client", "async_client"}),
    "anthropic": frozenset({"api_version"}),
    "azure": frozenset(
        {"endpoint", "deployment", "api_version", "azure_ad_token_provider", "client", "async_client"}
    ),
    "gemini": frozenset(),
    "vertex": frozenset({"project", "location", "token_provider", "access_token"}),
    "bedrock": frozenset(
        {
            "region", "profile_name", "aws_access_key_id", "aws_secret_access_key",
            "aws_session_token", "client",
        }
    ),
}
_DRIVERS = {
    "openai": ("instructor_py.providers.openai", "OpenAIProvider"),
    "anthropic": ("instructor_py.providers.anthropic", "AnthropicProvider"),
    "azure": ("instructor_py.providers.azure", "AzureOpenAIProvider"),
    "gemini": ("instructor_py.providers.gemini", "GeminiProvider"),
    "vertex": ("instructor_py.providers.vertex", "VertexProvider"),
    "bedrock": ("instructor_py.providers.bedrock", "BedrockProvider"),
}
"""Driver name -> (module, class), imported on first use (boto3 only when Bedrock is used)."""


def preset_names() -> list[str]:
    return sorted([*PRESETS, LOCAL])


def register_preset(preset: ProviderPreset) -> None:
    """Add (or replace) a preset, e.g. for an in-house OpenAI-compatible gateway."""
    if preset.driver not in _DRIVER_EXTRAS:
        raise ConfigurationError(
            f"Preset {preset.name!r} names driver {preset.driver!r}; use one of "
            f"{', '.join(sorted(_DRIVER_EXTRAS))}."
        )
    PRESETS[preset.name] = preset


def split_model_string(name: str) -> tuple[str, str | None]:
    """``"openai/gpt-4.1-mini"`` -> ``("openai", "gpt-4.1-mini")``: a known preset name, then
    ``/`` and the model (which may itself hold ``/``: ``"openrouter/openai/gpt-4o"``,
    ``"local/models/x.gguf"``). A name that is a preset as it is has no model part. An unknown
    prefix is a :class:`ConfigurationError` listing the known ones."""
    if name in PRESETS or name == LOCAL or "/" not in name:
        return name, None
    prefix, _, model = name.partition("/")
    if prefix not in PRESETS and prefix != LOCAL:
        raise ConfigurationError(
            f"Unknown provider prefix {prefix!r} in {name!r}. A provider/model string starts "
            f"with one of: {', '.join(preset_names())} (e.g. 'openai/gpt-4.1-mini', "
            "'bedrock/anthropic.claude-3-5-haiku-20241022-v1:0', 'local/models/x.gguf')."
        )
    if not model:
        raise ConfigurationError(
            f"{name!r} names the provider {prefix!r} but no model after the '/'; write "
            f"'{prefix}/MODEL' or just {prefix!r} for its default model."
        )
    return prefix, model


def resolve_preset_and_model(name: str, overrides: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The preset name and the overrides (with ``model`` from a provider/model string). A model
    in the string and a different ``model=`` override is an error (which one is meant?)."""
    preset, model = split_model_string(name)
    options = dict(overrides)
    if model is not None:
        given = options.get("model")
        if given is not None and given != model:
            raise ConfigurationError(
                f"using({name!r}, model={given!r}) names two models; put the model either in "
                f"the string or in model=..., not both."
            )
        options["model"] = model
    return preset, options


def get_preset(name: str) -> ProviderPreset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigurationError(
            f"Unknown provider preset {name!r}. Known presets: {', '.join(preset_names())}. "
            "For another OpenAI-compatible server use using('openai', base_url='http://...')."
        ) from None


def _local(overrides: Mapping[str, Any]) -> InferenceProvider:
    try:
        module = importlib.import_module("instructor_py.providers.local")
    except ImportError as err:
        raise ConfigurationError(
            "The 'local' preset needs the embedded-model extra: pip install 'instructor_py[local]' "
            f"(import failed: {err.name or err})."
        ) from None
    return cast(InferenceProvider, module.LocalProvider.from_options(**overrides))


def _check_common(preset: str, options: Mapping[str, Any]) -> None:
    """Types of the common overrides, checked before any driver sees them (the message names
    the override, never its value: it may be a key)."""
    for name in ("api_key", "base_url", "model"):
        value = options.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidArgumentError(
                f"using({preset!r}, {name}=...) must be a str, got {type(value).__name__}"
            )
    timeout = options.get("timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
    ):
        shown = repr(timeout) if isinstance(timeout, int | float) else type(timeout).__name__
        raise InvalidArgumentError(
            f"using({preset!r}, timeout=...) must be a number of seconds > 0, got {shown}"
        )
    headers = options.get("headers")
    if headers is not None and not (
        isinstance(headers, Mapping)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
    ):
        raise InvalidArgumentError(
            f"using({preset!r}, headers=...) must be a mapping of str to str, got "
            f"{type(headers).__name__}"
        )


def api_key_for(preset: ProviderPreset, api_key: str | None) -> str | None:
    """The explicit key, else the preset's environment variable; a missing required key is a
    :class:`MissingAPIKeyError` naming the variable (the key itself is never shown)."""
    if api_key:
        return api_key
    key = os.environ.get(preset.api_key_env) if preset.api_key_env else None
    if key:
        return key
    if preset.requires_api_key:
        variable = preset.api_key_env or "the provider's API key variable"
        raise MissingAPIKeyError(
            f"No API key for the {preset.name!r} provider. Set the environment variable "
            f"{variable} (export {variable}=...) or pass using({preset.name!r}, api_key=...).",
            provider=preset.name,
        )
    return None


def create_provider(preset: str | ProviderPreset, **overrides: Any) -> InferenceProvider:
    """A driver for ``preset`` (a preset name, a ``"preset/model"`` string, or a
    :class:`ProviderPreset`). Overrides: ``api_key``, ``base_url``, ``model``, ``timeout``
    (seconds), ``mode`` (default :class:`OutputMode`), ``headers``; and per driver (see
    ``_DRIVER_EXTRAS``): OpenAI-compatible ``client`` / ``async_client`` (pre-built SDK clients);
    anthropic ``api_version``; azure ``endpoint``, ``deployment``, ``api_version``,
    ``azure_ad_token_provider``; vertex ``project``, ``location``, ``token_provider``,
    ``access_token``; bedrock ``region``, ``profile_name``, AWS keys, ``client``."""
    if isinstance(preset, str):
        preset, overrides = resolve_preset_and_model(preset, overrides)
        if preset == LOCAL:
            return _local(overrides)
    spec = preset if isinstance(preset, ProviderPreset) else get_preset(preset)
    allowed = _COMMON | _DRIVER_EXTRAS.get(spec.driver, frozenset())
    unknown = sorted(set(overrides) - allowed)
    if unknown:
        raise ConfigurationError(
            f"Unknown option(s) {', '.join(unknown)} for the {spec.name!r} provider; accepted: "
            f"{', '.join(sorted(allowed))}."
        )
    options = dict(overrides)
    _check_common(spec.name, options)
    options["api_key"] = api_key_for(spec, options.get("api_key"))
    env_url = os.environ.get(spec.base_url_env) if spec.base_url_env else None
    options["base_url"] = options.get("base_url") or env_url or spec.base_url
    mode = options.get("mode")
    if mode is not None:
        options["mode"] = parse_mode(mode, f"using({spec.name!r}, mode=...)")
    if options.get("timeout") is None:
        options.pop("timeout", None)
    module_name, class_name = _DRIVERS[spec.driver]
    driver = getattr(importlib.import_module(module_name), class_name)
    return cast(InferenceProvider, driver(spec, **options))
