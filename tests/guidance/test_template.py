"""The Guidance backend: template syntax, compile-time errors with line and column, the seed's
API (GuidanceTemplate / GuidanceState / CompiledGuidanceProgram / GuidanceGrammar /
GuidanceBackend), its registration in the orchestrator, and remote-answer parsing."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from pydantic import BaseModel

from instructor_py.common.errors import ConstraintCompileError, TemplateError
from instructor_py.local import (
    AsyncGuidanceBackend,
    ConstraintSpec,
    ConstraintType,
    GuidanceBackend,
    GuidanceGrammar,
    GuidanceTemplate,
    GuidanceTemplateType,
    StructuredOutputOrchestrator,
    TokenizerInfo,
    allocate_bitmask,
    allowed_token_ids,
    template_constraint,
)
from tests.support.masks import accepts_text, walk


class Address(BaseModel):
    city: str
    zip: int


TEMPLATE = """{{! an extraction }}Name: {{gen 'name' stop='\\n'}}
Age: {{gen 'age' regex='[0-9]{1,3}'}}
Mood: {{select 'mood' options=['happy', 'sad']}}
Address: {{json 'address' schema=Address}}
Likes {{#select 'pet'}}cats{{or}}dogs{{/select}}, signed {{author}}"""
VARIABLES = {"Address": Address, "author": "Bob"}
ANSWER = 'Name: Ada Lovelace\nAge: 36\nMood: happy\nAddress: {"city":"London","zip":1}\nLikes dogs, signed Bob'
VALUES = {
    "name": "Ada Lovelace",
    "age": "36",
    "mood": "happy",
    "address": {"city": "London", "zip": 1},
    "pet": "dogs",
}


@pytest.fixture()
def backend(tok: TokenizerInfo) -> GuidanceBackend:
    return GuidanceBackend(tok)


def test_template_is_parsed_at_construction(tok: TokenizerInfo) -> None:
    t = GuidanceTemplate(TEMPLATE, VARIABLES)
    assert t.get_prefix_text() == "Name: "
    seq = t.get_variable_sequence()
    assert [(v.name, v.type) for v in seq] == [
        ("name", GuidanceTemplateType.GEN),
        ("age", GuidanceTemplateType.GEN),
        ("mood", GuidanceTemplateType.SELECT),
        ("address", GuidanceTemplateType.JSON),
        ("pet", GuidanceTemplateType.SELECT),
    ]
    assert seq[0].stop == "\n" and seq[1].regex == "[0-9]{1,3}"
    assert seq[2].options == ("happy", "sad") and seq[4].options == ("cats", "dogs")
    assert json.loads(seq[3].schema or "")["properties"]["zip"]["type"] == "integer"
    assert (seq[1].line, seq[1].column) == (2, 6)
    assert t.cache_key == GuidanceTemplate(TEMPLATE, VARIABLES).cache_key
    assert t.cache_key != GuidanceTemplate(TEMPLATE, {**VARIABLES, "author": "Eve"}).cache_key


def test_generation_follows_the_template_and_captures_the_values(backend: GuidanceBackend) -> None:
    grammar = backend.compile_template(TEMPLATE, VARIABLES)
    info = backend._info
    assert isinstance(grammar, GuidanceGrammar)
    assert walk(grammar, info, info.tokenize(ANSWER)) == len(info.tokenize(ANSWER))
    assert grammar.accept_token(info.eos_token_ids[0]) and grammar.is_terminated()
    assert grammar.get_variable_values() == VALUES
    assert grammar.state.text == ANSWER
    # the template rejects what it does not allow
    for wrong in (
        ANSWER.replace("happy", "angry"),
        ANSWER.replace("36", "x"),
        ANSWER.replace("Bob", "Eve"),
    ):
        assert not accepts_text(backend.compile_template(TEMPLATE, VARIABLES), info, wrong)


def test_state_api_text_tokens_and_allowed_tokens(backend: GuidanceBackend) -> None:
    program = backend.compile_template("Pick: {{select 'x' options=['yes', 'no']}}").program
    state = program.create_state()
    allowed = state.get_allowed_tokens(program.vocab_size)
    assert allowed  # only tokens that start the forced prefix
    assert all(b"Pick: ".startswith(program.tokenizer.token_bytes[t]) for t in allowed)
    assert state.accept_token("Pick: ")
    assert not state.accept_token("maybe")
    assert state.accept_token("no")
    assert program.is_terminated(state)
    assert state.get_variable_values() == {"x": "no"}
    mask = program.allocate_bitmask(1)
    program.fill_bitmask(state, mask)
    state.reset()
    assert state.text == "" and state.get_variable_values() == {}
    grammar = GuidanceGrammar(program)
    assert grammar.accept_token_text("Pick: yes") and grammar.get_variable_values() == {"x": "yes"}
    other = grammar.create_state()
    assert other.text == "" and grammar.get_variable_values() == {"x": "yes"}


def test_gen_without_stop_stops_at_the_following_literal(backend: GuidanceBackend) -> None:
    grammar = backend.compile_template("<a>{{gen 'x'}}</a> done")
    info = backend._info
    assert accepts_text(grammar, info, "<a>hello world</a> done")
    assert grammar.get_variable_values() == {"x": "hello world"}


def test_compile_json_schema_goes_through_a_template(backend: GuidanceBackend) -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["name", "tags"],
        "additionalProperties": False,
    }
    template, _ = backend._schema_to_template(schema)
    assert template == "{\"name\":{{json 'name' schema=s0}},\"tags\":{{json 'tags' schema=s1}}}"
    grammar = backend.compile_json_schema(schema)
    assert accepts_text(grammar, backend._info, '{"name":"a","tags":["x"]}')
    assert grammar.get_variable_values() == {"name": "a", "tags": ["x"]}
    assert not accepts_text(
        backend.compile_json_schema(schema), backend._info, '{"name":1,"tags":[]}'
    )
    # anything else is one variable
    loose = backend.compile_json_schema({"type": "array", "items": {"type": "integer"}})
    assert accepts_text(loose, backend._info, "[1,2]") and loose.get_variable_values() == {
        "value": [1, 2]
    }


def test_program_cache_stats_and_clear(backend: GuidanceBackend) -> None:
    backend.compile_template("A {{gen 'x' regex='[a-z]+'}}")
    backend.compile_template("A {{gen 'x' regex='[a-z]+'}}")
    stats = backend.get_stats_dict()
    assert (stats["cache_hits"], stats["cache_misses"], stats["templates_cached"]) == (1, 1, 1)
    assert backend.get_stats().compiles == 1
    backend.clear_cache()
    assert backend.get_stats_dict()["templates_cached"] == 0
    small = GuidanceBackend(backend._info, max_cache_size=2)
    for i in range(3):
        small.compile_template(f"{i} {{{{gen 'x' regex='[a-z]'}}}}")
    assert small.get_stats_dict()["templates_cached"] == 2
    assert backend.allocate_bitmask(2).shape[0] == 2


def test_async_backend(tok: TokenizerInfo) -> None:
    backend = AsyncGuidanceBackend(tok)
    grammar = asyncio.run(backend.acompile_template("x={{select 'v' options=['1','2']}}"))
    assert accepts_text(grammar, tok, "x=2") and grammar.get_variable_values() == {"v": "2"}
    schema_grammar = asyncio.run(backend.acompile_json_schema({"type": "integer"}))
    assert accepts_text(schema_grammar, tok, "42")


def test_orchestrator_compiles_templates_on_the_guidance_backend(
    orch: StructuredOutputOrchestrator,
) -> None:
    spec = template_constraint(TEMPLATE, VARIABLES)
    assert spec.kind is ConstraintType.TEMPLATE
    handle = orch.compile(spec)
    assert handle.backend == "guidance" and handle.exact
    info = orch.tokenizer_info
    assert walk(handle.matcher, info, info.tokenize(ANSWER)) == len(info.tokenize(ANSWER))
    assert dict(handle.segments()) == {
        k: v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))
        for k, v in VALUES.items()
    }
    assert orch.compile(template_constraint(TEMPLATE, VARIABLES)).cache_hit
    # batch filling goes through llguidance's executor
    backend = orch.get_backend("guidance")
    fresh, single = orch.compile(spec), orch.compile(spec)
    mask = allocate_bitmask(2, info.logits_width)
    backend.fill_bitmask_batch([(fresh.matcher.inner, 1)], mask)
    one = allocate_bitmask(1, info.logits_width)
    single.fill_next_token_bitmask(one)
    assert (
        allowed_token_ids(mask[1], info.vocab_size).tolist()
        == allowed_token_ids(one[0], info.vocab_size).tolist()
    )
    assert allowed_token_ids(mask[1], info.vocab_size).size >= 1 and not mask[0].any()


def test_json_variables_keep_the_schemas_property_order(orch: StructuredOutputOrchestrator) -> None:
    schema = {
        "type": "object",
        "properties": {"zip": {"type": "integer"}, "city": {"type": "string"}},
        "required": ["zip", "city"],
        "additionalProperties": False,
    }
    spec = template_constraint("At {{json 'a' schema=S}}", {"S": schema})
    handle = orch.compile(spec)
    assert handle.backend == "guidance"
    assert accepts_text(handle.matcher, orch.tokenizer_info, 'At {"zip":1,"city":"x"}')


def test_a_template_nests_inside_a_composite(orch: StructuredOutputOrchestrator) -> None:
    spec = ConstraintSpec.sequence(
        "> ", template_constraint("v={{select 'v' options=['a','b']}}")
    )
    handle = orch.compile(spec)
    assert handle.backend == "llguidance"
    assert accepts_text(handle.matcher, orch.tokenizer_info, "> v=b")
    assert handle.segments() == [("v", "b")]


@pytest.mark.parametrize(
    ("source", "variables", "line", "column", "message"),
    [
        ("Hi {{gen 'x'", {}, 1, 4, "unclosed tag"),
        ("a\nb {{gen 'x' stop='}}", {}, 2, 3, "unclosed string"),
        ("{{#select 'x'}}a{{or}}b", {}, 1, 1, "unclosed {{#select 'x'}}"),
        ("{{!-- never closed", {}, 1, 1, "unclosed comment"),
        ("ok\n\n  {{who}}", {}, 3, 5, "unknown variable 'who'"),
        ("{{json 'j' schema=Missing}}", {"S": {}}, 1, 19, "unknown variable 'Missing'"),
        ("{{select 'x' options=opts}}", {}, 1, 22, "unknown variable 'opts'"),
        ("x\n  {{gen 'x' regex='[a-'}}", {}, 2, 13, "llguidance cannot compile regex"),
        ("{{gen 'x' regex='a(b'}}", {}, 1, 11, "llguidance cannot compile regex"),
        ("{{select 'x'}}", {}, 1, 1, "has no options"),
        ("{{select 'x' options=[]}}", {}, 1, 14, "has no options"),
        ("{{#select 'x'}}{{/select}}", {}, 1, 1, "empty option"),
        ("{{gen 'x' stop='.'}} and {{gen 'x' stop='.'}}", {}, 1, 32, "duplicate variable name 'x'"),
        (
            "{{gen 'a' stop='.'}}{{select 'a' options=['b']}}",
            {},
            1,
            30,
            "duplicate variable name 'a'",
        ),
        ("{{gen 'x' temperature=1}}", {}, 1, 11, "takes no argument 'temperature'"),
        ("{{gen}}", {}, 1, 1, "needs a variable name"),
        ("{{gen 'a'}}{{gen 'b'}}", {}, 1, 7, "followed directly by another variable"),
        ("{{/select}}", {}, 1, 1, "without an open"),
        ("{{or}}", {}, 1, 1, "without an open"),
        ("{{json 'j'}}", {}, 1, 1, "needs schema="),
        ("{{json 'j' schema=S}}", {"S": {"type": 12}}, 1, 12, "schema"),
        ("{{gen 'x' max_tokens=0}}", {}, 1, 11, "max_tokens must be an int >= 1"),
        ("", {}, 1, 1, "empty"),
    ],
)
def test_bad_templates_fail_at_compile_time_naming_line_and_column(
    source: str, variables: dict[str, object], line: int, column: int, message: str
) -> None:
    with pytest.raises(TemplateError) as info:
        template_constraint(source, variables)
    assert (info.value.line, info.value.column) == (line, column), str(info.value)
    assert message in str(info.value)
    assert str(info.value).startswith(f"template line {line}, column {column}: ")
    assert isinstance(info.value, ConstraintCompileError)


def test_comments_and_escapes() -> None:
    t = GuidanceTemplate("{{!-- a {{long}} comment --}}lit \\{{x}} {{! short }}end")
    assert t.get_prefix_text() == "lit {{x}} end" and t.get_variable_sequence() == []


def test_remote_answers_are_parsed_with_the_templates_pattern() -> None:
    t = GuidanceTemplate(TEMPLATE, VARIABLES)
    pattern = t.to_pattern()
    assert re.search(pattern, ANSWER, re.DOTALL)
    assert t.parse_answer(ANSWER) == VALUES
    # a model that answers with extra spaces and prose around still parses
    loose = "Sure!\n" + ANSWER.replace("Age: 36", "Age:   36") + "\n"
    assert t.parse_answer(loose)["age"] == "36"
    with pytest.raises(ValueError, match="select variable 'mood'"):
        t.parse_answer(ANSWER.replace("happy", "angry"))
    with pytest.raises(ValueError, match="not valid JSON"):
        t.parse_answer(ANSWER.replace('"zip":1}', '"zip":1,}'))
    var = t.get_variable_sequence()[2]
    assert re.fullmatch(var.to_pattern(), "sad")


def test_partial_values_grow_with_the_text() -> None:
    t = GuidanceTemplate(TEMPLATE, VARIABLES)
    cut = ANSWER.index("Mood") + len("Mood: ha")
    partial = t.partial_values(ANSWER[:cut])
    # a select shows only once complete; gen text shows as it grows
    assert partial == {"name": "Ada Lovelace", "age": "36"}
    assert t.partial_values(ANSWER[: ANSWER.index("Ada") + 2]) == {"name": "Ad"}
    cut = ANSWER.index("Address") + 3  # "Add": the mood is complete
    assert t.partial_values(ANSWER[:cut])["mood"] == "happy"
    assert t.partial_values(ANSWER) == VALUES
    assert t.partial_values("") == {}


def test_variable_schema_describes_the_values() -> None:
    schema = GuidanceTemplate(TEMPLATE, VARIABLES).variable_schema()
    assert schema["required"] == list(VALUES)
    assert schema["properties"]["mood"] == {"type": "string", "enum": ["happy", "sad"]}


@pytest.mark.parametrize(
    ("source", "values"),
    [
        ("A: {{gen 'x' stop='.'}} B", {"x": "foo"}),
        ("Name: {{gen 'x' stop='\\n'}}\nAge: {{gen 'a' regex='[0-9]+'}}", {"x": "Tom", "a": "4"}),
        ("<a>{{gen 'x'}}</a>", {"x": "hi there"}),
        ("J {{json 'j' schema=S}} {{select 'v' options=['a','b']}}", {"j": [1, 2], "v": "b"}),
    ],
)
def test_render_is_what_a_generation_outputs(
    orch: StructuredOutputOrchestrator, source: str, values: dict[str, object]
) -> None:
    template = GuidanceTemplate(source, {"S": {"type": "array"}})
    text = template.render(values)
    handle = orch.compile(template.to_constraint())
    assert accepts_text(handle.matcher, orch.tokenizer_info, text), text
    assert template.parse_answer(text) == values
    assert template.values_from_segments(handle.segments()) == values


def test_render_names_a_missing_variable() -> None:
    with pytest.raises(ValueError, match="'age'"):
        GuidanceTemplate("{{gen 'name' stop='.'}} {{gen 'age' regex='[0-9]+'}}").render(
            {"name": "x"}
        )
