"""The one protocol every inference driver implements, and the records that cross it.

Messages crossing the protocol are in the OpenAI chat format (the lingua franca); a driver whose
API differs (Anthropic) converts them inside the driver:

- ``{"role": "system" | "user" | "assistant", "content": str}``
- an assistant tool call: ``{"role": "assistant", "content": None | str, "tool_calls": [{"id": ...,
  "type": "function", "function": {"name": ..., "arguments": "<json text>"}}]}``
- its result: ``{"role": "tool", "tool_call_id": ..., "content": str}``

The core builds the messages (including schema instructions for JSON / MD_JSON modes and the
retry feedback); a driver maps ``request.mode`` to its API's parameters (tools + forced
tool_choice, response_format...), sends, and maps the answer back. Drivers raise the typed errors
of :mod:`instructor_py.common.errors` (``RateLimitError`` with ``retry_after``, ``ServerError``,
``ProviderTimeoutError``, ``ProviderConnectionError``/``StreamInterruptedError``,
``AuthenticationError``...); transport retries are applied by the execution layer through
:class:`instructor_py.run.transport.TransportRetryPolicy`, so drivers never retry themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from instructor_py.common.modes import OutputMode
from instructor_py.common.usage import Usage

if TYPE_CHECKING:
    from instructor_py.guidance import GuidanceTemplate
    from instructor_py.providers.media_fetch import MediaPolicy

Message = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """The function the model is forced to call in TOOLS mode."""

    name: str
    description: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class InferenceRequest:
    """Everything a driver needs for one inference call.

    ``response_schema`` is the JSON schema (an object schema) the answer must satisfy; drivers use
    it for JSON_SCHEMA mode (response_format) and GRAMMAR mode (local constrained decoding).
    ``tool`` is set for TOOLS mode. ``options`` are passed through (temperature, max_tokens, seed,
    top_p...); each driver maps the names it knows. ``attempt`` counts validation attempts from 1
    (a retry with the errors fed back is attempt 2, ...), so a driver can vary its retries. ``template``
    (``with_template``) and ``thinking`` (``with_thinking``: free-text tokens before the JSON) are read
    by the local driver; the Gemini driver maps ``thinking`` to its thinking budget; other remote
    drivers only see their effect on the prompt. ``media_policy``
    (``with_media_policy``) says how a driver that needs a media URL's bytes may download them
    (:func:`~instructor_py.providers.media_fetch.fetch_media_bytes`; ``None`` is the default policy).
    """

    messages: tuple[Message, ...]
    mode: OutputMode
    response_schema: Mapping[str, Any]
    schema_name: str = "response"
    model: str | None = None
    tool: ToolSpec | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    stream: bool = False
    attempt: int = 1
    template: GuidanceTemplate | None = None
    thinking: int | None = None
    media_policy: MediaPolicy | None = None


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class InferenceResponse:
    """A complete answer. ``content`` is the text; ``tool_calls`` the tool calls, if any.
    ``finish_detail`` is the driver's own word on why the answer stopped, when that is news (the
    local driver's ``finish_reason="repetition"`` names the loop and its field there)."""

    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    usage: Usage = Usage()
    raw: Any = None
    finish_detail: str | None = None

    def output_text(self, mode: OutputMode) -> str:
        """The text the pipeline should extract JSON from: the first tool call's arguments in TOOLS
        mode when there is one, else the content."""
        if mode is OutputMode.TOOLS and self.tool_calls:
            return self.tool_calls[0].arguments
        return self.content


@dataclass(frozen=True, slots=True)
class InferenceDelta:
    """One streamed increment. Text arrives in ``content``; tool-call argument text in
    ``tool_arguments`` (``tool_name``/``tool_call_id`` set on the delta that opens the call).
    The last delta usually carries ``finish_reason`` and ``usage``."""

    content: str = ""
    tool_arguments: str = ""
    tool_name: str | None = None
    tool_call_id: str | None = None
    finish_reason: str | None = None
    usage: Usage | None = None
    raw: Any = None
    finish_detail: str | None = None


@runtime_checkable
class InferenceProvider(Protocol):
    """A driver for one API family (OpenAI-compatible, Anthropic, local llama.cpp)."""

    @property
    def name(self) -> str: ...

    @property
    def default_model(self) -> str | None: ...

    @property
    def default_mode(self) -> OutputMode: ...

    @property
    def supported_modes(self) -> frozenset[OutputMode]: ...

    def infer(self, request: InferenceRequest) -> InferenceResponse: ...

    async def ainfer(self, request: InferenceRequest) -> InferenceResponse: ...

    def stream(self, request: InferenceRequest) -> Iterator[InferenceDelta]: ...

    def astream(self, request: InferenceRequest) -> AsyncIterator[InferenceDelta]: ...
