"""The tolerant parser in the pipeline's extract stage: the default, the strict option, the
repairs carried out of the pipeline, and answers strict parsing reads that stay unchanged."""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest
from pydantic import AliasChoices, BaseModel, Field

from instructor_py import ResponsePipeline, StageFailure, to_response_model
from instructor_py.pipeline import ExtractStage, PipelineContext, Repaired
from instructor_py.pipeline.stages import tolerant_schema


class User(BaseModel):
    name: str
    age: int


class Aliased(BaseModel):
    user_name: str = Field(alias="userName")
    zip_code: str = Field(alias="zip")


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


def ctx(model: Any = User) -> PipelineContext:
    return PipelineContext(response_model=to_response_model(model))


MESSY = "Sure!\n```json\n{name: 'Ann', age: '1,234',}\n```"


def test_tolerant_is_the_default_and_repairs_come_out_of_the_pipeline() -> None:
    run = ResponsePipeline().run_detailed(MESSY, ctx())
    assert run.value == User(name="Ann", age=1234)
    assert run.parsed == User(name="Ann", age=1234)
    assert {"unquoted_key", "single_quotes", "trailing_comma", "number_thousands"} <= {
        r.kind for r in run.repairs
    }
    assert not run.failed


def test_strict_mode_keeps_todays_failure() -> None:
    strict = ResponsePipeline().with_parsing("strict")
    out = strict.run(MESSY, ctx())
    assert isinstance(out, StageFailure)
    assert out.stage == "extract"
    assert "no JSON found" in out.messages[0]


def test_the_stage_reports_repairs_as_a_repaired_record() -> None:
    out = ExtractStage().run("{name: 'Ann', age: 3}", ctx())
    assert isinstance(out, Repaired)
    assert out.value == {"name": "Ann", "age": 3}
    assert ExtractStage().run('{"name": "Ann", "age": 3}', ctx()) == {"name": "Ann", "age": 3}


@pytest.mark.parametrize(
    "answer",
    [
        '{"name": "Ann", "age": 3}',
        'text before {"name": "Ann", "age": 3} text after',
        '```json\n{"name": "Ann", "age": 3, "extra": [1, 2]}\n```',
        '{"name": "Ann", "age": 3.0}',
        '{"name": "Ann", "age": 3, "name_": "x", "NAME": "Bo"}',
    ],
)
def test_answers_the_strict_chain_reads_are_unchanged(answer: str) -> None:
    strict = ResponsePipeline().with_parsing("strict").run_detailed(answer, ctx())
    assert not strict.failed
    tolerant = ResponsePipeline().run_detailed(answer, ctx())
    assert repr(tolerant.value) == repr(strict.value)
    assert tolerant.repairs == ()


def test_an_answer_strict_parsing_refuses_may_be_repaired() -> None:
    answer = '[{"name": "Ann", "age": 3}]'
    assert ResponsePipeline().with_parsing("strict").run_detailed(answer, ctx()).failed
    run = ResponsePipeline().run_detailed(answer, ctx())
    assert run.value == User(name="Ann", age=3)
    assert [r.kind for r in run.repairs] == ["list_to_single"]


def test_an_ambiguous_answer_goes_to_the_retry_naming_the_ambiguity() -> None:
    out = ResponsePipeline().run('{"name": "Ann", "age": "1,5"}', ctx())
    assert isinstance(out, StageFailure)
    assert out.stage == "extract"
    assert out.errors[0].path == "$.age"
    assert "ambiguous" in out.messages[0]


def test_an_unreadable_answer_gets_todays_schema_errors() -> None:
    out = ResponsePipeline().run('{"name": "Ann"}', ctx())
    assert isinstance(out, StageFailure)
    assert out.stage == "schema"
    assert "age" in out.messages[0]


def test_aliases_are_the_keys_read() -> None:
    run = ResponsePipeline().run_detailed("{'user-name': 'ann', ZIP: 12345}", ctx(Aliased))
    assert run.value == Aliased(userName="ann", zip="12345")
    assert {"key_renamed", "number_to_string"} <= {r.kind for r in run.repairs}


class Inner(BaseModel):
    count: int = Field(validation_alias=AliasChoices("n", "total_count"))


class Chosen(BaseModel):
    zip_code: str = Field(validation_alias=AliasChoices("zip", "postcode"))
    inner: Inner


def test_every_validation_alias_choice_is_read() -> None:
    """The schema names the first ``AliasChoices`` name; the others are read too (nested
    models included), as pydantic itself would accept them."""
    run = ResponsePipeline().run_detailed(
        '{"postcode": "0150", "inner": {"totalCount": 3}}', ctx(Chosen)
    )
    assert run.value == Chosen.model_validate({"zip": "0150", "inner": {"n": 3}})
    assert [(r.path, r.kind) for r in run.repairs] == [
        ("$.zip", "key_renamed"),
        ("$.inner.n", "key_renamed"),
    ]
    assert "x-aliases" not in json.dumps(to_response_model(Chosen).json_schema)  # never sent


@pytest.mark.parametrize(
    ("model", "answer", "value"),
    [
        (int, "12,111", 12111),
        (int, '{"value": "42"}', 42),
        (float, "$1,299.99", 1299.99),
        (bool, "Yes.", True),
        (Mood, "HAPPY - they smiled all day", Mood.HAPPY),
        (list[int], "[1, 2, 3,]", [1, 2, 3]),
        (list[User], "{name: 'Ann', age: 3}", [User(name="Ann", age=3)]),
    ],
)
def test_wrapped_models_read_a_bare_or_wrapped_value(model: Any, answer: str, value: Any) -> None:
    assert ResponsePipeline().run(answer, ctx(model)) == value


def test_tolerant_schema_offers_wrapper_or_bare_value() -> None:
    schema = tolerant_schema(to_response_model(int))
    assert [b.get("type") for b in schema["anyOf"]] == ["object", "integer"]
    assert tolerant_schema(to_response_model(User)) is to_response_model(User).json_schema


def test_with_parsing_rejects_unknown_modes_and_foreign_extract_stages() -> None:
    with pytest.raises(ValueError, match="parsing must be one of"):
        ResponsePipeline().with_parsing("lenient")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="parsing must be one of"):
        ExtractStage(parsing="loose")  # type: ignore[arg-type]

    class Custom:
        name = "extract"

        def run(self, value: Any, ctx: PipelineContext) -> Any:
            return json.loads(value)

    with pytest.raises(ValueError, match="no ExtractStage"):
        ResponsePipeline().replace("extract", Custom()).with_parsing("strict")


def test_run_keeping_is_unchanged_for_callers() -> None:
    value, parsed = ResponsePipeline().run_keeping(MESSY, ctx())
    assert value == parsed == User(name="Ann", age=1234)


def test_an_object_for_a_string_model_goes_to_the_retry_saying_why() -> None:
    out = ResponsePipeline().run('{"x": 1}', ctx(str))
    assert isinstance(out, StageFailure)
    assert "is not of type 'string'" in out.messages[0]
    assert ResponsePipeline().run("Paris, on the Seine", ctx(str)) == "Paris, on the Seine"
