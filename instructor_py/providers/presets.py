"""Provider presets: plain data describing how to reach an API.

A preset names the driver (``"openai"`` for every OpenAI-compatible server, ``"anthropic"`` for the
Messages API), the base URL, the environment variable holding the API key (never the key itself),
the default model and mode, the modes the API can do, and its quirks (how JSON_SCHEMA is spelled,
whether ``strict`` and streamed usage are supported). Presets carry no behaviour; the drivers and
:func:`instructor_py.providers.registry.create_provider` read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from instructor_py.common.modes import OutputMode


class JsonSchemaStyle(StrEnum):
    """How an OpenAI-compatible server wants JSON_SCHEMA mode spelled in ``response_format``."""

    JSON_SCHEMA = "json_schema"
    """``{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}`` (OpenAI)."""
    JSON_OBJECT_SCHEMA = "json_object_schema"
    """``{"type": "json_object", "schema": {...}}`` (llama-cpp-python's server)."""


class JsonModeStyle(StrEnum):
    """How an OpenAI-compatible server wants JSON mode (any JSON object) spelled."""

    JSON_OBJECT = "json_object"
    """``{"type": "json_object"}`` (OpenAI and most servers)."""
    ANY_OBJECT_SCHEMA = "any_object_schema"
    """``{"type": "json_schema", "json_schema": {"name": "json_object", "schema": {"type":
    "object"}}}`` for servers that reject ``json_object`` (LM Studio)."""
    PROMPT = "prompt"
    """No ``response_format``: the schema in the prompt is all the model gets."""


ALL_API_MODES = frozenset({OutputMode.TOOLS, OutputMode.JSON_SCHEMA, OutputMode.JSON, OutputMode.MD_JSON})


@dataclass(frozen=True, slots=True)
class ProviderPreset:
    """How to reach one API. ``api_key_env`` is the *name* of the environment variable that holds
    the key (``None`` when the server needs no key); ``requires_api_key`` says whether a missing
    key is an error before any request is sent."""

    name: str
    driver: str
    base_url: str
    api_key_env: str | None
    default_model: str | None
    default_mode: OutputMode = OutputMode.TOOLS
    supported_modes: frozenset[OutputMode] = ALL_API_MODES
    requires_api_key: bool = True
    json_schema_style: JsonSchemaStyle = JsonSchemaStyle.JSON_SCHEMA
    json_mode_style: JsonModeStyle = JsonModeStyle.JSON_OBJECT
    supports_strict: bool = False
    stream_usage: bool = False
    base_url_env: str | None = None
    docs: str = ""


_WITHOUT_JSON_SCHEMA = frozenset({OutputMode.TOOLS, OutputMode.JSON, OutputMode.MD_JSON})

PRESETS: dict[str, ProviderPreset] = {
    p.name: p
    for p in (
        ProviderPreset(
            name="openai",
            driver="openai",
            base_url="https://api.openai.com/v1",
            api_key_env="OPENAI_API_KEY",
            default_model="gpt-4o-mini",
            supports_strict=True,
            stream_usage=True,
            base_url_env="OPENAI_BASE_URL",
            docs="https://platform.openai.com/docs/api-reference/chat",
        ),
        ProviderPreset(
            name="anthropic",
            driver="anthropic",
            base_url="https://api.anthropic.com",
            api_key_env="ANTHROPIC_API_KEY",
            default_model="claude-sonnet-4-5",
            supported_modes=_WITHOUT_JSON_SCHEMA,
            stream_usage=True,
            base_url_env="ANTHROPIC_BASE_URL",
            docs="https://docs.anthropic.com/en/api/messages",
        ),
        ProviderPreset(
            name="ollama",
            driver="openai",
            base_url="http://localhost:11434/v1",
            api_key_env=None,
            default_model="llama3.2",
            default_mode=OutputMode.JSON_SCHEMA,  # Ollama does not force tool_choice
            requires_api_key=False,
            stream_usage=True,
            base_url_env="OLLAMA_BASE_URL",
            docs="https://github.com/ollama/ollama/blob/main/docs/openai.md",
        ),
        ProviderPreset(
            name="vllm",
            driver="openai",
            base_url="http://localhost:8000/v1",
            api_key_env="VLLM_API_KEY",
            default_model=None,
            default_mode=OutputMode.JSON_SCHEMA,
            requires_api_key=False,
            stream_usage=True,
            base_url_env="VLLM_BASE_URL",
            docs="https://docs.vllm.ai/en/latest/features/structured_outputs.html",
        ),
        ProviderPreset(
            name="llamacpp-server",
            driver="openai",
            base_url="http://localhost:8000/v1",
            api_key_env="LLAMACPP_API_KEY",
            default_model=None,
            default_mode=OutputMode.JSON_SCHEMA,
            requires_api_key=False,
            json_schema_style=JsonSchemaStyle.JSON_OBJECT_SCHEMA,
            base_url_env="LLAMACPP_BASE_URL",
            docs="https://llama-cpp-python.readthedocs.io/en/latest/server/",
        ),
        ProviderPreset(
            name="lmstudio",
            driver="openai",
            base_url="http://localhost:1234/v1",
            api_key_env=None,
            default_model=None,
            default_mode=OutputMode.JSON_SCHEMA,
            requires_api_key=False,
            json_mode_style=JsonModeStyle.ANY_OBJECT_SCHEMA,
            base_url_env="LMSTUDIO_BASE_URL",
            docs="https://lmstudio.ai/docs/app/api/structured-output",
        ),
        ProviderPreset(
            name="openrouter",
            driver="openai",
            base_url="https://openrouter.ai/api/v1",
            api_key_env="OPENROUTER_API_KEY",
            default_model="openai/gpt-4o-mini",
            supports_strict=True,
            stream_usage=True,
            docs="https://openrouter.ai/docs/features/structured-outputs",
        ),
        ProviderPreset(
            name="groq",
            driver="openai",
            base_url="https://api.groq.com/openai/v1",
            api_key_env="GROQ_API_KEY",
            default_model="llama-3.3-70b-versatile",
            stream_usage=True,
            docs="https://console.groq.com/docs/openai",
        ),
        ProviderPreset(
            name="together",
            driver="openai",
            base_url="https://api.together.xyz/v1",
            api_key_env="TOGETHER_API_KEY",
            default_model="meta-llama/Llama-3.3-70B-Instruct-Turbo",
            stream_usage=True,
            docs="https://docs.together.ai/docs/json-mode",
        ),
        ProviderPreset(
            name="deepseek",
            driver="openai",
            base_url="https://api.deepseek.com/v1",
            api_key_env="DEEPSEEK_API_KEY",
            default_model="deepseek-chat",
            supported_modes=_WITHOUT_JSON_SCHEMA,
            stream_usage=True,
            docs="https://api-docs.deepseek.com/guides/json_mode",
        ),
        ProviderPreset(
            name="mistral",
            driver="openai",
            base_url="https://api.mistral.ai/v1",
            api_key_env="MISTRAL_API_KEY",
            default_model="mistral-small-latest",
            docs="https://docs.mistral.ai/capabilities/structured-output/",
        ),
        ProviderPreset(
            name="xai",
            driver="openai",
            base_url="https://api.x.ai/v1",
            api_key_env="XAI_API_KEY",
            default_model="grok-3-mini",
            supports_strict=True,
            stream_usage=True,
            docs="https://docs.x.ai/docs/guides/structured-outputs",
        ),
        ProviderPreset(
            name="gemini-openai",
            driver="openai",
            base_url="https://generativelanguage.googleapis.com/v1beta/openai",
            api_key_env="GEMINI_API_KEY",
            default_model="gemini-2.5-flash",
            stream_usage=True,
            docs="https://ai.google.dev/gemini-api/docs/openai",
        ),
        ProviderPreset(
            name="gemini",
            driver="gemini",
            base_url="https://generativelanguage.googleapis.com/v1beta",
            api_key_env="GEMINI_API_KEY",
            default_model="gemini-2.5-flash",
            default_mode=OutputMode.JSON_SCHEMA,
            stream_usage=True,
            base_url_env="GEMINI_BASE_URL",
            docs="https://ai.google.dev/api/generate-content",
        ),
        ProviderPreset(
            name="vertex",
            driver="vertex",
            base_url="https://{location}-aiplatform.googleapis.com/v1",
            api_key_env=None,
            default_model="gemini-2.5-flash",
            default_mode=OutputMode.JSON_SCHEMA,
            requires_api_key=False,
            stream_usage=True,
            base_url_env="VERTEX_BASE_URL",
            docs="https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/v1/projects.locations.publishers.models/generateContent",
        ),
        ProviderPreset(
            name="azure",
            driver="azure",
            base_url="",
            api_key_env="AZURE_OPENAI_API_KEY",
            default_model=None,
            requires_api_key=False,  # or an Entra ID token provider: the driver checks
            supports_strict=True,
            stream_usage=True,
            base_url_env="AZURE_OPENAI_ENDPOINT",
            docs="https://learn.microsoft.com/en-us/azure/ai-foundry/openai/reference",
        ),
        ProviderPreset(
            name="bedrock",
            driver="bedrock",
            base_url="",
            api_key_env=None,
            default_model=None,
            supported_modes=_WITHOUT_JSON_SCHEMA,
            requires_api_key=False,  # AWS credentials come from boto3's chain
            stream_usage=True,
            base_url_env="BEDROCK_ENDPOINT_URL",
            docs="https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html",
        ),
    )
}
"""Every known preset by name. ``"local"`` (the embedded model) is resolved by the registry."""
