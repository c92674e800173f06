"""The OpenAI-compatible driver, on the official ``openai`` SDK (sync and async clients).

Serves every OpenAI-compatible server through a :class:`ProviderPreset`. Request building and
response mapping are the pure functions of :mod:`instructor_py.providers.openai_wire`; this module
holds only the I/O: the SDK call (``max_retries=0``: our ``TransportRetryPolicy`` decides) and the
exception translation. The SDK's raw-response interface is used so that the JSON body is mapped
once, by us (``InferenceResponse.raw`` is the response body as a dict; for streams, each
``InferenceDelta.raw`` is the chunk dict, and a streamed call's ``raw_response`` is the body a
whole answer would have had: :func:`~instructor_py.providers.openai_wire.completion_of_stream`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai

from instructor_py.common.errors import ProviderError
from instructor_py.providers._preset_driver import PresetDriver
from instructor_py.providers._tls import shared_ssl_context
from instructor_py.providers._transport_errors import translate_transport_errors
from instructor_py.providers.base import InferenceRequest, InferenceResponse
from instructor_py.providers.http_errors import (
    ErrorContext,
    connection_error,
    error_for_status,
    json_body,
    timeout_error,
)
from instructor_py.providers.openai_wire import (
    ChunkMapper,
    build_params,
    completion_of_stream,
    parse_completion,
    preflight_params,
)
from instructor_py.providers.presets import ProviderPreset

NO_KEY = "no-key-needed"
"""Sent as the bearer token to servers that need no key (the SDK insists on one)."""


@contextlib.contextmanager
def _translate(ctx: ErrorContext, *, streaming: bool = False) -> Iterator[None]:
    try:
        with translate_transport_errors(ctx, streaming=streaming):
            yield
    except openai.APIStatusError as err:
        raise error_for_status(err.status_code, err.response.headers, err.body, ctx) from None
    except openai.APITimeoutError:
        raise timeout_error(ctx) from None
    except openai.APIConnectionError as err:
        raise connection_error(ctx, err) from None
    except openai.APIError as err:
        raise ProviderError(
            f"{ctx.provider} failed: {type(err).__name__}.", provider=ctx.provider
        ) from None


def sdk_arguments(params: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``chat.completions.create`` for ``params``, the request body that
    :func:`build_params` already wrote in wire JSON: only ``model`` (and an empty ``messages``)
    pass through the SDK's TypedDict transform, the rest -- ``stream`` included, so that the
    SDK's own streaming machinery is not engaged: ``with_streaming_response`` hands us the bytes --
    rides in ``extra_body``, which the SDK merges into the JSON body as it is. The transform of a
    whole payload re-walks every message and schema and costs about a third of a call's client CPU
    (``benchmarks/sdk_overhead.py``); the body sent is the same."""
    body = dict(params)
    model = body.pop("model")
    extra = body.pop("extra_body", None)
    if extra:
        body.update(extra)
    return {"model": model, "messages": (), "extra_body": body}


class OpenAIProvider(PresetDriver[openai.OpenAI, openai.AsyncOpenAI]):
    """:class:`~instructor_py.providers.base.InferenceProvider` for OpenAI-compatible APIs."""

    def __init__(
        self,
        preset: ProviderPreset,
        *,
        client: openai.OpenAI | None = None,
        async_client: openai.AsyncOpenAI | None = None,
        **settings: Any,
    ) -> None:
        """``settings``: those of :class:`PresetDriver` (api_key, base_url, model, timeout, mode,
        headers). A caller's pre-built client keeps its settings, except that the SDK must not
        retry on its own (our TransportRetryPolicy does; both would multiply the attempts)."""
        super().__init__(
            preset,
            client=client.with_options(max_retries=0) if client is not None else None,
            async_client=(
                async_client.with_options(max_retries=0) if async_client is not None else None
            ),
            **settings,
        )

    def _sdk_options(self) -> dict[str, Any]:
        return {
            "api_key": self._api_key or NO_KEY,
            "base_url": self._base_url,
            "timeout": self._timeout,
            "max_retries": 0,
            "default_headers": self._headers or None,
        }

    def _new_client(self) -> openai.OpenAI:
        http_client = openai.DefaultHttpxClient(verify=shared_ssl_context())
        return openai.OpenAI(**self._sdk_options(), http_client=http_client)

    def _new_async_client(self) -> openai.AsyncOpenAI:
        http_client = openai.DefaultAsyncHttpxClient(verify=shared_ssl_context())
        return openai.AsyncOpenAI(**self._sdk_options(), http_client=http_client)

    def _close_client(self, client: openai.OpenAI) -> None:
        client.close()

    async def _aclose_client(self, client: openai.AsyncOpenAI) -> None:
        await client.close()

    def _preflight(self, request: InferenceRequest) -> InferenceRequest:
        return preflight_params(request, self._preset)

    def _payload(self, request: InferenceRequest, *, stream: bool) -> dict[str, Any]:
        return sdk_arguments(build_params(request, self._preset, stream=stream))

    def _parse(self, content: bytes) -> InferenceResponse:
        return parse_completion(json_body(content, self._ctx), self._ctx)

    def _whole_of_stream(self, response: InferenceResponse, first: Any, last: Any) -> Any:
        return completion_of_stream(response, first, last)

    def _mapper(self) -> ChunkMapper:
        return ChunkMapper(self._ctx)

    def _send(self, payload: dict[str, Any]) -> bytes:
        with _translate(self._ctx):
            raw = self._sync().chat.completions.with_raw_response.create(**payload)
            return raw.http_response.content

    async def _asend(self, payload: dict[str, Any]) -> bytes:
        with _translate(self._ctx):
            raw = await self._async().chat.completions.with_raw_response.create(**payload)
            content: bytes = raw.http_response.content
            return content

    def _send_stream(self, payload: dict[str, Any]) -> Iterator[bytes]:
        with (
            _translate(self._ctx, streaming=True),
            self._sync().chat.completions.with_streaming_response.create(**payload) as response,
        ):
            yield from response.iter_bytes()

    async def _asend_stream(self, payload: dict[str, Any]) -> AsyncIterator[bytes]:
        with _translate(self._ctx, streaming=True):
            api = self._async().chat.completions.with_streaming_response
            async with api.create(**payload) as response:
                async for chunk in response.iter_bytes():
                    yield chunk
