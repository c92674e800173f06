"""Composite constraints (literal, text, sequence, any_of, labeled) compiled by the llguidance
backend into Lark with %json and named captures; segments() from the captures; the handle as a
grammar; the enums."""

from __future__ import annotations

import json

import pytest

from instructor_py.common.errors import ConstraintCompileError
from instructor_py.engine.composite import composite_lark, dedupe_captures
from instructor_py.local import (
    CompiledGrammarHandle,
    ConstraintSpec,
    ConstraintType,
    StructuredOutputBackendType,
    StructuredOutputOrchestrator,
    allocate_bitmask,
    count_allowed,
)
from tests.support.masks import accepts_text, walk

OBJ = {
    "type": "object",
    "properties": {"a": {"type": "integer"}},
    "required": ["a"],
    "additionalProperties": False,
}
ARR = {"type": "array", "items": {"type": "string"}, "maxItems": 2}


def _run(
    orch: StructuredOutputOrchestrator, spec: ConstraintSpec, text: str
) -> CompiledGrammarHandle:
    handle = orch.compile(spec)
    ids = orch.tokenizer_info.tokenize(text)
    assert walk(handle.matcher, orch.tokenizer_info, ids) == len(ids), text
    return handle


def test_kinds_are_constraint_type_members_and_compare_as_strings() -> None:
    spec = ConstraintSpec.json_schema(OBJ)
    assert spec.kind is ConstraintType.JSON_SCHEMA and spec.kind == "json_schema"
    assert ConstraintSpec.literal("x").kind is ConstraintType.LITERAL
    assert ConstraintSpec.text().kind is ConstraintType.TEXT
    assert ConstraintSpec.sequence("a", "b").kind is ConstraintType.SEQUENCE
    assert ConstraintSpec.any_of("a", "b").kind is ConstraintType.ANY_OF
    assert StructuredOutputBackendType.LLGUIDANCE == "llguidance"
    assert {t.value for t in StructuredOutputBackendType} == {"llguidance", "outlines", "guidance"}


def test_composites_nest_and_cache_like_other_specs(orch: StructuredOutputOrchestrator) -> None:
    def build() -> ConstraintSpec:
        return ConstraintSpec.sequence(
            ConstraintSpec.text(stop="</think>").labeled("thinking"),
            ConstraintSpec.any_of(
                ConstraintSpec.json_schema(OBJ), ConstraintSpec.json_schema(ARR)
            ).labeled("v"),
        )

    a, b = build(), build()
    assert a == b and a.to_cache_key() == b.to_cache_key()
    assert a.to_cache_key() != ConstraintSpec.sequence(*a.parts[:1]).to_cache_key()
    assert a.to_cache_key() != a.labeled("other").to_cache_key()
    first = orch.compile(a)
    second = orch.compile(b)
    assert not first.cache_hit and second.cache_hit
    assert first.backend == StructuredOutputBackendType.LLGUIDANCE
    # labels and stop strings are part of the key
    assert (
        ConstraintSpec.text(stop="x").to_cache_key() != ConstraintSpec.text(stop="y").to_cache_key()
    )
    assert (
        ConstraintSpec.literal("x").to_cache_key()
        != ConstraintSpec.literal("x").labeled("l").to_cache_key()
    )


def test_thinking_text_then_json_reports_both_segments(orch: StructuredOutputOrchestrator) -> None:
    spec = ConstraintSpec.sequence(
        ConstraintSpec.text(regex="[^{]*", max_tokens=40).labeled("thinking"),
        ConstraintSpec.json_schema(OBJ).labeled("json"),
    )
    handle = _run(orch, spec, 'the answer is one {"a":1}')
    assert handle.is_terminated()
    assert handle.segments() == [("thinking", "the answer is one "), ("json", '{"a":1}')]


def test_text_inside_think_tags_then_json(orch: StructuredOutputOrchestrator) -> None:
    spec = ConstraintSpec.sequence(
        "<think>",
        ConstraintSpec.text(stop="</think>").labeled("thinking"),
        ConstraintSpec.json_schema(OBJ).labeled("json"),
    )
    handle = _run(orch, spec, '<think>a {b} c</think>{"a":7}')
    # the stop string is generated (part of the output) but not of the segment
    assert handle.segments() == [("thinking", "a {b} c"), ("json", '{"a":7}')]
    other = orch.compile(spec)
    assert not accepts_text(other.matcher, orch.tokenizer_info, '<think>x{"a":7}')


def test_fenced_json_block(orch: StructuredOutputOrchestrator) -> None:
    spec = ConstraintSpec.sequence(
        "```json\n", ConstraintSpec.json_schema(OBJ).labeled("json"), "\n```"
    )
    handle = _run(orch, spec, '```json\n{"a":12}\n```')
    assert handle.is_terminated() and handle.segments() == [("json", '{"a":12}')]
    fresh = orch.compile(spec)
    assert not accepts_text(fresh.matcher, orch.tokenizer_info, '{"a":12}')


def test_choice_followed_by_json(orch: StructuredOutputOrchestrator) -> None:
    spec = ConstraintSpec.sequence(
        ConstraintSpec.choice(["search", "answer"]).labeled("action"),
        " ",
        ConstraintSpec.json_schema(OBJ).labeled("args"),
    )
    handle = _run(orch, spec, 'answer {"a":3}')
    assert handle.segments() == [("action", "answer"), ("args", '{"a":3}')]
    assert not accepts_text(orch.compile(spec).matcher, orch.tokenizer_info, 'reply {"a":3}')


def test_any_of_two_schemas(orch: StructuredOutputOrchestrator) -> None:
    spec = ConstraintSpec.any_of(
        ConstraintSpec.json_schema(OBJ).labeled("obj"),
        ConstraintSpec.json_schema(ARR).labeled("arr"),
    )
    assert _run(orch, spec, '["x","y"]').segments() == [("arr", '["x","y"]')]
    assert _run(orch, spec, '{"a":1}').segments() == [("obj", '{"a":1}')]
    assert not accepts_text(orch.compile(spec).matcher, orch.tokenizer_info, '["x","y","z"]')


def test_trailing_free_text_is_captured_once_the_output_may_end(
    orch: StructuredOutputOrchestrator,
) -> None:
    spec = ConstraintSpec.sequence(
        "Name: ", ConstraintSpec.text(regex="[A-Za-z ]+").labeled("name")
    )
    handle = _run(orch, spec, "Name: Ada L")
    assert handle.segments() == [("name", "Ada L")]
    eos = orch.tokenizer_info.eos_token_ids[0]
    assert handle.accept_token(eos) and handle.is_terminated()
    assert handle.segments() == [("name", "Ada L")]


def test_text_max_tokens_bounds_the_text(orch: StructuredOutputOrchestrator) -> None:
    spec = ConstraintSpec.sequence(
        ConstraintSpec.text(max_tokens=3).labeled("t"), ConstraintSpec.literal("!")
    )
    handle = orch.compile(spec)
    info = orch.tokenizer_info
    ids = info.tokenize("abcdef")
    # three tokens of free text, then only "!" may follow
    assert walk(handle.matcher, info, ids[:3]) == 3
    assert not handle.matcher.validate_tokens(ids[3:4])
    assert handle.accept_token(info.tokenize("!")[0])
    assert handle.segments() == [("t", info.decode(ids[:3]).decode())]


def test_nested_regex_grammar_and_literal_escapes(orch: StructuredOutputOrchestrator) -> None:
    spec = ConstraintSpec.sequence(
        'path "',
        ConstraintSpec.regex(r"[a-z]+/[0-9]+").labeled("path"),
        '"\n',
        ConstraintSpec.grammar("start: NUM\nNUM: /[0-9]+/").labeled("n"),
    )
    handle = _run(orch, spec, 'path "ab/12"\n42')
    assert handle.segments() == [("path", "ab/12"), ("n", "42")]
    lark, subs = composite_lark(spec)
    assert "%json" not in lark and len(subs) == 1


def test_handle_implements_the_grammar_protocol(orch: StructuredOutputOrchestrator) -> None:
    handle = orch.compile(
        ConstraintSpec.sequence("ab", ConstraintSpec.choice(["c", "d"]).labeled("x"))
    )
    info = orch.tokenizer_info
    mask = allocate_bitmask(1, info.logits_width)
    handle.fill_next_token_bitmask(mask)
    assert count_allowed(mask[0], info.vocab_size) >= 1
    for t in info.tokenize("abd"):
        assert handle.accept_token(t)
    assert handle.tokens_accepted == len(info.tokenize("abd"))
    assert handle.is_terminated() and handle.segments() == [("x", "d")]
    handle.reset()
    assert handle.tokens_accepted == 0 and not handle.is_terminated() and handle.segments() == []


def test_segments_follow_rollback_and_reset(orch: StructuredOutputOrchestrator) -> None:
    info = orch.tokenizer_info
    spec = ConstraintSpec.sequence(
        ConstraintSpec.choice(["cat", "dog"]).labeled("x"),
        "!",
        ConstraintSpec.choice(["a", "b"]).labeled("y"),
    )
    handle = orch.compile(spec)
    assert handle.matcher.accept_tokens(info.tokenize("dog!b"))
    assert handle.segments() == [("x", "dog"), ("y", "b")]
    handle.matcher.rollback(3)
    assert handle.segments() == []  # "do": nothing is complete any more
    assert handle.matcher.accept_tokens(info.tokenize("g!a"))
    assert handle.segments() == [("x", "dog"), ("y", "a")]
    copy = handle.fresh()
    assert copy.segments() == []
    handle.reset()
    assert handle.segments() == []


def test_composite_specs_skip_outlines(smol_orch: StructuredOutputOrchestrator) -> None:
    if "outlines" not in smol_orch.backend_names:
        pytest.skip("outlines-core is not installed")
    outlines = smol_orch.get_backend("outlines")
    assert outlines.unsupported_reason(ConstraintSpec.literal("x")) is not None
    assert outlines.unsupported_reason(ConstraintSpec.regex("a+").labeled("a")) is not None


def test_constructor_errors_say_what_is_wrong() -> None:
    with pytest.raises(ConstraintCompileError, match="non-empty"):
        ConstraintSpec.literal("")
    with pytest.raises(ConstraintCompileError, match="max_tokens"):
        ConstraintSpec.text(max_tokens=0)
    with pytest.raises(ConstraintCompileError, match="stop"):
        ConstraintSpec.text(stop="")
    with pytest.raises(ConstraintCompileError, match="at least one"):
        ConstraintSpec.sequence()
    with pytest.raises(ConstraintCompileError, match="part 1"):
        ConstraintSpec.any_of("a", 3)  # type: ignore[arg-type]
    with pytest.raises(ConstraintCompileError, match="label"):
        ConstraintSpec.literal("x").labeled("has space")
    with pytest.raises(TypeError, match="must be a str"):
        ConstraintSpec(ConstraintType.REGEX)


def test_a_bad_nested_regex_is_a_compile_error(orch: StructuredOutputOrchestrator) -> None:
    with pytest.raises(ConstraintCompileError, match="regex"):
        orch.compile(ConstraintSpec.sequence("a", ConstraintSpec.regex("(")))


def test_dedupe_keeps_growing_captures_once() -> None:
    raw = [("t", b""), ("t", b"abc"), ("j", b"{}"), ("t", b"x")]
    assert dedupe_captures(raw) == [("t", "abc"), ("j", "{}"), ("t", "x")]


def test_json_segment_parses_with_flexible_whitespace(
    smol_orch: StructuredOutputOrchestrator,
) -> None:
    spec = ConstraintSpec.json_schema(OBJ, whitespace="flexible").labeled("j")
    handle = _run(smol_orch, spec, '{ "a" : 5 }')
    assert json.loads(handle.segments()[0][1]) == {"a": 5}
    compact = smol_orch.compile(ConstraintSpec.json_schema(OBJ).labeled("j"))
    assert not accepts_text(compact.matcher, smol_orch.tokenizer_info, '{ "a" : 5 }')
