"""The OpenAI-compatible driver, on the official ``openai`` SDK (sync and async clients).

Serves every OpenAI-compatible server through a :class:`ProviderPreset`. Request building and
response mapping are the pure functions of :mod:`instructor_py.providers.openai_wire`; this module
holds only the I/O: the SDK call (``max_retries=0``: our ``TransportRetryPolicy`` decides) and the
exception translation. The SDK's raw-response interface is used so that the JSON body is mapped
once, by us (``InferenceResponse.raw`` is the response body as a dict; for streams, each
``InferenceDelta.raw`` is the chunk dict).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import openai

from instructor_py.errors import ProviderError
from instructor_py.modes import OutputMode
from instructor_py.providers._per_loop import PerLoop
from instructor_py.providers._preset_driver import PresetDriver
from instructor_py.providers._tls import shared_ssl_context
from instructor_py.providers._transport_errors import translate_transport_errors
from instructor_py.providers.base import InferenceDelta, InferenceRequest, InferenceResponse
from instructor_py.providers.http_errors import (
    ErrorContext,
    connection_error,
    error_for_status,
    json_body,
    timeout_error,
)
from instructor_py.providers.openai_wire import ChunkMapper, build_params, parse_completion
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


class OpenAIProvider(PresetDriver):
    """:class:`~instructor_py.providers.base.InferenceProvider` for OpenAI-compatible APIs."""

    def __init__(
        self,
        preset: ProviderPreset,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        model: str | None = None,
        timeout: float = 60.0,
        mode: OutputMode | None = None,
        headers: Mapping[str, str] | None = None,
        client: openai.OpenAI | None = None,
        async_client: openai.AsyncOpenAI | None = None,
    ) -> None:
        super().__init__(
            preset, api_key=api_key, base_url=base_url, model=model, timeout=timeout, mode=mode
        )
        self._headers = dict(headers or {})
        self._ctx = self._ctx.with_header_secrets(self._headers)
        # a caller's pre-built client keeps its settings, except that the SDK must not retry on
        # its own (our TransportRetryPolicy does; both would multiply the attempts)
        self._client = client.with_options(max_retries=0) if client is not None else None
        given_async = async_client.with_options(max_retries=0) if async_client is not None else None
        self._async_client = PerLoop(self._new_async_client, given_async)

    def _sdk_options(self) -> dict[str, Any]:
        return {
            "api_key": self._api_key or NO_KEY,
            "base_url": self._base_url,
            "timeout": self._timeout,
            "max_retries": 0,
            "default_headers": self._headers or None,
        }

    def _sync(self) -> openai.OpenAI:
        if self._client is None:
            http_client = openai.DefaultHttpxClient(verify=shared_ssl_context())
            self._client = openai.OpenAI(**self._sdk_options(), http_client=http_client)
        return self._client

    def _new_async_client(self) -> openai.AsyncOpenAI:
        http_client = openai.DefaultAsyncHttpxClient(verify=shared_ssl_context())
        return openai.AsyncOpenAI(**self._sdk_options(), http_client=http_client)

    def _async(self) -> openai.AsyncOpenAI:
        """The async client of the running event loop (a new loop gets a new client)."""
        return self._async_client.get()

    def _params(self, request: InferenceRequest, *, stream: bool) -> dict[str, Any]:
        return build_params(request, self._preset, self._model, stream=stream)

    def infer(self, request: InferenceRequest) -> InferenceResponse:
        params = self._params(request, stream=False)
        with _translate(self._ctx):
            raw = self._sync().chat.completions.with_raw_response.create(**params)
            content = raw.http_response.content
        return parse_completion(json_body(content, self._ctx), self._ctx)

    async def ainfer(self, request: InferenceRequest) -> InferenceResponse:
        params = self._params(request, stream=False)
        with _translate(self._ctx):
            raw = await self._async().chat.completions.with_raw_response.create(**params)
            content = raw.http_response.content
        return parse_completion(json_body(content, self._ctx), self._ctx)

    def stream(self, request: InferenceRequest) -> Iterator[InferenceDelta]:
        params = self._params(request, stream=True)
        mapper = ChunkMapper(self._ctx)
        with _translate(self._ctx, streaming=True):
            api = self._sync().chat.completions.with_streaming_response
            with api.create(**params) as response:
                for chunk in response.iter_bytes():
                    yield from mapper.feed(chunk)
        yield from mapper.close()

    async def astream(self, request: InferenceRequest) -> AsyncIterator[InferenceDelta]:
        params = self._params(request, stream=True)
        mapper = ChunkMapper(self._ctx)
        with _translate(self._ctx, streaming=True):
            api = self._async().chat.completions.with_streaming_response
            async with api.create(**params) as response:
                async for chunk in response.iter_bytes():
                    for delta in mapper.feed(chunk):
                        yield delta
        for delta in mapper.close():
            yield delta

    def close(self) -> None:
        """Close the sync client's connections (the driver stays usable; a new client is built)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        """Close the async client of the running event loop."""
        client = self._async_client.current()
        if client is not None:
            self._async_client.clear()
            await client.close()
