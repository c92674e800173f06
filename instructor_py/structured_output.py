"""``StructuredOutput``: the immutable builder of a structured-output call.

Every method returns a new instance (``dataclasses.replace``); nothing is sent before ``get()``,
``response()``, ``aget()`` or ``aresponse()`` (on the builder or on the
:class:`~instructor_py.pending.PendingStructuredOutput` from ``create()``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, cast, overload

from pydantic.errors import PydanticSchemaGenerationError, PydanticUserError
from typing_extensions import TypedDict, TypeVar, Unpack

from instructor_py.emitter import EventDispatcher, Handler
from instructor_py.errors import ConfigurationError, InvalidArgumentError
from instructor_py.events import Event
from instructor_py.messages import Example, normalize_examples, normalize_messages
from instructor_py.modes import OutputMode
from instructor_py.pending import PendingStructuredOutput
from instructor_py.pipeline.pipeline import ResponsePipeline
from instructor_py.pipeline.stages import (
    Transformer,
    Validator,
    into_type,
    to_plain,
)
from instructor_py.plan import ExecutionPlan, build_plan
from instructor_py.provider_source import ProviderSource, default_source, shared_source
from instructor_py.providers.base import InferenceProvider, Message
from instructor_py.response import StructuredOutputResponse
from instructor_py.response_models.base import ResponseModel
from instructor_py.response_models.factory import to_response_model
from instructor_py.response_models.maybe import Maybe, MaybeResult
from instructor_py.response_models.sequence import Sequence
from instructor_py.retry import DEFAULT_MAX_RETRIES, DEFAULT_RETRY_PROMPT, ValidationRetryPolicy
from instructor_py.transport import TransportRetryPolicy

if TYPE_CHECKING:
    from instructor_py.streaming.stream import AsyncStructuredOutputStream, StructuredOutputStream

_EMPTY: Mapping[str, Any] = MappingProxyType({})


T = TypeVar("T", default=Any)
U = TypeVar("U")


class CallParts(TypedDict, total=False):
    """The keyword arguments of :meth:`StructuredOutput.with_` besides messages/response_model."""

    system: str | None
    prompt: str | None
    examples: Any
    model: str | None
    options: Mapping[str, Any] | None
    mode: OutputMode | str | None
    max_retries: int | None
    retry_prompt: str | None
    tool_name: str | None
    tool_description: str | None


@dataclass(frozen=True, slots=True)
class StructuredOutput(Generic[T]):
    """Build a call with ``with_(...)`` / ``with_*`` / ``using(...)``, then ``get()``.

    ``max_retries`` counts validation retries after the first attempt (default
    :data:`~instructor_py.retry.DEFAULT_MAX_RETRIES` = 2, i.e. at most 3 calls).

    ``T`` is the type ``get()`` returns; it follows the response model (``User`` -> ``User``,
    ``Sequence.of(User)`` -> ``list[User]``, ``Maybe(User)`` -> ``MaybeResult[User]``) and
    ``into``/``with_transformer``.
    """

    messages: tuple[Message, ...] = ()
    response_model: ResponseModel | None = None
    system: str | None = None
    prompt: str | None = None
    examples: tuple[Example, ...] = ()
    model: str | None = None
    options: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    mode: OutputMode | None = None
    max_retries: int = DEFAULT_MAX_RETRIES
    retry_prompt: str = DEFAULT_RETRY_PROMPT
    retry_options: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    tool_name: str | None = None
    tool_description: str | None = None
    validators: tuple[Validator, ...] = ()
    transformers: tuple[Transformer, ...] = ()
    output: Callable[[Any], Any] | None = None
    output_name: str | None = None
    provider: InferenceProvider | None = None
    source: ProviderSource | None = None
    events: EventDispatcher = field(default_factory=EventDispatcher)
    pipeline: ResponsePipeline = field(default_factory=ResponsePipeline)
    transport_policy: TransportRetryPolicy = field(default_factory=TransportRetryPolicy)

    # -- configuration ------------------------------------------------------------------------

    # The overloads make ``get()`` typed after the response model; the ``None`` one comes first so
    # that a call without a response model keeps the current type.
    @overload
    def with_(
        self, messages: Any = None, response_model: None = None, **parts: Unpack[CallParts]
    ) -> StructuredOutput[T]: ...

    @overload
    def with_(
        self, messages: Any = None, response_model: Sequence[U] = ..., **parts: Unpack[CallParts]
    ) -> StructuredOutput[list[U]]: ...

    @overload
    def with_(
        self, messages: Any = None, response_model: Maybe[U] = ..., **parts: Unpack[CallParts]
    ) -> StructuredOutput[MaybeResult[U]]: ...

    @overload
    def with_(
        self, messages: Any = None, response_model: type[U] = ..., **parts: Unpack[CallParts]
    ) -> StructuredOutput[U]: ...

    @overload
    def with_(
        self, messages: Any = None, response_model: Any = ..., **parts: Unpack[CallParts]
    ) -> StructuredOutput[Any]: ...

    def with_(
        self,
        messages: Any = None,
        response_model: Any = None,
        *,
        system: str | None = None,
        prompt: str | None = None,
        examples: Any = None,
        model: str | None = None,
        options: Mapping[str, Any] | None = None,
        mode: OutputMode | str | None = None,
        max_retries: int | None = None,
        retry_prompt: str | None = None,
        tool_name: str | None = None,
        tool_description: str | None = None,
    ) -> StructuredOutput[Any]:
        """Set any of the call's parts at once (``None`` leaves a part unchanged). Only
        ``messages`` and ``response_model`` may be passed positionally."""
        new: StructuredOutput[Any] = self
        if messages is not None:
            new = new.with_messages(messages)
        if response_model is not None:
            new = new.with_response_model(response_model)
        if system is not None:
            new = new.with_system(system)
        if prompt is not None:
            new = new.with_prompt(prompt)
        if examples is not None:
            new = new.with_examples(examples)
        if model is not None:
            new = new.with_model(model)
        if options is not None:
            new = new.with_options(options)
        if mode is not None:
            new = new.with_output_mode(mode)
        if max_retries is not None:
            new = new.with_max_retries(max_retries)
        if retry_prompt is not None:
            new = new.with_retry_prompt(retry_prompt)
        if tool_name is not None or tool_description is not None:
            new = new.with_tool(tool_name, tool_description)
        return new

    def with_messages(self, messages: Any) -> StructuredOutput[T]:
        """A str (one user message), a message dict, or a list of message dicts (copied)."""
        return replace(self, messages=normalize_messages(messages))

    @overload
    def with_response_model(self, response_model: Sequence[U]) -> StructuredOutput[list[U]]: ...

    @overload
    def with_response_model(
        self, response_model: Maybe[U]
    ) -> StructuredOutput[MaybeResult[U]]: ...

    @overload
    def with_response_model(self, response_model: type[U]) -> StructuredOutput[U]: ...

    @overload
    def with_response_model(self, response_model: Any) -> StructuredOutput[Any]: ...

    def with_response_model(self, response_model: Any) -> StructuredOutput[Any]:
        """Any supported response model; unsupported ones fail here, at build time. The value
        type follows it: ``User`` -> ``User``, ``Sequence.of(User)``/``list[User]`` ->
        ``list[User]``, ``Maybe(User)`` -> ``MaybeResult[User]``, ``int`` -> ``int``."""
        return replace(self, response_model=to_response_model(response_model))

    def with_system(self, system: str) -> StructuredOutput[T]:
        return replace(self, system=_text(system, "system"))

    def with_prompt(self, prompt: str) -> StructuredOutput[T]:
        return replace(self, prompt=_text(prompt, "prompt"))

    def with_examples(self, examples: Any) -> StructuredOutput[T]:
        return replace(self, examples=normalize_examples(examples))

    def with_model(self, model: str) -> StructuredOutput[T]:
        return replace(self, model=_text(model, "model"))

    def with_options(
        self, options: Mapping[str, Any] | None = None, **more: Any
    ) -> StructuredOutput[T]:
        """Merge provider options (temperature, max_tokens, seed...) into the current ones."""
        if options is not None and not isinstance(options, Mapping):
            raise InvalidArgumentError(f"options must be a mapping, got {type(options).__name__}")
        merged = _option_names({**self.options, **(options or {}), **more}, "options")
        return replace(self, options=MappingProxyType(merged))

    def with_output_mode(self, mode: OutputMode | str) -> StructuredOutput[T]:
        try:
            resolved = OutputMode(mode)
        except ValueError:
            raise ConfigurationError(
                f"Unknown output mode {mode!r}; use one of {[m.value for m in OutputMode]}"
            ) from None
        return replace(self, mode=resolved)

    def with_max_retries(self, max_retries: int) -> StructuredOutput[T]:
        """Validation retries after the first attempt (0 = a single attempt)."""
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigurationError(f"max_retries must be an int >= 0, got {max_retries!r}")
        return replace(self, max_retries=max_retries)

    def with_retry_prompt(self, retry_prompt: str) -> StructuredOutput[T]:
        """The feedback message; ``{errors}`` is replaced by the error list."""
        return replace(self, retry_prompt=_text(retry_prompt, "retry_prompt"))

    def with_retry_options(
        self, options: Mapping[str, Any] | None = None, **more: Any
    ) -> StructuredOutput[T]:
        """Provider options for the retries only, merged over ``options`` from the second attempt
        on: e.g. ``with_retry_options(temperature=0.7)`` so a greedy local model does not repeat
        the same rejected answer."""
        if options is not None and not isinstance(options, Mapping):
            raise InvalidArgumentError(
                f"retry options must be a mapping, got {type(options).__name__}"
            )
        merged = _option_names({**self.retry_options, **(options or {}), **more}, "retry options")
        return replace(self, retry_options=MappingProxyType(merged))

    def with_tool(
        self, name: str | None = None, description: str | None = None
    ) -> StructuredOutput[T]:
        """Name and describe the tool the model must call in TOOLS mode."""
        return replace(
            self,
            tool_name=_text(name, "tool_name") if name is not None else self.tool_name,
            tool_description=(
                _text(description, "tool_description")
                if description is not None
                else self.tool_description
            ),
        )

    def with_validator(self, fn: Callable[[T], Any]) -> StructuredOutput[T]:
        """Add a check on the value: return None/True if valid, False or error text if not (or
        raise ValueError). Failures are fed back to the model."""
        return replace(self, validators=(*self.validators, _callable(fn, "validator")))

    def with_transformer(self, fn: Callable[[T], U]) -> StructuredOutput[U]:
        """Add a function applied to the validated value (in order); the value type becomes its
        return type."""
        new = replace(self, transformers=(*self.transformers, _callable(fn, "transformer")))
        return cast("StructuredOutput[U]", new)

    def with_pipeline(self, pipeline: ResponsePipeline) -> StructuredOutput[T]:
        """Replace the response pipeline (e.g. ``ResponsePipeline().replace("extract", ...)``)."""
        return replace(self, pipeline=_instance(pipeline, ResponsePipeline, "pipeline"))

    def with_transport_retry_policy(self, policy: TransportRetryPolicy) -> StructuredOutput[T]:
        return replace(self, transport_policy=_instance(policy, TransportRetryPolicy, "policy"))

    def into_dict(self) -> StructuredOutput[Any]:
        """Return plain Python data (dicts/lists) instead of model instances."""
        return replace(self, output=to_plain, output_name="dict")

    @overload
    def into(self, cls: type[U]) -> StructuredOutput[U]: ...

    @overload
    def into(self, cls: Any) -> StructuredOutput[Any]: ...

    def into(self, cls: Any) -> StructuredOutput[Any]:
        """Return the value converted into ``cls`` (a model, dataclass, TypedDict...)."""
        try:
            convert = into_type(cls)
        except (PydanticSchemaGenerationError, PydanticUserError) as exc:
            raise ConfigurationError(
                f"into({cls!r}): pydantic cannot build values of this type "
                f"({str(exc).splitlines()[0]}); pass a BaseModel, dataclass or TypedDict"
            ) from None
        return replace(self, output=convert, output_name=getattr(cls, "__name__", repr(cls)))

    # -- provider -----------------------------------------------------------------------------

    def using(self, preset: str, **overrides: Any) -> StructuredOutput[T]:
        """Use a provider preset (``"openai"``, ``"anthropic"``, ``"ollama"``, ``"local"``...)
        with overrides such as ``api_key``, ``base_url``, ``model``; created lazily, once."""
        return replace(self, provider=None, source=shared_source(preset, overrides))

    def with_provider(self, provider: InferenceProvider) -> StructuredOutput[T]:
        if not isinstance(provider, InferenceProvider):
            raise InvalidArgumentError(
                "with_provider() needs an InferenceProvider (name, default_model, default_mode, "
                f"supported_modes, infer/ainfer/stream/astream), got {type(provider).__name__}"
            )
        return replace(self, provider=provider, source=None)

    def resolve_provider(self) -> InferenceProvider:
        if self.provider is not None:
            return self.provider
        return (self.source or default_source()).resolve()

    # -- events -------------------------------------------------------------------------------

    def on_event(self, event_type: type[Event], handler: Handler) -> StructuredOutput[T]:
        """Call ``handler(event)`` for every event that is an instance of ``event_type``."""
        if not (isinstance(event_type, type) and issubclass(event_type, Event)):
            raise InvalidArgumentError(f"event_type must be an Event subclass, got {event_type!r}")
        return replace(
            self, events=self.events.with_handler(event_type, _callable(handler, "handler"))
        )

    def wiretap(self, handler: Handler) -> StructuredOutput[T]:
        """Call ``handler(event)`` for every event."""
        return replace(self, events=self.events.with_wiretap(_callable(handler, "handler")))

    # -- execution ----------------------------------------------------------------------------

    def plan(self, *, request_id: str | None = None) -> ExecutionPlan:
        """Resolve the provider and mode, and build the first request (no I/O to the model)."""
        return build_plan(
            provider=self.resolve_provider(),
            response_model=self.response_model,
            messages=self.messages,
            mode=self.mode,
            system=self.system,
            prompt=self.prompt,
            examples=self.examples,
            model=self.model,
            options=self.options,
            tool_name=self.tool_name,
            tool_description=self.tool_description,
            validators=self.validators,
            transformers=self.transformers,
            output=self.output,
            retry_policy=ValidationRetryPolicy(
                self.max_retries, self.retry_prompt, self.retry_options
            ),
            pipeline=self.pipeline,
            transport_policy=self.transport_policy,
            events=self.events,
            request_id=request_id,
        )

    def create(self) -> PendingStructuredOutput[T]:
        """A lazy call: nothing is sent until ``get()``/``response()``/``aget()``/``aresponse()``."""
        return PendingStructuredOutput[T](self.plan())

    def get(self) -> T:
        return self.create().get()

    def response(self) -> StructuredOutputResponse[T]:
        return self.create().response()

    async def aget(self) -> T:
        return await self.create().aget()

    async def aresponse(self) -> StructuredOutputResponse[T]:
        return await self.create().aresponse()

    def stream(self, *, partial_strings: bool = True) -> StructuredOutputStream[T]:
        """Shorthand for ``create().stream()`` (see :mod:`instructor_py.streaming.stream`)."""
        return self.create().stream(partial_strings=_flag(partial_strings, "partial_strings"))

    def astream(self, *, partial_strings: bool = True) -> AsyncStructuredOutputStream[T]:
        """Shorthand for ``create().astream()``."""
        return self.create().astream(partial_strings=_flag(partial_strings, "partial_strings"))

    def __repr__(self) -> str:
        if self.provider is not None:
            where = f"provider={self.provider.name!r}"
        elif self.source is not None:
            where = f"preset={self.source.preset!r}, overrides={list(self.source.override_names)}"
        else:
            where = "preset=<default>"
        model = self.response_model.name if self.response_model is not None else None
        return (
            f"StructuredOutput({where}, response_model={model!r}, "
            f"mode={self.mode.value if self.mode else None!r}, model={self.model!r}, "
            f"messages={len(self.messages)}, max_retries={self.max_retries})"
        )


def _text(value: Any, argument: str) -> str:
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{argument} must be a str, got {type(value).__name__}")
    return value


def _callable(fn: Any, argument: str) -> Any:
    if not callable(fn):
        raise InvalidArgumentError(f"{argument} must be callable, got {type(fn).__name__}")
    return fn


def _instance(value: Any, cls: type, argument: str) -> Any:
    if not isinstance(value, cls):
        raise InvalidArgumentError(
            f"{argument} must be a {cls.__name__}, got {type(value).__name__}"
        )
    return value


def _flag(value: Any, argument: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"{argument} must be True or False, got {value!r}")
    return value


def _option_names(options: dict[Any, Any], argument: str) -> dict[str, Any]:
    bad = [k for k in options if not isinstance(k, str)]
    if bad:
        raise InvalidArgumentError(f"{argument} names must be str, got {bad[0]!r}")
    return options
