"""The default pipeline stages. Each takes the previous stage's value and returns the next value or
a :class:`StageFailure`; none raises for a model mistake."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel, TypeAdapter, ValidationError

from instructor_py.pipeline.extraction import (
    DEFAULT_CHAIN,
    Extractor,
    bracket_depth,
    extract_json,
)
from instructor_py.pipeline.failures import FieldError, StageFailure, json_path
from instructor_py.pipeline.tolerant import ParseResult, Repair, parse_tolerant
from instructor_py.response_models.base import ResponseModel

Validator = Callable[[Any], Any]
"""``fn(value)``: returns ``None``/``True`` when valid, ``False`` or an error string (or a list of
strings) when not; raising ``ValueError``/``AssertionError`` also reports an error."""

Transformer = Callable[[Any], Any]
"""``fn(value) -> new value``; raising ``ValueError`` reports an error (fed back to the model)."""

# pydantic error types raised by user validators rather than by type checks
_VALIDATOR_ERROR_TYPES = frozenset({"value_error", "assertion_error"})

MAX_ANSWER_DEPTH = 128
"""Deepest nesting of objects/arrays accepted in an answer: validators recurse per level, and a
hostile answer must fail an attempt, not overflow the stack."""

_TOO_DEEP = "the answer nests too deeply to validate; answer with a flatter value"


def json_depth(value: Any) -> int:
    """Nesting depth of objects and arrays in ``value`` (iterative: any depth is safe)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return deepest


@dataclass(frozen=True, slots=True)
class PipelineContext:
    """What the stages need besides the value."""

    response_model: ResponseModel
    validators: tuple[Validator, ...] = ()
    transformers: tuple[Transformer, ...] = ()
    output: Callable[[Any], Any] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


class Stage(Protocol):
    """A replaceable pipeline stage."""

    @property
    def name(self) -> str: ...

    def run(self, value: Any, ctx: PipelineContext) -> Any: ...


ParseMode = Literal["tolerant", "strict"]
"""How the extract stage reads a text answer: ``tolerant`` (the schema-aligned parser of
:mod:`instructor_py.pipeline.tolerant`, the default) or ``strict`` (only strict JSON: the whole
text, a fenced block, or the first balanced braces)."""

PARSE_MODES: tuple[ParseMode, ...] = ("tolerant", "strict")


@dataclass(frozen=True, slots=True)
class Repaired:
    """A stage's success value together with the repairs that reading it needed. The pipeline
    unwraps it (the next stage gets ``value``) and collects ``repairs`` for the response."""

    value: Any
    repairs: tuple[Repair, ...]


@dataclass(frozen=True, slots=True)
class ExtractStage:
    """Text -> JSON data, then the response model's ``prepare``.

    ``parsing="strict"`` runs the strict extraction chain only. ``parsing="tolerant"`` (the
    default) keeps every answer the strict chain reads *and the schema accepts* exactly as the
    strict chain reads it; any other answer goes to the tolerant parser, guided by the response
    model's schema. Its reading is returned as :class:`Repaired` (value and repairs); an
    ambiguous answer fails with a message naming the ambiguity; an answer it cannot read either
    gets the strict chain's result and messages, as in strict mode."""

    chain: tuple[Extractor, ...] = DEFAULT_CHAIN
    name: str = "extract"
    parsing: ParseMode = "tolerant"

    def __post_init__(self) -> None:
        if self.parsing not in PARSE_MODES:
            raise ValueError(f"parsing must be one of {PARSE_MODES}, got {self.parsing!r}")

    def run(self, value: Any, ctx: PipelineContext) -> Any:
        text = value if isinstance(value, str) else str(value)
        if not text.strip():
            return StageFailure.single(
                self.name, "the answer was empty; answer with a JSON object that fits the schema"
            )
        if self.parsing == "strict":
            return self._strict(text, ctx)
        model = ctx.response_model
        found = extract_json(text, self.chain)
        if found is not None and json_depth(found.value) <= MAX_ANSWER_DEPTH:
            prepared = model.prepare(found.value)
            if schema_accepts(model, prepared):
                return prepared
        result = parse_tolerant(text, tolerant_schema(model))
        if isinstance(result, ParseResult):
            if json_depth(result.value) > MAX_ANSWER_DEPTH:
                return self._strict(text, ctx)
            prepared = model.prepare(result.value)
            return Repaired(prepared, result.repairs) if result.repairs else prepared
        if result.kind == "ambiguous":
            return StageFailure.single(
                self.name,
                f"the answer is ambiguous: {result.message}; answer with a single JSON value "
                "that fits the schema",
                result.path,
            )
        return self._strict(text, ctx)

    def _strict(self, text: str, ctx: PipelineContext) -> Any:
        """The strict chain (``parsing="strict"``, and answers the tolerant parser cannot read)."""
        found = extract_json(text, self.chain)
        if found is None and (depth := bracket_depth(text)) > MAX_ANSWER_DEPTH:
            return StageFailure.single(
                self.name,
                f"the answer nests {depth} levels deep (the limit is {MAX_ANSWER_DEPTH}); answer "
                "with a flatter JSON object that fits the schema",
            )
        if found is None:
            snippet = text.strip()[:80]
            return StageFailure.single(
                self.name,
                f"no JSON found in the answer (it began {snippet!r}); answer with a single JSON "
                "object that fits the schema",
            )
        depth = json_depth(found.value)
        if depth > MAX_ANSWER_DEPTH:
            return StageFailure.single(
                self.name,
                f"the answer nests {depth} levels deep (the limit is {MAX_ANSWER_DEPTH}); answer "
                "with a flatter JSON object that fits the schema",
            )
        return ctx.response_model.prepare(found.value)


_PROBE = object()


def tolerant_schema(model: ResponseModel) -> Mapping[str, Any]:
    """The schema the tolerant parser reads an answer with: the response model's schema, or,
    for a model whose ``prepare`` wraps a bare value (scalars, lists), either the wrapper object
    or the bare value (``{"anyOf": [wrapper, inner]}``, definitions kept at the root)."""
    schema = model.reading_schema
    field_name = model.wrapper_field
    if field_name is None:
        return schema
    probe = model.prepare(_PROBE)
    props = schema.get("properties")
    if not (isinstance(probe, dict) and probe.get(field_name) is _PROBE):
        return schema
    if not isinstance(props, Mapping) or field_name not in props:
        return schema
    outer = {k: v for k, v in schema.items() if k not in ("$defs", "definitions")}
    combined: dict[str, Any] = {"anyOf": [outer, props[field_name]]}
    for key in ("$defs", "definitions"):
        if key in schema:
            combined[key] = schema[key]
    return combined


def schema_accepts(model: ResponseModel, value: Any) -> bool:
    """Whether ``value`` satisfies the response model's JSON schema."""
    fast = model.schema_is_valid
    if fast is not None and _valid(fast, value):
        return True
    try:
        return bool(model.schema_validator.is_valid(value))
    except RecursionError:
        return False


@dataclass(frozen=True, slots=True)
class SchemaStage:
    """Validate JSON data against the response model's JSON schema (jsonschema)."""

    name: str = "schema"

    def run(self, value: Any, ctx: PipelineContext) -> Any:
        fast = ctx.response_model.schema_is_valid
        if fast is not None and _valid(fast, value):
            return value
        validator = ctx.response_model.schema_validator
        try:
            errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        except RecursionError:
            return StageFailure.single(self.name, _TOO_DEEP)
        if not errors:
            return value
        return StageFailure(
            self.name,
            tuple(FieldError(json_path(e.absolute_path), e.message) for e in errors[:20]),
        )


def _valid(is_valid: Callable[[Any], bool], value: Any) -> bool:
    try:
        return is_valid(value)
    except Exception:  # a value it cannot read: jsonschema decides
        return False


def pydantic_errors(exc: ValidationError) -> tuple[FieldError, ...]:
    out = []
    for err in exc.errors(include_url=False):
        msg = str(err["msg"])
        if err["type"] not in _VALIDATOR_ERROR_TYPES and "input" in err:
            shown = repr(err["input"])
            msg += f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
        out.append(FieldError(json_path(err["loc"]), msg))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class DeserializeStage:
    """JSON data -> Python objects (pydantic), then unwrap. A failure whose errors all come from
    the model's own validators (``@field_validator``...) is reported as stage ``validate``."""

    name: str = "deserialize"

    def run(self, value: Any, ctx: PipelineContext) -> Any:
        try:
            obj = ctx.response_model.deserialize(value)
        except RecursionError:
            return StageFailure.single(self.name, _TOO_DEEP)
        except ValidationError as exc:
            types = {e["type"] for e in exc.errors()}
            stage = "validate" if types <= _VALIDATOR_ERROR_TYPES else self.name
            return StageFailure(stage, pydantic_errors(exc))
        return ctx.response_model.unwrap(obj)


@dataclass(frozen=True, slots=True)
class ValidateStage:
    """Run the ``with_validator`` callables on the caller's value; every error is collected."""

    name: str = "validate"

    def run(self, value: Any, ctx: PipelineContext) -> Any:
        errors: list[FieldError] = []
        for fn in ctx.validators:
            try:
                result = fn(value)
            except (ValueError, AssertionError) as exc:
                if isinstance(exc, ValidationError):
                    errors.extend(pydantic_errors(exc))
                else:
                    errors.append(FieldError("$", str(exc) or type(exc).__name__))
                continue
            errors.extend(_validator_result(fn, result))
        if errors:
            return StageFailure(self.name, tuple(errors))
        return value


def _validator_result(fn: Validator, result: Any) -> list[FieldError]:
    if result is None or result is True:
        return []
    if result is False:
        name = getattr(fn, "__name__", "validator")
        return [FieldError("$", f"the answer failed the check {name!r}")]
    if isinstance(result, str):
        return [FieldError("$", result)]
    if isinstance(result, list | tuple):
        return [FieldError("$", str(r)) for r in result]
    return []


@dataclass(frozen=True, slots=True)
class TransformStage:
    """Apply the ``with_transformer`` callables in order, then the output format (``into_dict`` /
    ``into(cls)``)."""

    name: str = "transform"

    def run(self, value: Any, ctx: PipelineContext) -> Any:
        try:
            for fn in ctx.transformers:
                value = fn(value)
            if ctx.output is not None:
                value = ctx.output(value)
        except ValidationError as exc:
            return StageFailure(self.name, pydantic_errors(exc))
        except ValueError as exc:
            return StageFailure.single(self.name, str(exc) or type(exc).__name__)
        return value


def to_plain(value: Any) -> Any:
    """Python data without models: BaseModels, dataclasses and Maybe results become dicts."""
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if hasattr(value, "__dataclass_fields__") and not isinstance(value, type):
        return {name: to_plain(getattr(value, name)) for name in value.__dataclass_fields__}
    return value


def into_type(cls: Any) -> Callable[[Any], Any]:
    adapter: TypeAdapter[Any] = TypeAdapter(cls)

    def convert(value: Any) -> Any:
        if isinstance(cls, type) and isinstance(value, cls):
            return value
        return adapter.validate_python(to_plain(value))

    return convert


DEFAULT_STAGES: tuple[Stage, ...] = (
    ExtractStage(),
    SchemaStage(),
    DeserializeStage(),
    ValidateStage(),
    TransformStage(),
)
