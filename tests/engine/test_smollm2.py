"""The engine on the real SmolLM2 tokenizer (49 152 tokens), loaded with vocab_only=True."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import numpy as np
import pytest

from instructor_py.local import (
    BatchProcessor,
    ConstraintSpec,
    StructuredOutputOrchestrator,
    TokenizerInfo,
    allowed_token_ids,
    apply_bitmask,
)
from tests.support.masks import accepts_text, walk

pytest.importorskip("llguidance", reason="llguidance is not installed")
needs_outlines = pytest.mark.skipif(
    importlib.util.find_spec("outlines_core") is None, reason="outlines-core is not installed"
)

ORDER = {
    "type": "object",
    "properties": {
        "customer": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "vip": {"type": "boolean"}},
            "required": ["name", "vip"],
            "additionalProperties": False,
        },
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{2}$"},
                    "qty": {"type": "integer", "minimum": 1},
                },
                "required": ["sku", "qty"],
                "additionalProperties": False,
            },
            "maxItems": 3,
        },
        "status": {"enum": ["new", "shipped"]},
        "note": {"type": ["string", "null"]},
    },
    "required": ["customer", "items", "status"],
    "additionalProperties": False,
}

VALID = [
    {
        "customer": {"name": "Ann", "vip": True},
        "items": [{"sku": "ABC-12", "qty": 2}],
        "status": "new",
    },
    {
        "customer": {"name": 'Jo "J" Ro', "vip": False},
        "items": [],
        "status": "shipped",
        "note": None,
    },
    {
        "customer": {"name": "Zoë", "vip": False},
        "items": [{"sku": "XYZ-00", "qty": 1}] * 3,
        "status": "new",
        "note": "hi",
    },
]
INVALID = [
    {
        "customer": {"name": "Ann", "vip": True},
        "items": [{"sku": "abc-12", "qty": 2}],
        "status": "new",
    },  # pattern
    {
        "customer": {"name": "Ann", "vip": True},
        "items": [{"sku": "ABC-12", "qty": 0}],
        "status": "new",
    },  # minimum
    {"customer": {"name": "Ann", "vip": True}, "items": [], "status": "lost"},  # enum
    {
        "customer": {"name": "Ann", "vip": True},
        "items": [{"sku": "ABC-12", "qty": 1}] * 4,
        "status": "new",
    },  # maxItems
    {"customer": {"name": "Ann"}, "items": [], "status": "new"},  # nested required
    {"customer": {"name": "Ann", "vip": True}, "items": [], "status": "new", "x": 1},  # additional
]


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def test_from_llama_reads_the_vocabulary(smollm2_llama: Any, smol: TokenizerInfo) -> None:
    assert smol.vocab_size == 49152 == smollm2_llama.n_vocab()
    im_end = smol.token_bytes.index(b"<|im_end|>")
    assert im_end in smol.eos_token_ids
    assert smol.token_bytes.index(b"<|im_start|>") in smol.special_token_ids
    ids = smollm2_llama.tokenize(b'Hello world, {"a": 1}', add_bos=False)
    assert smol.decode(ids) == b'Hello world, {"a": 1}'
    assert smol.tokenize("Hello world") == smollm2_llama.tokenize(b"Hello world", add_bos=False)
    assert TokenizerInfo.from_llama(smollm2_llama) is smol  # cached per model


@pytest.mark.parametrize("value", VALID)
def test_valid_instances_pass_the_mask(
    smol_orch: StructuredOutputOrchestrator, smol: TokenizerInfo, value: Any
) -> None:
    handle = smol_orch.compile_json_schema(ORDER)
    assert handle.exact and handle.backend == "llguidance"
    assert accepts_text(handle.matcher, smol, compact(value))


@pytest.mark.parametrize("value", INVALID)
def test_invalid_instances_are_refused(
    smol_orch: StructuredOutputOrchestrator, smol: TokenizerInfo, value: Any
) -> None:
    handle = smol_orch.compile_json_schema(ORDER)
    ids = smol.tokenize(compact(value))
    assert not accepts_text(handle.matcher, smol, compact(value))
    assert walk(smol_orch.compile_json_schema(ORDER).matcher, smol, ids) < len(ids)


def test_forced_tokens_and_logits(
    smol_orch: StructuredOutputOrchestrator, smol: TokenizerInfo
) -> None:
    m = smol_orch.compile_json_schema(ORDER).matcher
    ff = m.compute_ff_tokens()
    assert smol.decode(ff).startswith(b'{"customer')
    assert m.accept_tokens(ff)
    mask = smol_orch.allocate_bitmask()
    m.fill_next_token_bitmask(mask)
    logits = np.random.default_rng(0).standard_normal(smol.logits_width).astype(np.float32)
    apply_bitmask(logits, mask[0], smol.vocab_size)
    best = int(np.argmax(logits))
    assert best in allowed_token_ids(mask[0], smol.vocab_size)
    assert m.accept_token(best)


def test_regex_grammar_choice_on_the_real_vocabulary(
    smol_orch: StructuredOutputOrchestrator, smol: TokenizerInfo
) -> None:
    assert accepts_text(smol_orch.compile_regex(r"\d{4}-\d{2}-\d{2}").matcher, smol, "2024-01-31")
    assert not accepts_text(
        smol_orch.compile_regex(r"\d{4}-\d{2}-\d{2}").matcher, smol, "2024-1-31"
    )
    lark = 'start: "Answer: " ("yes" | "no")'
    assert accepts_text(smol_orch.compile(ConstraintSpec.grammar(lark)).matcher, smol, "Answer: no")
    gbnf = 'root ::= "(" [a-z]+ ")"'
    assert accepts_text(smol_orch.compile(ConstraintSpec.grammar(gbnf, "gbnf")).matcher, smol, "(hello)")
    assert not accepts_text(smol_orch.compile(ConstraintSpec.grammar(gbnf, "gbnf")).matcher, smol, "(Hello)")
    for option in ["positive", "negative", "neutral"]:
        assert accepts_text(
            smol_orch.compile(ConstraintSpec.choice(["positive", "negative", "neutral"])).matcher, smol, option
        )
    assert not accepts_text(
        smol_orch.compile(ConstraintSpec.choice(["positive", "negative"])).matcher, smol, "positively"
    )


@needs_outlines
def test_outlines_on_the_real_vocabulary(smol: TokenizerInfo) -> None:
    orch = StructuredOutputOrchestrator(smol)
    orch.register_backend(orch.get_backend("outlines"), set_as_default=True)
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "rank": {"type": "integer"}},
        "required": ["city", "rank"],
    }
    handle = orch.compile_json_schema(schema)
    assert handle.backend == "outlines"
    assert accepts_text(handle.matcher, smol, '{"city":"Paris","rank":1}')
    assert not accepts_text(orch.compile_json_schema(schema).matcher, smol, '{"city":"Paris"}')
    assert accepts_text(orch.compile_regex("[A-Z][a-z]+").matcher, smol, "Paris")


def test_batch_on_the_real_vocabulary(
    smol_orch: StructuredOutputOrchestrator, smol: TokenizerInfo
) -> None:
    specs = [
        ConstraintSpec.json_schema(ORDER),
        ConstraintSpec.regex("[0-9]+"),
        ConstraintSpec.choice(["a", "b"]),
    ]
    batch = BatchProcessor(smol_orch, len(specs), smol.logits_width)
    for i, spec in enumerate(specs):
        batch.set_constraint(i, spec)
    mask = batch.fill_bitmask()
    for i, spec in enumerate(specs):
        single = smol_orch.allocate_bitmask()
        smol_orch.compile(spec).matcher.fill_next_token_bitmask(single)
        assert np.array_equal(mask[i], single[0])


def test_llguidance_uses_llama_cpp_tokenizer_natively(
    smollm2_llama: Any, smol: TokenizerInfo
) -> None:
    from instructor_py.engine.backends.llguidance_tokenizer import lltokenizer_for

    assert smol.native is not None and smol.native.owner is smollm2_llama  # keeps the model alive
    lltok = lltokenizer_for(smol)
    text = b'{"name": "Zo\xc3\xab", "n": 12}'
    assert lltok.tokenize_bytes(text) == smollm2_llama.tokenize(text, add_bos=False, special=False)
    assert lltok.is_special_token(smol.token_bytes.index(b"<|im_end|>"))
    assert not lltok.is_special_token(smol.tokenize("Hello")[0])
