"""Execution: one attempt = one inference call; the retry policy decides the next.

:meth:`AttemptIterator.steps` is a generator holding all the attempt logic (events, pipeline,
retry feedback, attempts, usage), shared by every way a call is made. It yields a
:class:`ProviderCall` step -- "call the provider with this request" -- and expects the
:class:`~instructor_py.providers.base.InferenceResponse` to be sent back (or a :class:`Rejected`:
a streamed answer stopped early by streaming constraint checking, with the precise error); it
returns (via ``StopIteration.value``) the :class:`StructuredOutputResponse`, or raises
:class:`~instructor_py.common.errors.StructuredOutputRetryError` when retries run out.

The run loop around it (transport retries, request events, streaming, the sync and async I/O
edges) is :mod:`instructor_py.run.runner`: ``AttemptIterator(plan, stream=True)`` marks every request
``stream=True``; a step with a higher attempt number means the previous attempt's partials are
void.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, replace
from typing import Any, Literal

from instructor_py.common.attempts import Attempt
from instructor_py.common.errors import StructuredOutputRetryError, TokenBudgetExceededError
from instructor_py.common.usage import Usage
from instructor_py.pipeline.failures import FieldError, StageFailure
from instructor_py.pipeline.tolerant import Repair
from instructor_py.providers.base import InferenceRequest, InferenceResponse
from instructor_py.run.budget import estimate_prompt, estimate_retry
from instructor_py.run.events import (
    AnswerRepaired,
    AttemptFailed,
    BudgetExceeded,
    ExtractionFailed,
    InferenceResponseReceived,
    ResponseGenerated,
    RetriesExhausted,
    RetryScheduled,
    StructuredOutputStarted,
    ValidationFailed,
)
from instructor_py.run.plan import ExecutionPlan
from instructor_py.run.response import StructuredOutputResponse

Steps = Generator["ProviderCall", "InferenceResponse | Rejected", StructuredOutputResponse]


@dataclass(frozen=True, slots=True)
class Rejected:
    """An answer stopped while it streamed because it could no longer be valid: ``response`` is
    what arrived, ``failure`` says precisely why (fed back to the model like a pipeline failure)."""

    response: InferenceResponse
    failure: StageFailure


class StreamRejected(Exception):
    """Raised inside a streaming run by the constraint check to stop the stream (never escapes
    the run: it becomes a :class:`Rejected` attempt)."""

    def __init__(self, failure: StageFailure, received_bytes: int) -> None:
        super().__init__("; ".join(failure.messages))
        self.failure = failure
        self.received_bytes = received_bytes


@dataclass(frozen=True, slots=True)
class ProviderCall:
    """A step: call the provider with ``request`` for attempt number ``attempt`` (1-based) and
    send the complete :class:`InferenceResponse` back into the generator."""

    request: InferenceRequest
    attempt: int

    @property
    def kind(self) -> Literal["infer", "stream"]:
        return "stream" if self.request.stream else "infer"


class AttemptIterator:
    """The attempt state machine for one call (see the module docstring)."""

    def __init__(self, plan: ExecutionPlan, *, stream: bool = False) -> None:
        self.plan = plan
        self.stream = stream
        self._attempts: list[Attempt] = []

    @property
    def attempts(self) -> tuple[Attempt, ...]:
        """The attempts finished so far (a streaming driver reads the last one's ``errors`` to say
        why its partials were voided)."""
        return tuple(self._attempts)

    # -- the shared logic ------------------------------------------------------------------

    def steps(self) -> Steps:
        plan = self.plan
        emit = plan.events.emit
        rid = plan.request_id
        request = plan.request
        if self.stream != request.stream:
            request = replace(request, stream=self.stream)
        policy = plan.retry_policy
        mode = request.mode
        emit(
            StructuredOutputStarted(
                request_id=rid,
                response_model=plan.context.response_model.name,
                provider=plan.provider.name,
                model=request.model,
                mode=str(mode),
                max_retries=policy.max_retries,
                stream=self.stream,
            )
        )
        attempts = self._attempts
        attempts.clear()
        usage = Usage()
        index = 0
        budget = plan.spec.token_budget
        estimate = estimate_prompt(request) if budget is not None else 0
        while True:
            index += 1
            if budget is not None and usage.total_tokens + estimate > budget:
                emit(
                    BudgetExceeded(
                        request_id=rid,
                        attempt=index,
                        budget=budget,
                        spent=usage.total_tokens,
                        estimate=estimate,
                    )
                )
                raise TokenBudgetExceededError(
                    _budget_message(index, budget, usage.total_tokens, estimate),
                    attempts=attempts,
                    usage=usage,
                    budget=budget,
                    spent=usage.total_tokens,
                    estimate=estimate,
                )
            reply = yield ProviderCall(request, index)
            rejected = reply.failure if isinstance(reply, Rejected) else None
            response = reply.response if isinstance(reply, Rejected) else reply
            usage = usage + response.usage
            emit(
                InferenceResponseReceived(
                    request_id=rid,
                    attempt=index,
                    usage=response.usage,
                    finish_reason=response.finish_reason,
                )
            )
            text = response.output_text(mode)
            parsed: Any = None
            repairs: tuple[Repair, ...] = ()
            if rejected is not None:
                outcome: Any = rejected
            elif response.finish_reason in _CUT_OFF:
                outcome = _cut_off_failure(response)
            else:
                run = plan.pipeline.run_detailed(text, plan.context)
                outcome, parsed, repairs = run.value, run.parsed, run.repairs
            if not isinstance(outcome, StageFailure):
                if repairs:
                    emit(AnswerRepaired(request_id=rid, attempt=index, repairs=tuple(map(str, repairs))))
                attempts.append(
                    Attempt(index, text, usage=response.usage, raw_response=response.raw)
                )
                emit(ResponseGenerated(request_id=rid, attempts=index, usage=usage))
                return StructuredOutputResponse(
                    value=outcome,
                    raw_text=text,
                    raw_response=response.raw,
                    usage=usage,
                    attempts=tuple(attempts),
                    parsed=parsed,
                    repairs=repairs,
                )
            outcome = _with_finish_hint(outcome, response.finish_reason)
            errors = outcome.messages
            attempts.append(
                Attempt(
                    index,
                    text,
                    errors=errors,
                    stage=outcome.stage,
                    usage=response.usage,
                    raw_response=response.raw,
                )
            )
            failed_type = ExtractionFailed if outcome.stage == "extract" else ValidationFailed
            emit(failed_type(request_id=rid, attempt=index, stage=outcome.stage, errors=errors))
            emit(AttemptFailed(request_id=rid, attempt=index, stage=outcome.stage, errors=errors))
            if not policy.can_retry(index):
                emit(RetriesExhausted(request_id=rid, attempts=index, errors=errors, usage=usage))
                raise StructuredOutputRetryError(
                    _exhausted_message(index, policy.max_retries, outcome),
                    attempts=attempts,
                    usage=usage,
                )
            emit(
                RetryScheduled(
                    request_id=rid,
                    attempt=index,
                    kind="validation",
                    reason=f"{outcome.stage} failed: {'; '.join(errors)[:200]}",
                )
            )
            previous, request = request, policy.next_request(request, response, outcome, index)
            if budget is not None:
                estimate = estimate_retry(response.usage, previous, request)


_CUT_OFF = frozenset({"length", "max_tokens", "repetition"})


def _cut_off_failure(response: InferenceResponse) -> StageFailure:
    """An answer the provider cut off (at the token limit, or the local driver on a degenerate
    loop) is a failed attempt, whatever a fragment of it might parse to: a balanced object found
    inside an unfinished answer is not the answer. Only the cut is reported (errors about the
    fragment would mislead the model)."""
    reason = response.finish_reason
    if reason == "repetition":
        message = response.finish_detail or "the answer fell into a loop and was stopped"
    else:
        message = (
            f"the answer was cut off by the token limit (finish_reason={reason!r}); "
            "raise max_tokens with with_options(max_tokens=...) or ask for less"
        )
    return StageFailure("extract", (FieldError("$", message),))


def _with_finish_hint(failure: StageFailure, finish_reason: str | None) -> StageFailure:
    """Say so when the provider stopped the answer for a reason of its own."""
    if finish_reason in ("content_filter", "refusal"):
        hint = f"the provider stopped the answer (finish_reason={finish_reason!r})"
    else:
        return failure
    return StageFailure(failure.stage, (*failure.errors, FieldError("$", hint)))


def _budget_message(attempt: int, budget: int, spent: int, estimate: int) -> str:
    done = f"after {attempt - 1} attempt(s) " if attempt > 1 else "before the first attempt "
    return (
        f"The call's token budget ({budget}) would be passed by attempt {attempt}: {spent} tokens "
        f"spent so far + about {estimate} for its prompt. Stopped {done}(raise token_budget, "
        "lower max_retries, or shorten the prompt); this error's .attempts holds every answer."
    )


def _exhausted_message(attempts: int, max_retries: int, failure: StageFailure) -> str:
    errors = "; ".join(failure.messages[:5])
    more = f" (+{len(failure.messages) - 5} more)" if len(failure.messages) > 5 else ""
    return (
        f"The model's answer failed the {failure.stage} stage on all {attempts} attempt(s) "
        f"(max_retries={max_retries}). Last errors: {errors}{more}. Raise max_retries, simplify "
        "the response model, or improve the prompt; this error's .attempts holds every answer."
    )
