"""The runtime session of a model: what decodes on it, behind one facade.

A :class:`~instructor_py.runtime.model.LocalModel` is the weights, the vocabulary, the chat
template and the constraint compiler. Its session (one per model: :func:`session_for`, or
:meth:`LocalSession.for_model`) owns the two decode loops on it: the one-sequence
:class:`~instructor_py.runtime.decoder.LlamaDecoder` on the model's context, and the continuous
batch (:class:`~instructor_py.runtime.scheduler.DecodeScheduler`, its own context of
``n_parallel`` sequences), each created on first use. With one sequence (the default), concurrent
calls take turns through the session's :class:`~instructor_py.runtime.decode_thread.DecodeThread`:
served one at a time in arrival order on one thread, so that waiting costs nothing a loop would
not pay (:meth:`LocalSession.serve`). A local call is four steps::

    session = session_for(load_model())
    prompt = session.render(messages)                      # chat template + tokenize
    handle = session.compile(ConstraintSpec.json_schema(schema))
    for chunk in session.generate(prompt, handle, DecodeOptions(max_tokens=200)):
        ...                                                # DecodeChunk: tokens, text, finish
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from instructor_py.common.errors import ConfigurationError
from instructor_py.engine.handle import CompiledGrammarHandle
from instructor_py.runtime.decode_thread import DecodeThread
from instructor_py.runtime.decoder import LlamaDecoder
from instructor_py.runtime.generation import DecodeChunk, DecodeOptions
from instructor_py.runtime.scheduler import DecodeScheduler

if TYPE_CHECKING:
    from instructor_py.engine.matcher import Matcher
    from instructor_py.runtime.model import LocalModel

__all__ = ["LocalSession", "session_for"]

_SESSION_KEY = "instructor_py.runtime.session"
T = TypeVar("T")


class LocalSession:
    """Decoding on one model. Thread-safe: with one sequence, calls take turns on the session's
    decode thread (and the decoder runs behind ``model.lock``); the continuous batch takes
    requests from any thread."""

    def __init__(self, model: LocalModel) -> None:
        self.model = model
        self._decoder: LlamaDecoder | None = None
        self._scheduler: DecodeScheduler | None = None
        self._lock = threading.Lock()
        self.turns = DecodeThread(f"instructor_py-local-decode-{model.name}")

    @classmethod
    def for_model(cls, model: LocalModel) -> LocalSession:
        """The model's session (created on first use, then shared by every caller)."""
        return model.attached(_SESSION_KEY, lambda: LocalSession(model))

    # --- the decode loops -----------------------------------------------------------------------

    @property
    def decoder(self) -> LlamaDecoder:
        """The one-sequence decode loop on the model's context (hold ``model.lock`` to use it
        directly; :meth:`generate` does)."""
        with self._lock:
            if self._decoder is None:
                self._decoder = LlamaDecoder(self.model)
            return self._decoder

    @property
    def scheduler(self) -> DecodeScheduler:
        """The continuous batch on this model (its own llama.cpp context of ``n_parallel``
        sequences; created on first use)."""
        with self._lock:
            if self._scheduler is None:
                options = self.model.options
                self._scheduler = DecodeScheduler(
                    self.model, options.n_parallel, options.parallel_cells
                )
            return self._scheduler

    @property
    def batched(self) -> bool:
        """Whether :meth:`generate` decodes in the continuous batch (a model loaded with
        ``n_parallel`` > 1) rather than on the one-sequence decoder."""
        return self.model.options.n_parallel > 1

    # --- a call: render, compile, generate ------------------------------------------------------

    def serve(self, call: Callable[[], Iterator[T]]) -> Generator[T, None, None]:
        """Run a whole local call (``call()``: render, compile, generate, map) and yield its
        items. With one sequence (the default), concurrent calls are served one at a time, in
        the order they came, on the session's decode thread (:attr:`turns`): a waiting call does
        no CPU work until its turn, every forward pass runs on one OS thread (one OpenMP pool;
        never the main thread), and the KV cache sees the calls in a loop's order. So N calls
        from N threads cost what the same calls in a loop cost. With the continuous batch
        (``n_parallel`` > 1), ``call()`` runs in the caller's thread and its :meth:`generate`
        joins the batch. Closing the iterator early ends the call."""
        if self.batched:
            yield from call()
            return
        yield from self.turns.submit(call)

    def render_text(self, messages: Any) -> str:
        """``messages`` through the model's chat template (with the generation prompt)."""
        return self.model.chat_template.render(messages)

    def render(self, messages: Any) -> list[int]:
        """The prompt tokens of ``messages``: the chat template, then the tokenizer."""
        return self.model.tokenize(self.render_text(messages))

    def compile(self, spec: Any) -> CompiledGrammarHandle:
        """Compile a ``ConstraintSpec`` into a fresh handle for this model (its orchestrator's
        cache is shared by every call)."""
        handle: CompiledGrammarHandle = self.model.compile(spec)
        return handle

    def generate(
        self,
        prompt: Sequence[int],
        constraint: CompiledGrammarHandle | Matcher | None = None,
        options: DecodeOptions | None = None,
    ) -> Generator[DecodeChunk, None, None]:
        """Generate after ``prompt`` under ``constraint`` (a compiled handle, a bare matcher for
        the one-sequence decoder, or None); yields :class:`DecodeChunk` s, the last one with
        ``finish_reason`` and the stats. The continuous batch when the model serves several
        requests at once (``n_parallel`` > 1), else the one-sequence decoder behind the model's
        lock (the default: a lone request runs about 1.2x faster there on CPUs, see
        docs/local.md), in its turn on the decode thread (:meth:`serve`; inline when called
        from a call being served). Nothing runs before the first chunk is asked for; closing
        the iterator early ends the request."""
        if self.batched:
            if constraint is not None and not isinstance(constraint, CompiledGrammarHandle):
                raise ConfigurationError(
                    "the continuous batch (n_parallel > 1) takes a compiled handle "
                    "(session.compile(spec)), not a bare matcher"
                )
            yield from self.scheduler.generate(prompt, constraint, options)
            return
        if options is not None:
            LlamaDecoder.check_options(options)  # before waiting for the lock
        matcher = (
            constraint.matcher if isinstance(constraint, CompiledGrammarHandle) else constraint
        )
        yield from self.turns.submit(lambda: self._decode(prompt, matcher, options))

    def _decode(
        self, prompt: Sequence[int], matcher: Matcher | None, options: DecodeOptions | None
    ) -> Iterator[DecodeChunk]:
        with self.model.lock:
            yield from self.decoder.generate(prompt, matcher, options)

    def clear_cache(self) -> bool:
        """Forget the prompts cached in the KV caches (the decoder's, behind the model's lock,
        and the batch's when it exists); returns False when a batched request is running (the
        batch's cache is then left as it is)."""
        with self.model.lock:
            if self._decoder is not None:
                self._decoder.clear_cache()
        scheduler = self._scheduler
        return scheduler.clear_cache() if scheduler is not None else True

    def __repr__(self) -> str:
        return f"LocalSession({self.model!r}, batched={self.batched})"


def session_for(model: LocalModel) -> LocalSession:
    """The runtime session of ``model`` (one per model, shared)."""
    return LocalSession.for_model(model)
