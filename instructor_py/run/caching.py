"""The response cache in a run: the key of a call, the lookup before anything is sent, the store
after a validated answer (see :mod:`instructor_py.run.cache` for the storage, ``docs/cost.md``).

The key is a SHA-256 over everything that changes the answer: the provider's identity (its
``cache_identity()`` -- preset, base URL, a hash of the credential, never the credential -- or its
name, class and default model), the first request as the driver receives it (model, messages with
media by content hash, mode, the JSON schema and its name, the tool, options, template, thinking),
the response model (kind, qualified class name, name, JSON schema) and the validation retry policy
(max_retries, retry prompt, retry options). Not in the key: validators, transformers and output
conversion (a hit runs the cached text through the call's own pipeline, so they apply as for a
live answer; a cached answer that no longer validates is a miss), streaming (a ``stream()`` and a
``get()`` of the same call share an entry), transport retries and the token budget.

Only validated answers are stored. Cache failures (a corrupt or locked file, a cache that raises)
never fail the call: they are logged as warnings, emitted as
:class:`~instructor_py.run.events.CacheUnavailable`, and the call goes on without the cache."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic_core import to_jsonable_python

from instructor_py.common.modes import OutputMode
from instructor_py.pipeline.failures import StageFailure
from instructor_py.providers.base import InferenceDelta, InferenceProvider
from instructor_py.run.cache import CacheEntry, ResponseCache
from instructor_py.run.cache.key import Uncacheable, digest
from instructor_py.run.events import CacheHit, CacheMiss, CacheStored, CacheUnavailable
from instructor_py.run.plan import ExecutionPlan
from instructor_py.run.response import StructuredOutputResponse

__all__ = ["CallCache", "cache_key", "replay_deltas"]

_KEY_PREFIX = 16  # hex characters of the key shown in events
REPLAY_PIECE = 8  # characters per replayed delta


def _qualname(cls: Any) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def provider_identity(provider: InferenceProvider) -> dict[str, Any]:
    identity = getattr(provider, "cache_identity", None)
    if callable(identity):
        return dict(identity())
    inner = getattr(
        provider, "inner", provider
    )  # a wrapper (the batch's rate gate) is not who answers
    return {
        "name": provider.name,
        "class": _qualname(type(inner)),
        "default_model": provider.default_model,
    }


def cache_key(plan: ExecutionPlan) -> str:
    """The hex cache key of ``plan``'s call (raises :class:`Uncacheable`)."""
    request = plan.request
    model = plan.context.response_model
    answer_type = next(
        (
            t
            for t in (getattr(model, n, None) for n in ("model", "type", "wrapper"))
            if isinstance(t, type)
        ),
        None,
    )
    policy = plan.retry_policy
    return digest(
        {
            "provider": provider_identity(plan.provider),
            "model": request.model,
            "messages": request.messages,
            "mode": request.mode.value,
            "schema": request.response_schema,
            "schema_name": request.schema_name,
            "tool": request.tool,
            "options": request.options,
            "template": request.template,
            "thinking": request.thinking,
            "response_model": {
                "kind": model.kind,
                "class": _qualname(type(model)),
                "type": None if answer_type is None else _qualname(answer_type),
                "name": model.name,
                "schema": model.json_schema,
            },
            "retry": {
                "max_retries": policy.max_retries,
                "retry_prompt": policy.retry_prompt,
                "retry_options": policy.retry_options,
                "retry_feedback": policy.feedback,
            },
        }
    )


class CallCache:
    """The cache as one call sees it (built by :meth:`for_plan`; ``None`` without a cache)."""

    __slots__ = ("_cache", "_key", "_plan")

    def __init__(self, plan: ExecutionPlan, cache: ResponseCache, key: str) -> None:
        self._plan = plan
        self._cache = cache
        self._key = key

    @classmethod
    def for_plan(cls, plan: ExecutionPlan) -> CallCache | None:
        cache = plan.spec.cache
        if cache is None:
            return None
        try:
            key = cache_key(plan)
        except Uncacheable as error:
            plan.events.emit(
                CacheMiss(
                    request_id=plan.request_id,
                    key="",
                    cache=_name(cache),
                    reason=f"uncacheable: {error}",
                )
            )
            return None
        return cls(plan, cache, key)

    @property
    def key(self) -> str:
        return self._key

    def lookup(self) -> StructuredOutputResponse[Any] | None:
        """The cached response (validated again through the call's pipeline), or ``None``."""
        plan, short = self._plan, self._key[:_KEY_PREFIX]
        try:
            entry = self._cache.get(self._key)
        except Exception as error:
            self._unavailable("read", error)
            return None
        if entry is None:
            self._miss("absent")
            return None
        run = plan.pipeline.run_detailed(entry.raw_text, plan.context)
        outcome, parsed = run.value, run.parsed
        if isinstance(outcome, StageFailure):
            self._miss(f"stale: the cached answer fails the {outcome.stage} stage now")
            return None
        plan.events.emit(
            CacheHit(request_id=plan.request_id, key=short, cache=self._name, usage=entry.usage)
        )
        return StructuredOutputResponse(
            value=outcome,
            raw_text=entry.raw_text,
            raw_response=entry.raw_response,
            usage=entry.usage,
            attempts=entry.attempts,
            parsed=parsed,
            cache_hit=True,
            repairs=run.repairs,
        )

    def store(self, final: StructuredOutputResponse[Any]) -> None:
        """Keep a validated response (a failure to write is a warning)."""
        if final.cache_hit:
            return
        entry = CacheEntry(
            raw_text=final.raw_text,
            usage=final.usage,
            attempts=tuple(replace(a, raw_response=None) for a in final.attempts),
            raw_response=_jsonable(final.raw_response),
        )
        try:
            self._cache.set(self._key, entry)
        except Exception as error:
            self._unavailable("write", error)
            return
        self._plan.events.emit(
            CacheStored(
                request_id=self._plan.request_id,
                key=self._key[:_KEY_PREFIX],
                cache=self._name,
                size=entry.size,
            )
        )

    @property
    def _name(self) -> str:
        return _name(self._cache)

    def _miss(self, reason: str) -> None:
        self._plan.events.emit(
            CacheMiss(
                request_id=self._plan.request_id,
                key=self._key[:_KEY_PREFIX],
                cache=self._name,
                reason=reason,
            )
        )

    def _unavailable(self, operation: str, error: Exception) -> None:
        self._plan.events.emit(
            CacheUnavailable(
                request_id=self._plan.request_id,
                cache=self._name,
                operation=operation,
                error=f"{type(error).__name__}: {error}",
            )
        )


def _name(cache: Any) -> str:
    try:
        return str(cache.name)
    except Exception:
        return type(cache).__name__


def _jsonable(raw: Any) -> Any:
    if raw is None:
        return None
    try:
        return to_jsonable_python(raw)
    except Exception:  # a provider object without a JSON form: not kept
        return None


def replay_deltas(raw_text: str, mode: OutputMode, tool_name: str) -> list[InferenceDelta]:
    """The cached answer as a stream of small deltas, as a provider would send it (a tool call's
    arguments in TOOLS mode when the answer is JSON, else text)."""
    pieces = [raw_text[i : i + REPLAY_PIECE] for i in range(0, len(raw_text), REPLAY_PIECE)]
    if mode is OutputMode.TOOLS and raw_text.lstrip()[:1] in ("{", "["):
        head = InferenceDelta(tool_name=tool_name, tool_call_id="call_cached")
        return [
            head,
            *(InferenceDelta(tool_arguments=p) for p in pieces),
            InferenceDelta(finish_reason="tool_calls"),
        ]
    return [*(InferenceDelta(content=p) for p in pieces), InferenceDelta(finish_reason="stop")]
