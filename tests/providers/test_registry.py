"""Presets and create_provider: keys from the environment, clear errors, no secrets shown."""

from __future__ import annotations

import importlib

import pytest

from instructor_py.common.errors import AuthenticationError, ConfigurationError, MissingAPIKeyError
from instructor_py.common.modes import OutputMode
from instructor_py.providers.anthropic import AnthropicProvider
from instructor_py.providers.base import InferenceProvider
from instructor_py.providers.gemini import GeminiProvider
from instructor_py.providers.openai import OpenAIProvider
from instructor_py.providers.presets import PRESETS, JsonSchemaStyle
from instructor_py.providers.registry import create_provider, preset_names

REQUIRED = {
    "openai", "anthropic", "ollama", "vllm", "llamacpp-server", "lmstudio", "openrouter", "groq",
    "together", "deepseek", "mistral", "xai", "gemini",
}  # fmt: skip


def test_all_required_presets_exist_and_are_data() -> None:
    assert set(PRESETS) >= REQUIRED
    assert "local" in preset_names()
    assert PRESETS["llamacpp-server"].json_schema_style is JsonSchemaStyle.JSON_OBJECT_SCHEMA
    assert OutputMode.JSON_SCHEMA not in PRESETS["anthropic"].supported_modes
    assert PRESETS["gemini-openai"].base_url.endswith("/openai")
    assert PRESETS["gemini"].driver == "gemini"  # the native generateContent driver


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_every_preset_builds_a_protocol_driver(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    preset = PRESETS[name]
    if preset.api_key_env:
        monkeypatch.setenv(preset.api_key_env, "sk-env-SECRET-999999")
    driver = create_provider(name, model="m")
    assert isinstance(driver, InferenceProvider)
    native = {"anthropic": AnthropicProvider, "gemini": GeminiProvider}
    assert isinstance(driver, native.get(name, OpenAIProvider))
    assert driver.name == name and driver.default_model == "m"
    assert "sk-env-SECRET" not in repr(driver)


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    with pytest.raises(MissingAPIKeyError, match="GROQ_API_KEY") as info:
        create_provider("groq")
    assert isinstance(info.value, AuthenticationError) and isinstance(info.value, ConfigurationError)
    assert "export GROQ_API_KEY=" in str(info.value)


def test_keyless_local_servers_need_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VLLM_API_KEY", raising=False)
    assert create_provider("vllm", model="m").name == "vllm"
    assert create_provider("ollama").default_model == "llama3.2"


def test_env_key_and_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-1234567")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    driver = create_provider("openai")
    assert isinstance(driver, OpenAIProvider)
    assert driver.base_url == "http://127.0.0.1:9/v1"
    assert "sk-from-env" not in repr(driver)
    assert create_provider("openai", base_url="http://x/v1/").base_url == "http://x/v1"  # type: ignore[attr-defined]


def test_unknown_preset_and_option() -> None:
    with pytest.raises(ConfigurationError, match=r"Known presets: .*anthropic.*openai"):
        create_provider("nope")
    with pytest.raises(ConfigurationError, match="Unknown option"):
        create_provider("ollama", temperture=1)


def test_mode_override() -> None:
    assert create_provider("ollama", mode="md_json").default_mode is OutputMode.MD_JSON


def test_local_preset_without_the_local_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def fake(name: str, package: str | None = None) -> object:
        if name == "instructor_py.providers.local":
            raise ModuleNotFoundError("No module named 'llama_cpp'", name="llama_cpp")
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", fake)
    with pytest.raises(ConfigurationError, match=r"instructor_py\[local\]"):
        create_provider("local")


def test_redaction_of_key_shapes() -> None:
    from instructor_py.providers.http_errors import redact

    text = (
        "Incorrect API key provided: sk-proj-abc123***xyz. Also gsk_ABCDEFGHIJKL, xai-0123456789, "
        "AIzaSyA-0123456789abcdef, Bearer tok.en and my-own-secret; key-value pairs stay."
    )
    out = redact(text, ["my-own-secret"])
    for leaked in ("sk-proj", "gsk_", "xai-01", "AIzaSy", "tok.en", "my-own-secret"):
        assert leaked not in out
    assert "key-value pairs stay" in out


def test_retry_after_parsing() -> None:
    import email.utils
    import time

    from instructor_py.providers.http_errors import parse_retry_after

    assert parse_retry_after({"Retry-After": "7"}) == 7.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({}) is None
    assert parse_retry_after({"Retry-After": "soon"}) is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= (parse_retry_after({"Retry-After": later}) or 0) <= 31


def test_local_preset_resolves_lazily_to_local_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    seen: dict[str, object] = {}

    class FakeLocal:
        @classmethod
        def from_options(cls, **overrides: object) -> str:
            seen.update(overrides)
            return "local-driver"

    module = types.ModuleType("instructor_py.providers.local")
    module.LocalProvider = FakeLocal  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "instructor_py.providers.local", module)
    assert create_provider("local", n_ctx=1024, model_path="/m.gguf") == "local-driver"
    assert seen == {"n_ctx": 1024, "model_path": "/m.gguf"}
