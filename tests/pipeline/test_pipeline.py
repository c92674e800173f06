"""Pipeline stages, validators, transformers, output formats, replaceable stages."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pydantic import BaseModel

from instructor_py import (
    ResponsePipeline,
    StageFailure,
    StructuredOutput,
    StructuredOutputRetryError,
    to_response_model,
)
from instructor_py.pipeline import PipelineContext
from tests.support.scripted_provider import ScriptedProvider, text, tool


class User(BaseModel):
    name: str
    age: int


def ctx(**kw: Any) -> PipelineContext:
    return PipelineContext(response_model=to_response_model(User), **kw)


def test_each_stage_names_itself_in_the_failure() -> None:
    pipe = ResponsePipeline()
    cases = {
        "not json": "extract",
        '{"name": 3}': "schema",
        "": "extract",
    }
    for answer, stage in cases.items():
        out = pipe.run(answer, ctx())
        assert isinstance(out, StageFailure) and out.stage == stage, answer
    out = pipe.run('{"name":"A","age":1}', ctx(validators=(lambda u: "too young",)))
    assert isinstance(out, StageFailure) and out.stage == "validate"
    assert out.messages == ("$: too young",)


def test_schema_failure_lists_every_error_with_paths() -> None:
    out = ResponsePipeline().run('{"name": 3, "age": "x"}', ctx())
    assert isinstance(out, StageFailure)
    assert out.messages == ("$.age: 'x' is not of type 'integer'", "$.name: 3 is not of type 'string'")


def test_deserialize_stage_reports_pydantic_paths_when_schema_is_skipped() -> None:
    pipe = ResponsePipeline(tuple(s for s in ResponsePipeline().stages if s.name != "schema"))
    out = pipe.run('{"name": "A", "age": "x"}', ctx())
    assert isinstance(out, StageFailure) and out.stage == "deserialize"
    assert out.messages[0].startswith("$.age: Input should be a valid integer")
    assert "(got 'x')" in out.messages[0]


def build(p: ScriptedProvider) -> StructuredOutput:
    return StructuredOutput().with_provider(p).with_(messages="m", response_model=User)


def test_with_validator_variants_and_feedback() -> None:
    def not_bob(u: User) -> bool:
        return u.name != "Bob"

    def adult(u: User) -> None:
        if u.age < 18:
            raise ValueError("must be an adult")

    p = ScriptedProvider([tool('{"name":"Bob","age":3}'), tool('{"name":"Al","age":30}')])
    r = build(p).with_validator(not_bob).with_validator(adult).response()
    assert r.value == User(name="Al", age=30)
    assert r.attempts[0].errors == ("$: the answer failed the check 'not_bob'", "$: must be an adult")
    assert "must be an adult" in p.requests[1].messages[-1]["content"]


def test_transformers_apply_in_order_after_validation() -> None:
    p = ScriptedProvider([tool('{"name":"al","age":30}')])
    value = (
        build(p)
        .with_transformer(lambda u: u.model_copy(update={"name": u.name.title()}))
        .with_transformer(lambda u: (u.name, u.age))
        .get()
    )
    assert value == ("Al", 30)


def test_transformer_value_error_is_fed_back() -> None:
    def needs_a(u: User) -> User:
        if not u.name.startswith("A"):
            raise ValueError("the name must start with A")
        return u

    p = ScriptedProvider([tool('{"name":"Bo","age":1}'), tool('{"name":"Al","age":1}')])
    r = build(p).with_transformer(needs_a).response()
    assert r.attempts[0].stage == "transform"
    assert r.value.name == "Al"


def test_into_dict_and_into_cls() -> None:
    p = ScriptedProvider([tool('{"name":"Al","age":3}')])
    assert build(p).into_dict().get() == {"name": "Al", "age": 3}

    @dataclasses.dataclass
    class Person:
        name: str
        age: int

    p = ScriptedProvider([tool('{"name":"Al","age":3}')])
    assert build(p).into(Person).get() == Person("Al", 3)
    p = ScriptedProvider([tool('{"items":[{"name":"Al","age":3}]}')])
    so = build(p).with_response_model(list[User]).into_dict()
    assert so.get() == [{"name": "Al", "age": 3}]


def test_replaceable_extract_stage() -> None:
    @dataclasses.dataclass(frozen=True)
    class KeyValueExtract:
        name: str = "extract"

        def run(self, value: Any, ctx: PipelineContext) -> Any:
            pairs = dict(part.split("=") for part in str(value).split(";"))
            return {"name": pairs["name"], "age": int(pairs["age"])}

    p = ScriptedProvider([text("name=Al;age=4")])
    pipe = ResponsePipeline().replace("extract", KeyValueExtract())
    so = build(p).with_output_mode("json").with_pipeline(pipe)
    assert so.get() == User(name="Al", age=4)
    with pytest.raises(ValueError, match="no stage named 'nope'"):
        ResponsePipeline().replace("nope", KeyValueExtract())


def test_model_mistake_never_yields_unvalidated_object() -> None:
    p = ScriptedProvider([tool('{"name":"Al"}')])
    with pytest.raises(StructuredOutputRetryError):
        build(p).with_max_retries(0).get()
