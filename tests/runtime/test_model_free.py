"""Unit tests of the local engine's model-free parts: chat templates, sampling, schema preparation,
and the thread edge."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import numpy as np
import pytest

from instructor_py.common.errors import ConfigurationError, LocalModelError
from instructor_py.runtime.chat_template import ChatTemplate, template_turns
from instructor_py.runtime.sampling import Sampler, SamplingParams
from instructor_py.runtime.threads import iterate_in_thread
from instructor_py.schema.prep import close_object_schemas

# --- chat template ------------------------------------------------------------------------------


def test_missing_template_falls_back_to_chatml() -> None:
    template = ChatTemplate.from_metadata({}, bos_token="<s>", eos_token="</s>")
    assert template.is_fallback
    prompt = template.render([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}])
    assert prompt == (
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"
    )


def test_gemma_architecture_without_template_gets_the_gemma_format() -> None:
    template = ChatTemplate.from_metadata(
        {"general.architecture": "gemma3"}, bos_token="<bos>", eos_token="<eos>"
    )
    assert template.is_fallback
    prompt = template.render([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}])
    assert prompt == "<bos><start_of_turn>user\nS\n\nU<end_of_turn>\n<start_of_turn>model\n"


def test_model_template_gets_bos_and_raise_exception() -> None:
    source = (
        "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'system' %}"
        "{{ raise_exception('no system role') }}{% endif %}[{{ m['role'] }}]{{ m['content'] }}"
        "{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}"
    )
    template = ChatTemplate.from_metadata(
        {"tokenizer.chat_template": source}, bos_token="<bos>", eos_token="<eos>"
    )
    assert not template.is_fallback
    assert template.render([{"role": "user", "content": "hi"}]) == "<bos>[user]hi[assistant]"
    with pytest.raises(ConfigurationError, match="no system role"):
        template.render([{"role": "system", "content": "x"}])


def test_a_broken_template_is_a_clear_error() -> None:
    with pytest.raises(LocalModelError, match="chat_template"):
        ChatTemplate("{% for %}")


def test_messages_are_normalised_for_strict_templates() -> None:
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "1", "type": "function", "function": {"name": "f", "arguments": '{"x":1}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "1", "content": "invalid: x must be 2"},
        {"role": "user", "content": "fix it"},
    ]
    assert template_turns(messages) == [
        {"role": "user", "content": "a\nb"},
        {"role": "assistant", "content": '{"x":1}'},
        {"role": "user", "content": "invalid: x must be 2\n\nfix it"},
    ]
    with pytest.raises(ConfigurationError, match="role"):
        template_turns([{"role": "robot", "content": "x"}])
    with pytest.raises(ConfigurationError, match="text only"):
        template_turns([{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}])


# --- sampling -----------------------------------------------------------------------------------


def test_greedy_is_argmax_and_masked_tokens_are_never_sampled() -> None:
    logits = np.array([0.1, 3.0, -np.inf, 2.9, -np.inf], dtype=np.float32)
    assert Sampler(SamplingParams()).sample(logits) == 1
    sampler = Sampler(SamplingParams(temperature=5.0, seed=1))
    picks = {sampler.sample(logits) for _ in range(300)}
    assert picks <= {0, 1, 3} and len(picks) == 3


def test_top_k_and_top_p_truncate() -> None:
    logits = np.array([5.0, 4.0, 0.0, -1.0], dtype=np.float32)
    top1 = Sampler(SamplingParams(temperature=1.0, top_k=1, seed=3))
    assert {top1.sample(logits) for _ in range(50)} == {0}
    top_p = Sampler(SamplingParams(temperature=1.0, top_p=0.8, seed=3))
    assert {top_p.sample(logits) for _ in range(200)} <= {0, 1}


def test_seeded_sampling_is_reproducible() -> None:
    logits = np.linspace(0, 1, 50, dtype=np.float32)
    a = Sampler(SamplingParams(temperature=1.0, seed=42))
    b = Sampler(SamplingParams(temperature=1.0, seed=42))
    assert [a.sample(logits) for _ in range(20)] == [b.sample(logits) for _ in range(20)]


def test_sampling_options_are_checked() -> None:
    assert SamplingParams.from_options({"temperature": 0.7, "seed": 1}).temperature == 0.7
    assert SamplingParams().sample_first_is_exact
    assert SamplingParams(temperature=1.0).sample_first_is_exact
    assert not SamplingParams(temperature=1.0, top_k=5).sample_first_is_exact
    with pytest.raises(ConfigurationError, match="top_p"):
        SamplingParams(top_p=0)
    with pytest.raises(ConfigurationError, match="seed"):
        SamplingParams.from_options({"seed": "x"})
    with pytest.raises(ConfigurationError, match="temperature"):
        SamplingParams.from_options({"temperature": "hot"})


# --- schema preparation -------------------------------------------------------------------------


def test_object_schemas_are_closed_without_mutation() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"$ref": "#/$defs/A"},
            "b": {"type": "array", "items": {"type": "object", "properties": {"x": {}}}},
        },
        "$defs": {"A": {"type": "object", "properties": {"y": {"type": "integer"}}}},
        "allOf": [{"properties": {"z": {}}}],
    }
    closed = close_object_schemas(schema)
    assert closed["additionalProperties"] is False
    assert closed["$defs"]["A"]["additionalProperties"] is False
    assert closed["properties"]["b"]["items"]["additionalProperties"] is False
    assert "additionalProperties" not in closed["allOf"][0]  # parts of a composition stay open
    assert "additionalProperties" not in schema  # the input is untouched
    explicit = close_object_schemas(
        {"type": "object", "properties": {}, "additionalProperties": True}
    )
    assert explicit["additionalProperties"] is True


# --- thread edge --------------------------------------------------------------------------------


async def test_iterate_in_thread_forwards_items_and_errors() -> None:
    def numbers() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("boom")

    got: list[int] = []
    with pytest.raises(ValueError, match="boom"):
        async for n in iterate_in_thread(numbers):
            got.append(n)
    assert got == [1, 2]


async def test_iterate_in_thread_closes_the_iterator_when_the_consumer_stops() -> None:
    closed = asyncio.Event()
    loop = asyncio.get_running_loop()

    def endless() -> Iterator[int]:
        try:
            n = 0
            while True:
                n += 1
                yield n
        finally:
            loop.call_soon_threadsafe(closed.set)

    agen = iterate_in_thread(endless)
    async for n in agen:
        if n >= 3:
            break
    await agen.aclose()
    await asyncio.wait_for(closed.wait(), timeout=5)
