"""The local provider: GGUF models in-process through llama.cpp, with the response schema enforced
token by token.

``using("local")`` runs the embedded SmolLM2-135M-Instruct; ``using("local",
model_path="x.gguf", n_ctx=..., n_threads=...)`` any GGUF model. Models load once per process
(:func:`instructor_py.runtime.model.load_model`). A call is four steps on the model's runtime
session (:mod:`instructor_py.runtime.session`): render the messages, compile the constraint,
generate, and map the decoded chunks to deltas. Concurrent calls on one model (threads or asyncio
tasks) queue on its lock, or, with ``n_parallel`` > 1, are decoded together by its continuous
batch (:mod:`instructor_py.runtime.scheduler`).

Every output mode is served by constrained decoding (GRAMMAR): the schema is compiled by the
engine's orchestrator into a matcher and enforced in the decode loop, so the answer parses and
matches the schema by construction. In TOOLS mode the JSON comes back as the tool call's
arguments; in the other modes as the content. When the orchestrator could only compile a relaxed
constraint (``handle.exact`` is False), the pipeline's validation and retries finish the job.

Options (``with_(options={...})``): ``max_tokens`` (default 1024, capped by the context),
``temperature`` (0 = greedy, the default), ``top_p``, ``top_k``, ``seed``, ``fast_forward``
(default True), ``jump_forward`` (default True: with fast-forward, also force the forced text
llguidance's forced tokens leave out, tokenized by the model's tokenizer), ``stop_repetition``
(default True: end an attempt that falls into a degenerate loop, as a failed attempt whose error
names the field), ``retry_temperature`` (default 0.7: a retry that would decode greedily samples
at this temperature with a new seed per attempt, so it does not repeat the failed path; 0 keeps
retries greedy), ``retry_repeat_penalty`` (default 1.3: llama.cpp's repetition penalty over the
last 64 tokens on retries; 1 turns it off; ``repeat_penalty`` sets it for every attempt),
``json_whitespace`` (default ``"spaced"``: ``", "`` and ``": "`` as most JSON a model learned
from is written; ``"compact"`` saves a token per member), ``required_first`` (default False:
required keys before optional ones in the grammar's key order), ``prompt_lookup`` (default
False: draft the next tokens from the prompt where the answer copies it, checked by the grammar
and the model; exact, it saves forward passes but each pass grows dearer with its tokens on CPUs,
see docs/local.md), ``draft_tokens`` (default 6: the longest
draft), ``score_choices`` (default True: enum, ``Literal`` and ``bool`` fields are chosen by the
model's calibrated probability of each whole value and forced into the answer, see
:mod:`instructor_py.providers.local_choices`; their distributions are on
``LocalGeneration.field_probabilities``), ``resume_loops`` (default True: an answer that is not
streamed and falls into a loop is cut after the loop's first unit, closed there and continued
under the same grammar, once per attempt, see :mod:`instructor_py.providers.local_resume`),
``score_optional`` (default True: trailing optional keys the input gives no evidence for are
dropped, see :mod:`instructor_py.providers.local_optional`), ``mention_keys`` (default True:
keys the input names are written, a flag or a choice with the value the input states, see
:mod:`instructor_py.providers.local_mentions`), ``ground_values`` (default True: in an answer
that is not streamed, an integer the input does not give, or a string that slipped while copying
it, is replaced by the input's value the model scores likeliest there, see :mod:`instructor_py.providers.local_numbers` and
:mod:`instructor_py.providers.local_copies`) and ``constraint`` (a
:class:`~instructor_py.local.ConstraintSpec` that replaces the schema, e.g. a regex or a choice).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from instructor_py.common.errors import ConfigurationError, LocalModelError
from instructor_py.common.modes import OutputMode, parse_mode
from instructor_py.engine.handle import CompiledGrammarHandle
from instructor_py.providers.accumulator import DeltaAccumulator
from instructor_py.providers.base import InferenceDelta, InferenceRequest, InferenceResponse
from instructor_py.providers.local_after import Redecode, settle
from instructor_py.providers.local_choices import (
    ChoiceField,
    ChoiceOutcome,
    choice_fields,
    content_free_messages,
    decide_choices,
    last_user_text,
)
from instructor_py.providers.local_constraint import base_constraint, compile_for_request
from instructor_py.providers.local_generation import LocalGeneration, map_chunks
from instructor_py.providers.local_mentions import Mention, mentioned_keys
from instructor_py.providers.local_numbers import has_groundable_keys
from instructor_py.providers.local_options import (
    DEFAULT_RETRY_REPEAT_PENALTY,
    DEFAULT_RETRY_TEMPERATURE,
    MODEL_KEYS,
    PROVIDER_KEYS,
    REMOTE_KEYS,
    int_option,
    number_option,
)
from instructor_py.providers.media_support import refuse_media
from instructor_py.runtime.generation import DecodeChunk, DecodeOptions
from instructor_py.runtime.lookup import DEFAULT_DRAFT_TOKENS
from instructor_py.runtime.model import EMBEDDED_MODEL_NAME, LocalModel, ModelOptions, load_model
from instructor_py.runtime.repetition import RepetitionDetector
from instructor_py.runtime.sampling import SamplingParams
from instructor_py.runtime.session import LocalSession, session_for
from instructor_py.runtime.threads import iterate_in_thread

__all__ = ["LocalGeneration", "LocalProvider"]

logger = logging.getLogger("instructor_py.local")

DEFAULT_MAX_TOKENS = 1024


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
    stop_repetition: bool = True
    retry_temperature: float = DEFAULT_RETRY_TEMPERATURE
    retry_repeat_penalty: float = DEFAULT_RETRY_REPEAT_PENALTY
    json_whitespace: str = "spaced"
    required_first: bool = False
    prompt_lookup: bool = False
    draft_tokens: int = DEFAULT_DRAFT_TOKENS
    score_choices: bool = True
    resume_loops: bool = True
    score_optional: bool = True
    mention_keys: bool = True
    ground_values: bool = True

    def __post_init__(self) -> None:
        for name in ("retry_temperature", "retry_repeat_penalty"):
            number_option({}, name, getattr(self, name))

    @classmethod
    def from_options(cls, **overrides: Any) -> LocalProvider:
        """``model_path`` (or ``model`` naming a .gguf file), ``n_ctx``, ``n_threads``, ``n_batch``,
        ``chat_template``, ``fast_forward``, ``sample_first``, ``max_tokens``."""
        remote = sorted(k for k in overrides if k in REMOTE_KEYS)
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
        unknown = sorted(set(overrides) - set(MODEL_KEYS) - set(PROVIDER_KEYS))
        if unknown:
            raise ConfigurationError(
                f"unknown option(s) for the local provider: {', '.join(unknown)}; accepted: "
                f"{', '.join((*MODEL_KEYS, *PROVIDER_KEYS))}"
            )
        mode = overrides.pop("mode", None)
        if mode is not None:
            overrides["mode"] = parse_mode(mode, "using('local', mode=...)")
        model_kwargs = {k: overrides[k] for k in MODEL_KEYS if overrides.get(k) is not None}
        provider_kwargs = {k: overrides[k] for k in PROVIDER_KEYS if k in overrides}
        int_option(provider_kwargs, "max_tokens", DEFAULT_MAX_TOKENS)  # a bad value fails here
        int_option(provider_kwargs, "draft_tokens", DEFAULT_DRAFT_TOKENS)
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

    @property
    def batch_concurrency(self) -> int:
        """How many calls ``batch()`` runs at a time by default: the continuous batch's rows
        (``n_parallel``), and 1 with one sequence (the default), whose calls take turns anyway
        (measured in docs/benchmarks.md, "Local throughput")."""
        return self.model_options.n_parallel

    @property
    def enforces_schema(self) -> bool:
        """Every answer is decoded under the constraint: streaming constraint checking (for
        answers from elsewhere) does not apply."""
        return True

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
        refuse_media(request.messages, "local")  # text-only model: media is refused before loading
        model = self._model_for(request)
        session = session_for(model)
        # in its turn: concurrent calls on one sequence wait before doing any work (see serve)
        yield from session.serve(lambda: self._deltas(request, model, session))

    def _deltas(
        self, request: InferenceRequest, model: LocalModel, session: LocalSession
    ) -> Iterator[InferenceDelta]:
        """The call itself: compile, render, generate, map."""
        handle = self._compile(session, request)
        prompt_text = session.render_text(request.messages)
        prompt = model.tokenize(prompt_text)
        options = self._decode_options(request, prompt_text)
        chunks = session.generate(prompt, handle, options)
        fields = self._choice_fields(request)
        optional = self._scores_optional(request)
        mentions = self._mentions(request)
        values = (  # not for a stream: it shows values as they are decoded
            not request.stream
            and bool(request.options.get("ground_values", self.ground_values))
            and _bare_schema_answer(request)
            and has_groundable_keys(request.response_schema)
        )
        if not (fields or optional or mentions or values) and request.stream:  # as decoded
            with contextlib.closing(chunks):
                yield from map_chunks(chunks, request, model, len(prompt), handle, options)
            return
        with contextlib.closing(chunks):
            decoded = list(chunks)
        redo = Redecode(session, prompt_text, self._compile, self._decode_options)
        done = settle(
            redo,
            request,
            decoded,
            handle,
            options,
            resume_loops=bool(request.options.get("resume_loops", self.resume_loops)),
            optional=optional,
            mentions=mentions,
            values=values,
        )
        fields = self._choice_fields(done.request)
        if not fields:
            yield from map_chunks(
                iter(done.decoded), done.request, model, len(prompt), done.handle, done.options,
                None, *done.record(),
            )  # fmt: skip
            return
        yield from self._decide_choices(
            done.request, session, prompt_text, done.decoded, done.handle, fields, done.record()
        )

    def _mentions(self, request: InferenceRequest) -> list[Mention]:
        """The keys the input mentions, to be written (none unless the answer is the bare
        schema)."""
        if not request.options.get("mention_keys", self.mention_keys):
            return []
        if not _bare_schema_answer(request):
            return []
        return mentioned_keys(request.response_schema, last_user_text(request.messages))

    def _scores_optional(self, request: InferenceRequest) -> bool:
        """Whether the root object's trailing optional keys are decided by scoring."""
        if not request.options.get("score_optional", self.score_optional):
            return False
        schema = request.response_schema
        return _bare_schema_answer(request) and bool(
            set(schema.get("properties") or ()) - set(schema.get("required") or ())
        )

    def _decide_choices(
        self,
        request: InferenceRequest,
        session: LocalSession,
        prompt_text: str,
        decoded: list[DecodeChunk],
        handle: CompiledGrammarHandle | None,
        fields: list[ChoiceField],
        record: tuple[int, tuple[str, ...], tuple[str, ...], tuple[str, ...]] = (0, (), (), ()),
    ) -> Iterator[InferenceDelta]:
        """Choice fields: the answer is decoded, the options scored where each value starts and,
        when a scored value differs, decoded again with the scored values forced
        (:mod:`~instructor_py.providers.local_choices`); the answer is sent at the end."""
        model = session.model
        prompt = model.tokenize(prompt_text)
        final: list[tuple[list[DecodeChunk], CompiledGrammarHandle | None]] = [(decoded, handle)]

        def decode(schema: Mapping[str, Any], prefix: str) -> str:
            # resumed from the answer up to the decided value; from the start if the grammar
            # refuses that (it should not: the prefix was written under the same constraint)
            fixed = replace(request, response_schema=schema)
            options = self._decode_options(request, prompt_text)
            tokens = tuple(model.tokenize_bytes(prefix.encode("utf-8")))
            again = self._compile(session, fixed)
            try:
                chunks = list(session.generate(prompt, again, replace(options, prefix=tokens)))
            except LocalModelError as exc:
                logger.info("a decided choice could not resume the answer: %s", exc)
                again = self._compile(session, fixed)
                options = self._decode_options(request, prompt_text)
                chunks = list(session.generate(prompt, again, options))
            final.append((chunks, again))
            return "".join(c.text for c in chunks)

        outcome: ChoiceOutcome | None = None
        free = content_free_messages(request.messages)
        if decoded and decoded[-1].finish_reason == "stop" and free is not None:
            outcome = decide_choices(
                session,
                request.response_schema,
                fields,
                prompt_text,
                [session.render_text(m) for m in free],
                decode,
                "".join(c.text for c in decoded),
            )
        chunks, last = final[-1]
        options = self._decode_options(request, prompt_text)
        yield from map_chunks(
            iter(chunks), request, model, len(prompt), last, options, outcome, *record
        )

    def _choice_fields(self, request: InferenceRequest) -> list[ChoiceField]:
        """The choice fields to decide by scoring (none unless the answer is the bare schema)."""
        if not request.options.get("score_choices", self.score_choices):
            return []
        if not _bare_schema_answer(request):
            return []
        return choice_fields(request.response_schema)

    def _compile(self, session: Any, request: InferenceRequest) -> CompiledGrammarHandle | None:
        """The request's constraint (its ``constraint`` option or its schema, with the template,
        thinking and fences it asks for) compiled for the session's model."""
        base = base_constraint(
            request,
            self.strict_objects,
            whitespace=str(request.options.get("json_whitespace", self.json_whitespace)),
            required_first=bool(request.options.get("required_first", self.required_first)),
        )
        handle: CompiledGrammarHandle | None = compile_for_request(
            session, request, base, self.strict_objects
        )
        if handle is not None and not handle.exact:
            logger.info(
                "constraint compiled relaxed on backend %s (%s); validation and retries finish it",
                handle.backend,
                handle.relaxed_reason,
            )
        return handle

    def _decode_options(self, request: InferenceRequest, prompt_text: str) -> DecodeOptions:
        """The request's options for the decode loop (the provider's own as defaults)."""
        options = request.options
        sampling = self._sampling(request)
        max_tokens = int_option(options, "max_tokens", self.max_tokens)
        fast_forward = bool(options.get("fast_forward", self.fast_forward))
        jump_forward = bool(options.get("jump_forward", self.jump_forward))
        repetition = (
            RepetitionDetector(prompt=prompt_text)
            if options.get("stop_repetition", self.stop_repetition)
            else None
        )
        lookup = bool(options.get("prompt_lookup", self.prompt_lookup))
        draft_tokens = int_option(options, "draft_tokens", self.draft_tokens)
        return DecodeOptions(
            max_tokens=max_tokens,
            sampling=sampling,
            fast_forward=fast_forward,
            sample_first=self.sample_first,
            jump_forward=jump_forward,
            repetition=repetition,
            prompt_text=prompt_text if lookup else None,
            draft_tokens=draft_tokens,
        )

    def infer(self, request: InferenceRequest) -> InferenceResponse:
        answer = DeltaAccumulator()
        for delta in self.stream(request):
            answer.add(delta)
        return answer.response(default_call_id="call_local")

    def _sampling(self, request: InferenceRequest) -> SamplingParams:
        """The request's sampling options. A retry (``request.attempt > 1``) varies them so it
        can leave the path the failed attempt took (greedy decoding of nearly the same prompt
        mostly repeats it): one that would decode greedily samples at ``retry_temperature`` with
        a seed of its own, and one without a repetition penalty gets ``retry_repeat_penalty``.
        Options the caller set for the retries (``with_retry_options``) win."""
        params = SamplingParams.from_options(request.options)
        if request.attempt <= 1:
            return params
        options = request.options
        temperature = number_option(options, "retry_temperature", self.retry_temperature)
        penalty = number_option(options, "retry_repeat_penalty", self.retry_repeat_penalty)
        if params.greedy and temperature > 0:
            seed = (params.seed if params.seed is not None else 0) * 1_000_003 + request.attempt
            params = replace(params, temperature=temperature, seed=seed)
        if params.repeat_penalty == 1.0 and penalty > 0:
            params = replace(params, repeat_penalty=penalty)
        return params

    async def ainfer(self, request: InferenceRequest) -> InferenceResponse:
        return await asyncio.to_thread(self.infer, request)

    def astream(self, request: InferenceRequest) -> AsyncIterator[InferenceDelta]:
        return iterate_in_thread(lambda: self.stream(request))

    def __repr__(self) -> str:
        return f"LocalProvider(model={self.default_model!r}, n_ctx={self.model_options.n_ctx})"


def _bare_schema_answer(request: InferenceRequest) -> bool:
    """Whether the answer is the bare schema's JSON (no explicit constraint, template, thinking
    or ``MD_JSON`` fences): what scoring choices and optional keys reads positions in."""
    return (
        request.options.get("constraint") is None
        and request.template is None
        and not request.thinking
        and request.mode is not OutputMode.MD_JSON
        and bool(request.response_schema)
    )
