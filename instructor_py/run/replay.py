"""An answer that arrived some other way (a provider batch job's result line) run through the
same attempt loop as a live call: it is the call's first attempt, checked by the plan's pipeline
(extraction, schema, validation, transformers), with the plan's events.

With ``repair=False`` that one attempt is all: an answer that fails is a
:class:`~instructor_py.common.errors.StructuredOutputRetryError` carrying it. With ``repair=True``
a failed answer is re-asked live with its errors fed back, under the plan's validation retry
policy (at least one retry), transport retries and token budget: the same loop as ``get()``,
whose first provider call is answered by the recorded answer instead of the provider. The
response cache is not consulted (the recorded answer is the call's answer).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

from instructor_py.common.modes import OutputMode
from instructor_py.providers.base import (
    InferenceDelta,
    InferenceProvider,
    InferenceRequest,
    InferenceResponse,
)
from instructor_py.run.plan import ExecutionPlan
from instructor_py.run.response import StructuredOutputResponse
from instructor_py.run.runner import RunObserver, final_of, run

__all__ = ["replay"]


def replay(
    plan: ExecutionPlan, answer: InferenceResponse, *, repair: bool = False
) -> StructuredOutputResponse[Any]:
    """The call's response with ``answer`` as its first attempt (module docstring); raises
    what ``get()`` raises when the answer (and, with ``repair``, every retry) fails."""
    policy = plan.retry_policy
    retries = max(policy.max_retries, 1) if repair else 0
    recorded = replace(
        plan,
        spec=replace(plan.spec, cache=None),  # the recorded answer is the answer, never a hit
        provider=_Recorded(plan.provider, answer),
        retry_policy=replace(policy, max_retries=retries),
    )
    return final_of(run(recorded, RunObserver()))


class _Recorded:
    """The plan's provider, except that its first ``infer`` returns the recorded answer."""

    streams_answers = False

    def __init__(self, provider: InferenceProvider, answer: InferenceResponse) -> None:
        self._provider = provider
        self._answer: InferenceResponse | None = answer

    @property
    def name(self) -> str:
        return self._provider.name

    @property
    def default_model(self) -> str | None:
        return self._provider.default_model

    @property
    def default_mode(self) -> OutputMode:
        return self._provider.default_mode

    @property
    def supported_modes(self) -> frozenset[OutputMode]:
        return self._provider.supported_modes

    def infer(self, request: InferenceRequest) -> InferenceResponse:
        answer, self._answer = self._answer, None
        return answer if answer is not None else self._provider.infer(request)

    async def ainfer(self, request: InferenceRequest) -> InferenceResponse:
        answer, self._answer = self._answer, None
        return answer if answer is not None else await self._provider.ainfer(request)

    def stream(self, request: InferenceRequest) -> Iterator[InferenceDelta]:
        return self._provider.stream(request)

    def astream(self, request: InferenceRequest) -> AsyncIterator[InferenceDelta]:
        return self._provider.astream(request)
