"""``using("provider/model")``: one string picks the preset and the model."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from instructor_py import StructuredOutput
from instructor_py.common.errors import ConfigurationError
from instructor_py.providers.registry import create_provider, preset_names, split_model_string


class User(BaseModel):
    name: str


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.setenv(name, "sk-test-SECRET-000000")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


@pytest.mark.parametrize(
    ("string", "preset", "model"),
    [
        ("openai/gpt-4.1-mini", "openai", "gpt-4.1-mini"),
        ("anthropic/claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5"),
        ("ollama/qwen2.5:7b", "ollama", "qwen2.5:7b"),
        ("gemini/gemini-2.5-flash", "gemini", "gemini-2.5-flash"),
        ("bedrock/anthropic.claude-3-5-haiku-20241022-v1:0", "bedrock", "anthropic.claude-3-5-haiku-20241022-v1:0"),
        ("openrouter/openai/gpt-4o", "openrouter", "openai/gpt-4o"),
    ],
)
def test_string_picks_preset_and_model(string: str, preset: str, model: str) -> None:
    assert split_model_string(string) == (preset, model)
    plan = StructuredOutput().using(string).with_(messages="hi", response_model=User).plan()
    assert plan.provider.name == preset
    assert plan.request.model == model  # what is sent


def test_plain_preset_names_keep_their_default_model() -> None:
    assert split_model_string("openai") == ("openai", None)
    assert create_provider("openai").default_model == "gpt-4o-mini"


def test_local_string_names_a_gguf_path() -> None:
    assert split_model_string("local/models/x.gguf") == ("local", "models/x.gguf")
    assert split_model_string("local//abs/x.gguf") == ("local", "/abs/x.gguf")
    assert create_provider("local/models/missing.gguf").default_model == "missing"  # loaded lazily


def test_unknown_prefix_lists_the_known_ones() -> None:
    with pytest.raises(ConfigurationError) as info:
        StructuredOutput().using("openia/gpt-4o").with_(messages="hi", response_model=User).plan()
    message = str(info.value)
    assert "'openia'" in message
    for name in ("openai", "anthropic", "bedrock", "gemini", "vertex", "azure", "ollama", "local"):
        assert name in preset_names() and name in message


def test_empty_model_and_conflicting_model() -> None:
    with pytest.raises(ConfigurationError, match="no model after"):
        create_provider("openai/")
    with pytest.raises(ConfigurationError, match="two models"):
        create_provider("openai/gpt-4.1-mini", model="gpt-4o")
    assert create_provider("openai/gpt-4.1-mini", model="gpt-4.1-mini").default_model == "gpt-4.1-mini"
