"""The validation retry policy: how a failed answer is fed back to the model.

``max_retries`` counts retries *after* the first attempt: ``max_retries=2`` (the default) allows
up to three inference calls. Only pipeline failures (bad JSON, schema or validation errors) are fed
back; transport failures (HTTP errors, timeouts) are retried separately by
:class:`instructor_py.run.transport.TransportRetryPolicy` with the *same* request.

The next request is the previous one plus:

- TOOLS mode, when the model made a tool call: an assistant message carrying that ``tool_calls``
  entry, a ``{"role": "tool", "tool_call_id": <same id>}`` message (so the API accepts the
  conversation), then a user message listing the errors;
- otherwise: an assistant message with the previous answer text, then the user message.

``retry_options`` (provider options such as a higher ``temperature``) are merged over the
request's options from the first retry on.

The user message is ``retry_prompt`` with ``{errors}`` replaced by the error list (one
``- $.path: message`` line each); without a ``{errors}`` placeholder the list is appended.

That is the ``"full"`` feedback. ``retry_feedback="focused"`` (the default) sends less in the
prompted modes (JSON, MD_JSON, GRAMMAR) when the answer parsed and only some fields failed: the caller's messages without the schema text, then one
message quoting the valid part once and naming only the failing paths with their errors (see
:mod:`instructor_py.run.focused_retry`); other failures get the full feedback. A custom
``retry_prompt`` always gets the full feedback (it is the caller's wording).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from instructor_py.common.modes import OutputMode
from instructor_py.pipeline.failures import StageFailure
from instructor_py.providers.base import InferenceRequest, InferenceResponse, Message
from instructor_py.run.focused_retry import focused_messages

DEFAULT_MAX_RETRIES = 2

DEFAULT_RETRY_PROMPT = (
    "Your previous answer was rejected:\n{errors}\n"
    "Answer again with a corrected JSON object that fixes every error listed and satisfies the "
    "schema."
)

RETRY_FEEDBACKS = ("focused", "full")

TOOL_RESULT_TEXT = "Rejected: the arguments failed validation (the errors follow)."


@dataclass(frozen=True, slots=True)
class ValidationRetryPolicy:
    max_retries: int = DEFAULT_MAX_RETRIES
    retry_prompt: str = DEFAULT_RETRY_PROMPT
    retry_options: Mapping[str, Any] = field(default_factory=dict)
    feedback: str = "focused"

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.feedback not in RETRY_FEEDBACKS:
            raise ValueError(f"feedback must be one of {RETRY_FEEDBACKS}, got {self.feedback!r}")

    def can_retry(self, attempt: int) -> bool:
        """Whether another attempt may follow ``attempt`` (1-based)."""
        return attempt <= self.max_retries

    def feedback_text(self, failure: StageFailure) -> str:
        errors = "\n".join(f"- {line}" for line in failure.messages)
        if "{errors}" in self.retry_prompt:
            return self.retry_prompt.replace("{errors}", errors)
        return f"{self.retry_prompt}\n{errors}"

    def feedback_messages(
        self, response: InferenceResponse, failure: StageFailure, attempt: int
    ) -> tuple[Message, ...]:
        user: Message = {"role": "user", "content": self.feedback_text(failure)}
        if response.tool_calls:
            call = response.tool_calls[0]
            call_id = call.id or f"call_retry_{attempt}"
            assistant: Message = {
                "role": "assistant",
                "content": response.content or None,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments},
                    }
                ],
            }
            tool: Message = {"role": "tool", "tool_call_id": call_id, "content": TOOL_RESULT_TEXT}
            return (assistant, tool, user)
        return ({"role": "assistant", "content": response.content}, user)

    def next_request(
        self,
        request: InferenceRequest,
        response: InferenceResponse,
        failure: StageFailure,
        attempt: int,
    ) -> InferenceRequest:
        options = {**request.options, **self.retry_options} if self.retry_options else request.options
        focused = None
        if self.feedback == "focused" and self.retry_prompt == DEFAULT_RETRY_PROMPT:
            focused = focused_messages(request, response, failure)
        if focused is not None:
            messages = focused
        else:
            feedback = self.feedback_messages(_tool_view(response, request.mode), failure, attempt)
            messages = (*request.messages, *feedback)
        return dataclasses.replace(request, messages=messages, options=options, attempt=attempt + 1)


def _tool_view(response: InferenceResponse, mode: OutputMode) -> InferenceResponse:
    """Outside TOOLS mode a stray tool call is not replayed as one (its text is the answer)."""
    if mode is OutputMode.TOOLS or not response.tool_calls:
        return response
    return dataclasses.replace(
        response, content=response.output_text(mode) or response.tool_calls[0].arguments,
        tool_calls=(),
    )
