"""``StructuredOutput``: the immutable builder of a structured-output call.

Every method returns a new instance (``dataclasses.replace``); nothing is sent before ``get()``,
``response()``, ``aget()`` or ``aresponse()`` (on the builder or on the
:class:`~instructor_py.client.pending.PendingStructuredOutput` from ``create()``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Generic, cast, overload

from typing_extensions import TypeVar, Unpack

from instructor_py.client.batch import BatchResult, Progress, arun_batch, run_batch
from instructor_py.client.pending import PendingStructuredOutput
from instructor_py.client.provider_source import ProviderSource, default_source, shared_source
from instructor_py.common.errors import ConfigurationError, InvalidArgumentError
from instructor_py.common.modes import OutputMode
from instructor_py.guidance import GuidanceTemplate
from instructor_py.pipeline.pipeline import ResponsePipeline
from instructor_py.pipeline.stages import PARSE_MODES, to_plain
from instructor_py.providers.base import InferenceProvider
from instructor_py.providers.media_fetch import MediaPolicy
from instructor_py.response_models.maybe import Maybe, MaybeResult
from instructor_py.response_models.sequence import Sequence
from instructor_py.run.cache import ResponseCache
from instructor_py.run.call_spec import (
    CallParts,
    CallSpec,
    checked_callable,
    flag,
    merged_options,
    output_into,
    required,
)
from instructor_py.run.emitter import EventDispatcher
from instructor_py.run.events import Event
from instructor_py.run.plan import ExecutionPlan, build_plan
from instructor_py.run.response import StructuredOutputResponse
from instructor_py.run.template_output import to_template
from instructor_py.run.tenacity_retry import TenacityRetry, is_tenacity_object
from instructor_py.run.transport import TransportRetryPolicy

if TYPE_CHECKING:
    from pathlib import Path

    from instructor_py.client.batch_job import BatchJob
    from instructor_py.client.job_store import JobStore
    from instructor_py.streaming.stream import AsyncStructuredOutputStream, StructuredOutputStream


T = TypeVar("T", default=Any)
U = TypeVar("U")
E = TypeVar("E", bound=Event)


@dataclass(frozen=True)  # no slots: frozen + slots + Generic breaks FrozenInstanceError on 3.11
class StructuredOutput(Generic[T]):
    """Build a call with ``with_(...)`` / ``with_*`` / ``using(...)``, then ``get()``.

    The call's parts live in one immutable :class:`~instructor_py.run.call_spec.CallSpec`
    (``builder.spec``; its fields are also readable on the builder: ``builder.messages``...);
    the builder adds where the provider comes from and who listens to the events.

    ``max_retries`` counts validation retries after the first attempt (default 2). ``T`` is the
    type ``get()`` returns; it follows the response model (``Sequence.of(User)`` ->
    ``list[User]``, ``Maybe(User)`` -> ``MaybeResult[User]``) and ``into``/``with_transformer``.
    """

    spec: CallSpec = field(default_factory=CallSpec)
    provider: InferenceProvider | None = None
    source: ProviderSource | None = None
    events: EventDispatcher = field(default_factory=EventDispatcher)

    def __getattr__(self, name: str) -> Any:
        """The call's parts read through the builder (``builder.messages``)."""
        if name in CallSpec.__dataclass_fields__:
            return getattr(self.spec, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _with(self, **parts: Any) -> StructuredOutput[T]:
        return replace(self, spec=self.spec.with_(**parts))

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
        self, messages: Any = None, response_model: Any = None, **parts: Unpack[CallParts]
    ) -> StructuredOutput[Any]:
        """Set any of the call's parts at once (``None`` leaves a part unchanged). Only
        ``messages`` and ``response_model`` may be passed positionally."""
        return self._with(messages=messages, response_model=response_model, **parts)

    def with_messages(self, messages: Any) -> StructuredOutput[T]:
        """A str (one user message), a message dict, or a list of message dicts (copied)."""
        return self._with(messages=messages)

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
        return self._with(response_model=response_model)

    def with_system(self, system: str) -> StructuredOutput[T]:
        return self._with(system=required(system, "system"))

    def with_prompt(self, prompt: str) -> StructuredOutput[T]:
        return self._with(prompt=required(prompt, "prompt"))

    def with_examples(self, examples: Any) -> StructuredOutput[T]:
        return self._with(examples=required(examples, "examples"))

    def with_model(self, model: str) -> StructuredOutput[T]:
        return self._with(model=required(model, "model"))

    def with_options(
        self, options: Mapping[str, Any] | None = None, **more: Any
    ) -> StructuredOutput[T]:
        """Merge provider options (temperature, max_tokens, seed...) into the current ones."""
        return self._with(options=merged_options(options, more, "options"))

    def with_output_mode(self, mode: OutputMode | str) -> StructuredOutput[T]:
        return self._with(mode=required(mode, "mode"))

    def with_max_retries(self, max_retries: int) -> StructuredOutput[T]:
        """Validation retries after the first attempt (0 = a single attempt)."""
        return self._with(max_retries=max_retries)

    def with_retry_prompt(self, retry_prompt: str) -> StructuredOutput[T]:
        """The feedback message; ``{errors}`` is replaced by the error list."""
        prompt = required(retry_prompt, "retry_prompt")
        return self._with(retry_prompt=prompt)

    def with_retry_options(
        self, options: Mapping[str, Any] | None = None, **more: Any
    ) -> StructuredOutput[T]:
        """Provider options for the retries only, merged over ``options`` from the second attempt
        on: e.g. ``with_retry_options(temperature=0.7)`` so a greedy local model does not repeat
        the same rejected answer."""
        merged = merged_options(options, more, "retry options")
        return self._with(retry_options=merged)

    def with_tool(
        self, name: str | None = None, description: str | None = None
    ) -> StructuredOutput[T]:
        """Name and describe the tool the model must call in TOOLS mode."""
        return self._with(tool_name=name, tool_description=description)

    def with_template(
        self, template: str | GuidanceTemplate, variables: Mapping[str, Any] | None = None
    ) -> StructuredOutput[T]:
        """Answer by filling in a Guidance-style template (see :mod:`instructor_py.guidance`;
        parsed now, errors name line and column): enforced on local models, prompted on remote."""
        return self._with(template=to_template(template, variables))

    def with_thinking(self, tokens: int) -> StructuredOutput[T]:
        """Up to ``tokens`` tokens of free text before the JSON (enforced on local models)."""
        return self._with(thinking=tokens)

    def with_validator(self, fn: Callable[[T], Any]) -> StructuredOutput[T]:
        """A check of the value: None/True if valid, False/error text/ValueError (fed back) if not."""
        return self._with(validators=checked_callable(fn, "validator"))

    def with_transformer(self, fn: Callable[[T], U]) -> StructuredOutput[U]:
        """Add a function applied to the validated value (in order); it sets the value type."""
        new = self._with(transformers=checked_callable(fn, "transformer"))
        return cast("StructuredOutput[U]", new)

    def with_pipeline(self, pipeline: ResponsePipeline) -> StructuredOutput[T]:
        """Replace the response pipeline (e.g. ``ResponsePipeline().replace("extract", ...)``)."""
        return self._with(pipeline=pipeline)

    def with_parsing(self, mode: str) -> StructuredOutput[T]:
        """How text answers are read: ``"tolerant"`` (the default: a schema-aligned parser that
        repairs syntax and coerces unambiguous values, recording each repair on
        ``response.repairs``; an ambiguous answer goes to the retry) or ``"strict"`` (only JSON as
        written: the whole text, a fenced block, or the first balanced braces)."""
        if mode not in PARSE_MODES:
            raise InvalidArgumentError(
                f"with_parsing() takes one of {', '.join(map(repr, PARSE_MODES))}, got {mode!r}"
            )
        try:
            pipeline = self.spec.pipeline.with_parsing(mode)
        except ValueError as exc:
            raise ConfigurationError(
                f"with_parsing(): {exc}; set the parsing mode before replacing the extract stage"
            ) from None
        return self._with(pipeline=pipeline)

    def with_transport_retry_policy(self, policy: TransportRetryPolicy) -> StructuredOutput[T]:
        return self._with(transport_policy=policy)

    def with_media_policy(
        self,
        policy: MediaPolicy | None = None,
        *,
        allow_private: bool | None = None,
        max_bytes: int | None = None,
        timeout: float | None = None,
        max_redirects: int | None = None,
    ) -> StructuredOutput[T]:
        """How media URLs may be downloaded when a provider needs their bytes (OpenAI audio and
        PDF parts): ``allow_private=True`` lets them reach loopback/private hosts (refused by
        default: SSRF guard), ``max_bytes`` caps a download (20 MiB), ``timeout`` bounds it (30 s).
        Keywords change the given (or current) policy."""
        base = policy or self.spec.media_policy or MediaPolicy()
        if not isinstance(base, MediaPolicy):
            raise InvalidArgumentError(
                f"with_media_policy() takes a MediaPolicy, got {type(base).__name__}"
            )
        changes: dict[str, Any] = {
            k: v
            for k, v in (("allow_private", allow_private), ("max_bytes", max_bytes),
                         ("timeout", timeout), ("max_redirects", max_redirects))
            if v is not None
        }
        return self._with(media_policy=replace(base, **changes) if changes else base)

    # -- cost: the response cache, the token budget, tenacity (docs/cost.md) ------------------

    def with_cache(self, cache: ResponseCache | str | os.PathLike[str]) -> StructuredOutput[T]:
        """Answer repeated calls from a cache of validated answers: ``"memory"`` (an in-process
        LRU), a file path (a SQLite cache shared by threads and processes), or a
        ``MemoryCache(...)`` / ``SqliteCache(...)`` with bounds. A hit sends nothing and returns
        ``cache_hit=True`` (see :mod:`instructor_py.run.caching` for what the key covers)."""
        return self._with(cache=required(cache, "cache"))

    def with_budget(self, *, tokens: int) -> StructuredOutput[T]:
        """Stop the call with ``TokenBudgetExceededError`` before an attempt that would take the
        tokens spent past ``tokens`` (see :mod:`instructor_py.run.budget`); same as
        ``with_(token_budget=tokens)``."""
        return self._with(token_budget=required(tokens, "tokens"))

    def with_transport_retry(
        self,
        policy: Any = None,
        *,
        stop: Any = None,
        wait: Any = None,
        retry: Any = None,
        before_sleep: Any = None,
    ) -> StructuredOutput[T]:
        """The transport retry policy: a ``TransportRetryPolicy``, a ``tenacity.Retrying`` /
        ``AsyncRetrying``, or tenacity strategies (``stop=stop_after_attempt(5),
        wait=wait_exponential(...)``); the run loop applies them to get, aget, stream and astream
        alike (see :mod:`instructor_py.run.tenacity_retry`)."""
        strategies = {"stop": stop, "wait": wait, "retry": retry, "before_sleep": before_sleep}
        if any(v is not None for v in strategies.values()):
            if policy is not None and not is_tenacity_object(policy):
                raise InvalidArgumentError(
                    "with_transport_retry(): tenacity strategies (stop=, wait=, retry=) combine "
                    f"only with a tenacity.Retrying, not {type(policy).__name__}"
                )
            policy = TenacityRetry(policy, **strategies)
        return self._with(transport_policy=required(policy, "policy"))

    def into_dict(self) -> StructuredOutput[Any]:
        """Return plain Python data (dicts/lists) instead of model instances."""
        return self._with(output=to_plain, output_name="dict")

    @overload
    def into(self, cls: type[U]) -> StructuredOutput[U]: ...

    @overload
    def into(self, cls: Any) -> StructuredOutput[Any]: ...

    def into(self, cls: Any) -> StructuredOutput[Any]:
        """Return the value converted into ``cls`` (a model, dataclass, TypedDict...)."""
        convert, name = output_into(cls)
        return self._with(output=convert, output_name=name)

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

    def on_event(self, event_type: type[E], handler: Callable[[E], Any]) -> StructuredOutput[T]:
        """Call ``handler(event)`` for every event that is an instance of ``event_type``."""
        if not (isinstance(event_type, type) and issubclass(event_type, Event)):
            raise InvalidArgumentError(f"event_type must be an Event subclass, got {event_type!r}")
        handler = checked_callable(handler, "handler")
        return replace(self, events=self.events.with_handler(event_type, handler))

    def wiretap(self, handler: Callable[[Event], Any]) -> StructuredOutput[T]:
        """Call ``handler(event)`` for every event."""
        handler = checked_callable(handler, "handler")
        return replace(self, events=self.events.with_wiretap(handler))

    def plan(self, *, request_id: str | None = None) -> ExecutionPlan:
        """Resolve the provider and mode, and build the first request (no I/O to the model)."""
        return build_plan(
            self.resolve_provider(), self.spec, events=self.events, request_id=request_id
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

    def batch(self, inputs: Any, *, concurrency: int | None = None, progress: Progress = None) -> list[BatchResult[T]]:
        """One call per input, ``concurrency`` at a time; results (or errors) in input order."""
        return run_batch(self, inputs, concurrency=concurrency, progress=progress)

    async def abatch(self, inputs: Any, *, concurrency: int | None = None, progress: Progress = None) -> list[BatchResult[T]]:
        """The async twin of :meth:`batch` (see :mod:`instructor_py.client.batch`)."""
        return await arun_batch(self, inputs, concurrency=concurrency, progress=progress)

    # -- provider batch jobs (instructor_py.client.batch_job) --------------------------------

    def submit_batch(
        self,
        inputs: Any,
        *,
        store: JobStore | str | Path | None = None,
        repair: bool = False,
        api_key: str | None = None,
    ) -> BatchJob[T]:
        """Submit one request per input as a provider batch job (OpenAI Batch API, Anthropic
        Message Batches: half price, answers within 24 h); ``job.wait()`` then ``job.results()``
        (input order, each a response or that item's error). Kept in ``store`` (a SQLite path;
        default ``~/.cache/instructor_py/jobs.sqlite``) so ``BatchJob.resume(job.id)`` works from
        any process. ``repair=True`` re-asks live the items whose answer fails validation."""
        from instructor_py.client.batch_job import BatchJob

        return BatchJob.submit(self, inputs, store=store, repair=repair, api_key=api_key)

    def stream(self, *, partial_strings: bool = True) -> StructuredOutputStream[T]:
        """Shorthand for ``create().stream()`` (see :mod:`instructor_py.streaming.stream`)."""
        return self.create().stream(partial_strings=flag(partial_strings, "partial_strings"))

    def astream(self, *, partial_strings: bool = True) -> AsyncStructuredOutputStream[T]:
        """Shorthand for ``create().astream()``."""
        return self.create().astream(partial_strings=flag(partial_strings, "partial_strings"))

    def __repr__(self) -> str:
        if self.provider is not None:
            where = f"provider={self.provider.name!r}"
        elif self.source is not None:
            where = f"preset={self.source.preset!r}, overrides={list(self.source.override_names)}"
        else:
            where = "preset=<default>"
        return f"StructuredOutput({where}, {self.spec.summary()})"
