"""The local provider: GGUF models in-process through llama.cpp, with the response schema enforced
token by token.

``using("local")`` runs the embedded SmolLM2-135M-Instruct; ``using("local",
model_path="x.gguf", n_ctx=..., n_threads=...)`` any GGUF model. Models load once per process
(:func:`instructor_py.local.model.load_model`) and calls on one model queue on its lock.

Every output mode is served by constrained decoding (GRAMMAR): the schema is compiled by the
engine's orchestrator into a matcher and enforced in the decode loop, so the answer parses and
matches the schema by construction. In TOOLS mode the JSON comes back as the tool call's
arguments; in the other modes as the content. When the orchestrator could only compile a relaxed
constraint (``handle.exact`` is False), the pipeline's validation and retries finish the job.

Options (``with_(options={...})``): ``max_tokens`` (default 1024, capped by the context),
``temperature`` (0 = greedy, the default), ``top_p``, ``top_k``, ``seed``, ``fast_forward``
(default True), ``jump_forward`` (default True: with fast-forward, also force the forced text
llguidance's forced tokens leave out, tokenized by the model's tokenizer) and ``constraint`` (a :class:`~instructor_py.local.ConstraintSpec` that replaces the
schema, e.g. a regex or a choice).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from instructor_py.errors import ConfigurationError, ContextOverflowError
from instructor_py.local.llama import DecodeStats
from instructor_py.local.model import EMBEDDED_MODEL_NAME, LocalModel, ModelOptions, load_model
from instructor_py.local.sampling import SamplingParams
from instructor_py.local.schema_prep import close_object_schemas
from instructor_py.local.threads import iterate_in_thread
from instructor_py.modes import OutputMode
from instructor_py.providers.base import (
    InferenceDelta,
    InferenceRequest,
    InferenceResponse,
    ToolCall,
)
from instructor_py.usage import Usage

__all__ = ["LocalGeneration", "LocalProvider"]

logger = logging.getLogger("instructor_py.local")

DEFAULT_MAX_TOKENS = 1024
_PROVIDER_KEYS = (
    "fast_forward",
    "sample_first",
    "max_tokens",
    "strict_objects",
    "mode",
    "jump_forward",
)
_MODEL_KEYS = ("model_path", "n_ctx", "n_threads", "n_batch", "chat_template")
_REMOTE_KEYS = ("api_key", "base_url", "organization", "timeout", "headers")


@dataclass(frozen=True, slots=True)
class LocalGeneration:
    """``InferenceResponse.raw`` of the local provider: what the decode loop did."""

    model: str
    token_ids: tuple[int, ...]
    finish_reason: str
    stats: DecodeStats
    backend: str | None = None
    exact: bool = True


@dataclass(frozen=True, slots=True)
class LocalProvider:
    """In-process llama.cpp driver. Construct with :meth:`from_options` (what ``using("local",
    **overrides)`` calls)."""

    model_options: ModelOptions = field(default_factory=ModelOptions)
    fast_forward: bool = True
    sample_first: bool = True
    max_tokens: int = DEFAULT_MAX_TOKENS
    strict_objects: bool = True
    mode: OutputMode = OutputMode.GRAMMAR
    jump_forward: bool = True

    @classmethod
    def from_options(cls, **overrides: Any) -> LocalProvider:
        """``model_path`` (or ``model`` naming a .gguf file), ``n_ctx``, ``n_threads``, ``n_batch``,
        ``chat_template``, ``fast_forward``, ``sample_first``, ``max_tokens``."""
        remote = sorted(k for k in overrides if k in _REMOTE_KEYS)
        if remote:
            raise ConfigurationError(
                f"the local provider runs in-process and takes no {', '.join(remote)}; to call a "
                "llama.cpp server use using('llamacpp-server', base_url=...)"
            )
        model = overrides.pop("model", None)
        if model is not None and model != EMBEDDED_MODEL_NAME:
            if not (isinstance(model, str) and model.endswith(".gguf")):
                raise ConfigurationError(
                    f"using('local', model=...) takes the path of a .gguf file (or "
                    f"{EMBEDDED_MODEL_NAME!r}), got {model!r}; or pass model_path=..."
                )
            overrides.setdefault("model_path", model)
        unknown = sorted(set(overrides) - set(_MODEL_KEYS) - set(_PROVIDER_KEYS))
        if unknown:
            raise ConfigurationError(
                f"unknown option(s) for the local provider: {', '.join(unknown)}; accepted: "
                f"{', '.join((*_MODEL_KEYS, *_PROVIDER_KEYS))}"
            )
        mode = overrides.pop("mode", None)
        if mode is not None:
            try:
                overrides["mode"] = OutputMode(mode)
            except ValueError:
                raise ConfigurationError(
                    f"unknown mode {mode!r}; use one of {', '.join(m.value for m in OutputMode)}"
                ) from None
        model_kwargs = {k: overrides[k] for k in _MODEL_KEYS if overrides.get(k) is not None}
        provider_kwargs = {k: overrides[k] for k in _PROVIDER_KEYS if k in overrides}
        _int_option(provider_kwargs, "max_tokens", DEFAULT_MAX_TOKENS)  # a bad value fails here
        return cls(model_options=ModelOptions(**model_kwargs), **provider_kwargs)

    # --- protocol properties --------------------------------------------------------------------

    @property
    def name(self) -> str:
        return "local"

    @property
    def default_model(self) -> str | None:
        path = self.model_options.model_path
        if path is None:
            return EMBEDDED_MODEL_NAME
        return path.rsplit("/", 1)[-1].removesuffix(".gguf")

    @property
    def default_mode(self) -> OutputMode:
        return self.mode

    @property
    def supported_modes(self) -> frozenset[OutputMode]:
        return frozenset(OutputMode)

    def load(self) -> LocalModel:
        """The shared model (loaded on first use)."""
        return load_model(self.model_options)

    # --- inference --------------------------------------------------------------------------------

    def _model_for(self, request: InferenceRequest) -> LocalModel:
        """``request.model`` may name another GGUF file (``with_(model="x.gguf")``); any other
        model name is informational (this provider runs the model it was created with)."""
        name = request.model
        if name and name.endswith(".gguf") and name != self.model_options.model_path:
            return load_model(replace(self.model_options, model_path=name))
        return self.load()

    def stream(self, request: InferenceRequest) -> Iterator[InferenceDelta]:
        model = self._model_for(request)
        constraint = _constraint_of(request, self.strict_objects)
        handle = model.compile(constraint) if constraint is not None else None
        if handle is not None and not handle.exact:
            logger.info(
                "constraint compiled relaxed on backend %s (%s); validation and retries finish it",
                handle.backend,
                handle.relaxed_reason,
            )
        prompt = model.render_prompt(request.messages)
        options = request.options
        sampling = SamplingParams.from_options(options)
        max_tokens = _int_option(options, "max_tokens", self.max_tokens)
        fast_forward = bool(options.get("fast_forward", self.fast_forward))
        jump_forward = bool(options.get("jump_forward", self.jump_forward))
        tool = request.tool if request.mode is OutputMode.TOOLS else None
        call_id = f"call_local_{uuid.uuid4().hex[:16]}"
        first = True
        tokens: list[int] = []
        with model.lock:
            for chunk in model.decoder.generate(
                prompt,
                matcher=handle.matcher if handle is not None else None,
                max_tokens=max_tokens,
                sampling=sampling,
                fast_forward=fast_forward,
                sample_first=self.sample_first,
                jump_forward=jump_forward,
            ):
                tokens.extend(chunk.token_ids)
                if chunk.finish_reason is None and not chunk.text:
                    continue
                if chunk.finish_reason == "length" and len(tokens) < max_tokens:
                    raise ContextOverflowError(
                        f"the answer filled the model's context ({model.n_ctx} tokens, "
                        f"{len(prompt)} of them prompt) after {len(tokens)} tokens, short of "
                        f"max_tokens={max_tokens}; load the model with a larger n_ctx "
                        "(using('local', n_ctx=...)) or shorten the messages"
                    )
                usage: Usage | None = None
                raw: LocalGeneration | None = None
                if chunk.finish_reason is not None and chunk.stats is not None:
                    usage = Usage(
                        input_tokens=chunk.stats.prompt_tokens,
                        output_tokens=len(tokens),
                        cache_read_tokens=min(chunk.stats.reused_tokens, chunk.stats.prompt_tokens),
                    )
                    raw = LocalGeneration(
                        model=model.name,
                        token_ids=tuple(tokens),
                        finish_reason=chunk.finish_reason,
                        stats=chunk.stats,
                        backend=handle.backend if handle is not None else None,
                        exact=handle.exact if handle is not None else False,
                    )
                if tool is not None:
                    yield InferenceDelta(
                        tool_arguments=chunk.text,
                        tool_name=tool.name if first else None,
                        tool_call_id=call_id if first else None,
                        finish_reason=chunk.finish_reason,
                        usage=usage,
                        raw=raw,
                    )
                else:
                    yield InferenceDelta(
                        content=chunk.text,
                        finish_reason=chunk.finish_reason,
                        usage=usage,
                        raw=raw,
                    )
                first = False

    def infer(self, request: InferenceRequest) -> InferenceResponse:
        text: list[str] = []
        tool_name: str | None = None
        call_id: str | None = None
        last = InferenceDelta()
        for delta in self.stream(request):
            text.append(delta.tool_arguments or delta.content)
            tool_name = tool_name or delta.tool_name
            call_id = call_id or delta.tool_call_id
            last = delta
        body = "".join(text)
        if tool_name is not None:
            return InferenceResponse(
                content="",
                tool_calls=(ToolCall(id=call_id or "call_local", name=tool_name, arguments=body),),
                finish_reason=last.finish_reason,
                usage=last.usage or Usage(),
                raw=last.raw,
            )
        return InferenceResponse(
            content=body,
            finish_reason=last.finish_reason,
            usage=last.usage or Usage(),
            raw=last.raw,
        )

    async def ainfer(self, request: InferenceRequest) -> InferenceResponse:
        return await asyncio.to_thread(self.infer, request)

    def astream(self, request: InferenceRequest) -> AsyncIterator[InferenceDelta]:
        return iterate_in_thread(lambda: self.stream(request))

    def __repr__(self) -> str:
        return f"LocalProvider(model={self.default_model!r}, n_ctx={self.model_options.n_ctx})"


def _int_option(options: Mapping[str, Any], name: str, default: int) -> int:
    value = options.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"option {name!r} must be a positive int, got {value!r}")
    return value


def _constraint_of(request: InferenceRequest, strict_objects: bool) -> Any:
    """The constraint to enforce: ``options["constraint"]`` when given, else the response schema."""
    from instructor_py.local.constraints import ConstraintSpec

    explicit = request.options.get("constraint")
    if explicit is not None:
        if not isinstance(explicit, ConstraintSpec):
            raise ConfigurationError(
                "option 'constraint' must be an instructor_py.local.ConstraintSpec "
                f"(got {type(explicit).__name__})"
            )
        return explicit
    schema = request.response_schema
    if not schema:
        return None
    try:
        json.dumps(schema)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"the response schema is not JSON-serialisable: {exc}") from exc
    if strict_objects:
        schema = close_object_schemas(schema)
    return ConstraintSpec.json_schema(dict(schema))
