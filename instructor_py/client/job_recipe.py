"""What a batch job keeps of its builder, as JSON, so that another process can read its results:
the call's parts that are data (messages, system, model, options, mode, retry settings...), the
response model (its JSON schema, and the import path of a pydantic class so that the values come
back as instances of it), and the provider's configuration -- never its key, which is read from
the preset's environment variable again (or ``api_key=``).

Parts that are code or objects (validators, transformers, an output conversion, examples, a
template, a custom pipeline, a media policy, a transport retry policy) cannot be stored: a job that had them is resumed with ``builder=`` (the same
builder), and says so when it is not.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
from collections.abc import Mapping
from enum import Enum
from typing import Any

from instructor_py.client.provider_source import ProviderSource, default_source
from instructor_py.common.errors import BatchJobError, ConfigurationError, InvalidArgumentError
from instructor_py.common.modes import OutputMode
from instructor_py.pipeline.pipeline import ResponsePipeline
from instructor_py.providers.base import InferenceProvider
from instructor_py.providers.presets import JsonModeStyle, JsonSchemaStyle, ProviderPreset
from instructor_py.providers.registry import api_key_for, get_preset
from instructor_py.response_models.base import ResponseModel
from instructor_py.run.call_spec import CallSpec
from instructor_py.run.transport import TransportRetryPolicy

__all__ = ["ProviderConfig", "jsonable_rows", "provider_config", "recipe_of", "spec_of"]

_DATA_PARTS = (
    "system",
    "prompt",
    "model",
    "options",
    "max_retries",
    "retry_prompt",
    "retry_options",
    "tool_name",
    "tool_description",
    "thinking",
    "check_stream",
    "token_budget",
    "schema_prompt",
    "retry_feedback",
)
_CODE_PARTS = ("validators", "transformers", "output", "examples", "template")


# -- the call --------------------------------------------------------------------------------


def recipe_of(spec: CallSpec, *, repair: bool) -> dict[str, Any]:
    """The JSON-able recipe of ``spec`` (raises when a data part is not JSON)."""
    model = spec.response_model
    if model is None:
        raise ConfigurationError(
            "submit_batch() needs a response model: with_(response_model=YourModel) first"
        )
    parts: dict[str, Any] = {"messages": [dict(m) for m in spec.messages]}
    for name in _DATA_PARTS:
        value = getattr(spec, name)
        parts[name] = dict(value) if isinstance(value, Mapping) else value
    parts["mode"] = spec.mode.value if spec.mode is not None else None
    code = [name for name in _CODE_PARTS if getattr(spec, name)]
    if spec.pipeline != ResponsePipeline():
        code.append("pipeline")
    if spec.media_policy is not None:
        code.append("a media policy")
    if spec.transport_policy != TransportRetryPolicy():
        code.append("a transport retry policy")
    recipe = {
        "response_model": {
            "name": model.name,
            "schema": dict(model.json_schema),
            "import": _import_path(model),
        },
        "parts": parts,
        "code_parts": code,
        "repair": repair,
    }
    try:
        json.dumps(recipe)
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(
            f"submit_batch(): the call's parts must be JSON data to be kept for resume ({err}); "
            "pass options and messages as plain dicts, lists, strings and numbers"
        ) from None
    return recipe


def _import_path(model: ResponseModel) -> str | None:
    cls = getattr(model, "model", None)
    if not isinstance(cls, type):
        return None
    module, name = cls.__module__, cls.__qualname__
    if module == "__main__" or "<locals>" in name:
        return None
    return f"{module}:{name}"


def spec_of(recipe: Mapping[str, Any], builder_spec: CallSpec | None = None) -> CallSpec:
    """The call spec to read a job's results with: ``builder_spec`` when given (its response
    model's schema must be the job's), else the one rebuilt from the recipe."""
    stored = recipe["response_model"]
    if builder_spec is not None:
        model = builder_spec.response_model
        if model is None or dict(model.json_schema) != stored["schema"]:
            raise ConfigurationError(
                f"resume(builder=...): the builder's response model is not the job's "
                f"({stored['name']!r}); pass the builder the job was submitted with"
            )
        return builder_spec
    code = recipe.get("code_parts") or []
    if code:
        raise ConfigurationError(
            f"this batch job's builder had {', '.join(code)}, which cannot be stored; resume it "
            "with BatchJob.resume(job_id, builder=<the same builder>)"
        )
    parts = {k: v for k, v in dict(recipe["parts"]).items() if v not in (None, [], {})}
    return CallSpec().with_(response_model=_response_model(stored), **parts)


def _response_model(stored: Mapping[str, Any]) -> Any:
    path = stored.get("import")
    if path:
        module_name, _, qualname = str(path).partition(":")
        try:
            obj: Any = importlib.import_module(module_name)
            for part in qualname.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError):
            obj = None
        schema = getattr(obj, "model_json_schema", None)
        if callable(schema) and schema() == stored["schema"]:
            return obj
    return dict(stored["schema"])


# -- the provider -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class ProviderConfig:
    """Where a job's batches go: the preset (stored whole, so a registered preset resumes
    anywhere), base URL, model, mode and timeout. ``api_key`` is held in memory only."""

    preset: ProviderPreset
    base_url: str
    model: str | None = None
    mode: str | None = None
    timeout: float = 60.0
    api_key: str | None = dataclasses.field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "preset": _preset_json(self.preset),
            "base_url": self.base_url,
            "model": self.model,
            "mode": self.mode,
            "timeout": self.timeout,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], api_key: str | None) -> ProviderConfig:
        return cls(
            preset=_preset_of(data["preset"]),
            base_url=str(data["base_url"]),
            model=data.get("model"),
            mode=data.get("mode"),
            timeout=float(data.get("timeout") or 60.0),
            api_key=api_key,
        )

    def key(self) -> str | None:
        """The key: given, else the preset's environment variable (an error names it)."""
        return api_key_for(self.preset, self.api_key)

    def provider(self) -> InferenceProvider:
        """A live driver for this configuration (plans and ``repair=True`` re-asks)."""
        from instructor_py.providers.registry import create_provider

        options: dict[str, Any] = {"api_key": self.key(), "base_url": self.base_url}
        if self.model:
            options["model"] = self.model
        if self.mode:
            options["mode"] = self.mode
        options["timeout"] = self.timeout
        return create_provider(self.preset, **options)


def provider_config(
    source: ProviderSource | None, provider: InferenceProvider | None, api_key: str | None
) -> ProviderConfig:
    """The configuration of a builder's provider (a preset with overrides, or a preset driver)."""
    if provider is not None:
        preset = getattr(provider, "preset", None)
        if not isinstance(preset, ProviderPreset):
            raise ConfigurationError(
                f"submit_batch() needs a provider with a batch API; {provider.name!r} is not a "
                "preset driver. Use using('openai', ...) or using('anthropic', ...)."
            )
        return ProviderConfig(
            preset=preset,
            base_url=str(getattr(provider, "base_url", preset.base_url)),
            model=provider.default_model,
            mode=provider.default_mode.value,
            api_key=api_key,
        )
    source = source or default_source()
    if source.preset == "local":
        raise ConfigurationError(
            "the embedded local model has no batch API; use batch() (or using('openai'|"
            "'anthropic', ...) for a provider batch job)"
        )
    preset = get_preset(source.preset)
    env_url = os.environ.get(preset.base_url_env) if preset.base_url_env else None
    mode = source.override("mode")
    timeout = source.override("timeout")
    return ProviderConfig(
        preset=preset,
        base_url=str(source.override("base_url") or env_url or preset.base_url).rstrip("/"),
        model=source.override("model"),
        mode=mode.value if isinstance(mode, OutputMode) else mode,
        timeout=float(timeout) if timeout else 60.0,
        api_key=api_key or source.override("api_key"),
    )


def _preset_json(preset: ProviderPreset) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(preset):
        value = getattr(preset, f.name)
        if isinstance(value, frozenset):
            value = sorted(v.value for v in value)
        elif isinstance(value, Enum):
            value = value.value
        out[f.name] = value
    return out


def _preset_of(data: Mapping[str, Any]) -> ProviderPreset:
    known = {f.name for f in dataclasses.fields(ProviderPreset)}
    values = {k: v for k, v in data.items() if k in known}
    try:
        values["default_mode"] = OutputMode(values["default_mode"])
        values["supported_modes"] = frozenset(OutputMode(m) for m in values["supported_modes"])
        values["json_schema_style"] = JsonSchemaStyle(values["json_schema_style"])
        values["json_mode_style"] = JsonModeStyle(values["json_mode_style"])
        return ProviderPreset(**values)
    except (KeyError, ValueError, TypeError) as err:
        raise BatchJobError(
            f"the job's stored provider preset cannot be read ({err}); was it written by a "
            "newer instructor_py?"
        ) from None


def jsonable_rows(
    rows: list[tuple[int, str, Any, Mapping[str, Any]]],
) -> list[tuple[int, str, Any, Mapping[str, Any]]]:
    """``rows`` (index, custom id, input parts, request line) once each is JSON data."""
    for index, _, parts, line in rows:
        try:
            json.dumps(parts)
            json.dumps(line)
        except (TypeError, ValueError) as err:
            raise InvalidArgumentError(
                f"submit_batch() input {index} is not JSON data ({err}); a batch job keeps its "
                "inputs to be resumed: pass strings, message dicts and plain values"
            ) from None
    return rows
