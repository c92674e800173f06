"""CBISON grammar types <-> ConstraintSpec, both directions, and the errors for bad input."""

from __future__ import annotations

import json

import pytest

from instructor_py.common.errors import ConstraintCompileError, InvalidSchemaError
from instructor_py.engine.cbison import grammar_for_spec, spec_for_grammar
from instructor_py.engine.cbison.grammar_types import escape_regex_literal
from instructor_py.local import ConstraintSpec, StructuredOutputOrchestrator, TokenizerInfo


def test_every_reference_grammar_type_is_read() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    assert spec_for_grammar("regex", "a+") == ConstraintSpec.regex("a+")
    for t in ("json", "json_schema"):
        got = spec_for_grammar(t, json.dumps(schema))
        assert got.kind == "json_schema" and got.schema == schema
        assert got.options.whitespace == "compact" and not got.options.allow_relaxed
    assert spec_for_grammar("json_object", "ignored").schema == {"type": "object"}
    assert spec_for_grammar("lark", 'start: "a"') == ConstraintSpec.grammar('start: "a"')
    assert spec_for_grammar("gbnf", 'root ::= "a"').syntax == "gbnf"
    lark = json.dumps({"grammars": [{"lark_grammar": 'start: "x"'}]})
    assert spec_for_grammar("llguidance", lark) == ConstraintSpec.grammar('start: "x"')
    wrapped = json.dumps({"grammars": [{"json_schema": schema}]})
    assert spec_for_grammar("guidance", wrapped).schema == schema


def test_x_guidance_options() -> None:
    text = json.dumps(
        {"type": "string", "x-guidance": {"whitespace_flexible": True, "lenient": True}}
    )
    spec = spec_for_grammar("json_schema", text)
    assert spec.schema == {"type": "string"}  # the options are not part of the schema
    assert spec.options.whitespace == "flexible" and spec.options.lenient


@pytest.mark.parametrize(
    ("gtype", "grammar", "error", "match"),
    [
        (
            "yaml",
            "a: 1",
            ConstraintCompileError,
            "grammar type 'yaml' is not supported; use one of",
        ),
        ("json_schema", "{not json", InvalidSchemaError, "not valid JSON"),
        ("json_schema", '{"type": 12}', InvalidSchemaError, "invalid JSON schema"),
        ("json", '{"x-guidance": 3}', InvalidSchemaError, "x-guidance must be an object"),
        ("llguidance", '{"grammars": []}', ConstraintCompileError, "one grammar"),
        ("llguidance", "[", ConstraintCompileError, "not valid JSON"),
        (
            "llguidance",
            '{"grammars": [{"other": 1}]}',
            ConstraintCompileError,
            "neither lark_grammar",
        ),
        ("lark", "  ", ConstraintCompileError, "the grammar text is empty"),
    ],
)
def test_bad_grammars_say_what_is_wrong(
    gtype: str, grammar: str, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        spec_for_grammar(gtype, grammar)


def test_specs_become_grammar_types_and_back(
    tok: TokenizerInfo, orch: StructuredOutputOrchestrator
) -> None:
    flexible = ConstraintSpec.json_schema(
        {"type": "integer"}, whitespace="flexible", allow_relaxed=False
    )
    gtype, text = grammar_for_spec(flexible) or ("", "")
    assert gtype == "json_schema" and json.loads(text)["x-guidance"]["whitespace_flexible"] is True
    back = spec_for_grammar(gtype, text)
    assert back.schema == {"type": "integer"} and back.options.whitespace == "flexible"
    assert grammar_for_spec(ConstraintSpec.grammar('root ::= "a"', "gbnf")) == (
        "gbnf",
        'root ::= "a"',
    )
    choice = ConstraintSpec.choice(["a.b", "x|y", "two words", "tab\there", "(c)"])
    gtype, regex = grammar_for_spec(choice) or ("", "")
    assert gtype == "regex"
    m = orch.compile_regex(regex).matcher  # llguidance reads the escaped alternation
    for option in choice.choices:
        probe = m.clone()
        assert probe.accept_tokens(tok.tokenize(option)) and probe.is_accepting(), option
    assert not m.clone().accept_tokens(tok.tokenize("aXb"))  # "." was escaped
    assert escape_regex_literal("a b") == r"a\x{20}b"
