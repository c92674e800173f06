"""``CallSpec``: the one immutable description of a structured-output call's parts.

The builder (:class:`~instructor_py.client.structured_output.StructuredOutput`) holds one ``CallSpec``
and changes it only through :meth:`CallSpec.with_`; :func:`~instructor_py.run.plan.build_plan` reads
it, resolves what depends on the provider (mode, model, tool) and builds the first request from
it. A part is declared once, here: a field with its default, plus its entry in :data:`_PARTS`
(how a new value is checked and combined with the current one). Adding a part to a call is adding
those two lines (and a ``with_*`` method on the builder if it deserves one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any

from pydantic.errors import PydanticSchemaGenerationError, PydanticUserError
from typing_extensions import TypedDict

from instructor_py.common.errors import ConfigurationError, InvalidArgumentError
from instructor_py.common.modes import OutputMode, parse_mode
from instructor_py.guidance import GuidanceTemplate
from instructor_py.pipeline.pipeline import ResponsePipeline
from instructor_py.pipeline.stages import PipelineContext, Transformer, Validator, into_type
from instructor_py.providers.base import Message
from instructor_py.providers.media_fetch import MediaPolicy
from instructor_py.response_models.base import ResponseModel
from instructor_py.response_models.factory import to_response_model
from instructor_py.run.cache import ResponseCache, to_cache
from instructor_py.run.messages import Example, normalize_examples, normalize_messages
from instructor_py.run.retry import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_RETRY_PROMPT,
    RETRY_FEEDBACKS,
    ValidationRetryPolicy,
)
from instructor_py.run.schema_text import SCHEMA_PROMPTS
from instructor_py.run.tenacity_retry import TenacityRetry, is_tenacity_object
from instructor_py.run.transport import TransportRetry, TransportRetryPolicy

__all__ = ["CallParts", "CallSpec"]

EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class CallSpec:
    """What to ask (messages, system, prompt, examples), what to get back (response model, mode,
    tool, validators, transformers, output conversion), how (model, options) and how to recover
    (validation retries, transport retries, the response ``cache``, the ``token_budget`` of the
    whole call, streaming constraint checking: ``check_stream``
    ``None`` checks streamed calls and ``get()`` on providers that stream their answers,
    ``True`` makes ``get()`` stream to be checked on any provider, ``False`` turns it off; see
    :mod:`instructor_py.streaming.check`)."""

    messages: tuple[Message, ...] = ()
    response_model: ResponseModel | None = None
    system: str | None = None
    prompt: str | None = None
    examples: tuple[Example, ...] = ()
    model: str | None = None
    options: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    mode: OutputMode | None = None
    max_retries: int = DEFAULT_MAX_RETRIES
    retry_prompt: str = DEFAULT_RETRY_PROMPT
    retry_options: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    tool_name: str | None = None
    tool_description: str | None = None
    validators: tuple[Validator, ...] = ()
    transformers: tuple[Transformer, ...] = ()
    output: Callable[[Any], Any] | None = None
    output_name: str | None = None
    pipeline: ResponsePipeline = field(default_factory=ResponsePipeline)
    transport_policy: TransportRetry = field(default_factory=TransportRetryPolicy)
    check_stream: bool | None = None
    template: GuidanceTemplate | None = None
    thinking: int | None = None
    media_policy: MediaPolicy | None = None
    cache: ResponseCache | None = None
    token_budget: int | None = None
    schema_prompt: str = "compact"
    retry_feedback: str = "focused"

    def with_(self, **parts: Any) -> CallSpec:
        """A copy with the named parts set, each checked (and merged, for options and the
        validator/transformer chains) by its rule in :data:`_PARTS`; ``None`` leaves a part as it
        is. An unknown name is a ``TypeError`` naming the known ones."""
        changes: dict[str, Any] = {}
        for name, value in parts.items():
            if value is None:
                continue
            rule = _PARTS.get(name)
            if rule is None:
                raise InvalidArgumentError(
                    f"unknown call part {name!r}; the parts are {sorted(_PARTS)}"
                )
            changes[name] = rule(self, value, name)
        return replace(self, **changes) if changes else self

    def summary(self) -> str:
        """A short description for reprs (no message text, no option values)."""
        model = self.response_model.name if self.response_model is not None else None
        return (
            f"response_model={model!r}, mode={self.mode.value if self.mode else None!r}, "
            f"model={self.model!r}, messages={len(self.messages)}, max_retries={self.max_retries}"
        )

    def retry_policy(self) -> ValidationRetryPolicy:
        return ValidationRetryPolicy(
            self.max_retries, self.retry_prompt, self.retry_options, self.retry_feedback
        )

    def context(self, response_model: ResponseModel) -> PipelineContext:
        return PipelineContext(
            response_model=response_model,
            validators=self.validators,
            transformers=self.transformers,
            output=self.output,
        )


class CallParts(TypedDict, total=False):
    """The keyword arguments of :meth:`~instructor_py.client.structured_output.StructuredOutput.with_` (the :class:`CallSpec` parts a
    caller sets by name; see there what each means)."""

    system: str | None
    prompt: str | None
    examples: Any
    model: str | None
    options: Mapping[str, Any] | None
    mode: OutputMode | str | None
    max_retries: int | None
    retry_prompt: str | None
    retry_options: Mapping[str, Any] | None
    tool_name: str | None
    tool_description: str | None
    check_stream: bool | None
    thinking: int | None
    media_policy: MediaPolicy | None
    token_budget: int | None
    cache: Any
    schema_prompt: str | None
    retry_feedback: str | None


# -- the rules: (current spec, new value, part name) -> the part's new value ----------------------

Rule = Callable[[CallSpec, Any, str], Any]


def text(value: Any, argument: str) -> str:
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{argument} must be a str, got {type(value).__name__}")
    return value


def flag(value: Any, argument: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"{argument} must be a bool (True or False), got {value!r}")
    return value


def checked_callable(fn: Any, argument: str) -> Any:
    if not callable(fn):
        raise InvalidArgumentError(f"{argument} must be callable, got {type(fn).__name__}")
    return fn


def required(value: Any, argument: str) -> Any:
    """``with_x(None)`` is a mistake (``with_(x=None)`` leaves ``x`` unchanged)."""
    if value is None:
        raise InvalidArgumentError(f"{argument} must not be None")
    return value


def merged_options(options: Any, more: Mapping[str, Any], argument: str) -> Mapping[str, Any]:
    """``with_options({...}, key=value)``: the mapping and the keywords, as one mapping."""
    if options is not None and not isinstance(options, Mapping):
        raise InvalidArgumentError(f"{argument} must be a mapping, got {type(options).__name__}")
    return _option_names({**(options or {}), **more}, argument)


def _option_names(options: dict[Any, Any], argument: str) -> dict[str, Any]:
    bad = [k for k in options if not isinstance(k, str)]
    if bad:
        raise InvalidArgumentError(f"{argument} names must be str, got {bad[0]!r}")
    return options


def output_into(cls: Any) -> tuple[Callable[[Any], Any], str]:
    """The output conversion of ``into(cls)`` and its name."""
    try:
        convert = into_type(cls)
    except (PydanticSchemaGenerationError, PydanticUserError) as exc:
        raise ConfigurationError(
            f"into({cls!r}): pydantic cannot build values of this type "
            f"({str(exc).splitlines()[0]}); pass a BaseModel, dataclass or TypedDict"
        ) from None
    return convert, str(getattr(cls, "__name__", repr(cls)))


def _text(spec: CallSpec, value: Any, name: str) -> str:
    return text(value, name)


def _merged(spec: CallSpec, value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(f"{name} must be a mapping, got {type(value).__name__}")
    return MappingProxyType(_option_names({**getattr(spec, name), **value}, name))


def _appended(spec: CallSpec, value: Any, name: str) -> tuple[Any, ...]:
    return (*getattr(spec, name), checked_callable(value, name.removesuffix("s")))


def _mode(spec: CallSpec, value: Any, name: str) -> OutputMode:
    return parse_mode(value, "with_(mode=...)")


def _max_retries(spec: CallSpec, value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"max_retries must be an int >= 0, got {value!r}")
    return value


def _flag(spec: CallSpec, value: Any, name: str) -> bool:
    return flag(value, name)


def _instance(kind: type[Any]) -> Rule:
    def rule(spec: CallSpec, value: Any, name: str) -> Any:
        if not isinstance(value, kind):
            raise InvalidArgumentError(
                f"{name} must be a {kind.__name__}, got {type(value).__name__}"
            )
        return value

    return rule


def _transport(spec: CallSpec, value: Any, name: str) -> TransportRetry:
    if is_tenacity_object(value):
        return TenacityRetry(value)
    if isinstance(value, TransportRetry):
        return value
    raise InvalidArgumentError(
        "the transport retry policy must be a TransportRetryPolicy, a tenacity.Retrying / "
        f"AsyncRetrying, or an object with begin() and next_delay(error, failed_try); got {value!r}"
    )


def _token_budget(spec: CallSpec, value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"token_budget must be an int >= 1 (tokens), got {value!r}")
    return value


def _thinking(spec: CallSpec, value: Any, name: str) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"thinking must be an int >= 0 (tokens), got {value!r}")
    return value or None  # 0 turns it off


def _schema_prompt(spec: CallSpec, value: Any, name: str) -> str:
    if value not in SCHEMA_PROMPTS:
        raise InvalidArgumentError(
            f"schema_prompt must be one of {', '.join(map(repr, SCHEMA_PROMPTS))} (how JSON, "
            f"MD_JSON and GRAMMAR modes show the schema to the model), got {value!r}"
        )
    return str(value)


def _retry_feedback(spec: CallSpec, value: Any, name: str) -> str:
    if value not in RETRY_FEEDBACKS:
        raise InvalidArgumentError(
            f"retry_feedback must be one of {', '.join(map(repr, RETRY_FEEDBACKS))} ('focused' "
            "names only the failing fields, 'full' replays the conversation), got "
            f"{value!r}"
        )
    return str(value)


_PARTS: Mapping[str, Rule] = MappingProxyType(
    {
        "messages": lambda spec, value, name: normalize_messages(value),
        "response_model": lambda spec, value, name: to_response_model(value),
        "system": _text,
        "prompt": _text,
        "examples": lambda spec, value, name: normalize_examples(value),
        "model": _text,
        "options": _merged,
        "mode": _mode,
        "max_retries": _max_retries,
        "retry_prompt": _text,
        "retry_options": _merged,
        "tool_name": _text,
        "tool_description": _text,
        "validators": _appended,
        "transformers": _appended,
        "output": lambda spec, value, name: checked_callable(value, name),
        "output_name": _text,
        "pipeline": _instance(ResponsePipeline),
        "transport_policy": _transport,
        "check_stream": _flag,
        "template": _instance(GuidanceTemplate),
        "thinking": _thinking,
        "media_policy": _instance(MediaPolicy),
        "cache": lambda spec, value, name: to_cache(value),
        "token_budget": _token_budget,
        "schema_prompt": _schema_prompt,
        "retry_feedback": _retry_feedback,
    }
)

assert set(_PARTS) == {f.name for f in fields(CallSpec)}, "every CallSpec field needs a rule"
