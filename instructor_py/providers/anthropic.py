"""The Anthropic Messages API driver over httpx (sync and async), SSE parsed by us.

Request bodies and response mapping are the pure functions of
:mod:`instructor_py.providers.anthropic_wire`; this module is only the I/O edge. Drivers never
retry: the execution layer's ``TransportRetryPolicy`` does.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import httpx

from instructor_py.modes import OutputMode
from instructor_py.providers._per_loop import PerLoop
from instructor_py.providers._preset_driver import PresetDriver
from instructor_py.providers._tls import shared_ssl_context
from instructor_py.providers._transport_errors import translate_transport_errors
from instructor_py.providers.anthropic_wire import (
    API_VERSION,
    EventMapper,
    build_body,
    parse_message,
)
from instructor_py.providers.base import InferenceDelta, InferenceRequest, InferenceResponse
from instructor_py.providers.http_errors import error_for_status, json_body
from instructor_py.providers.presets import ProviderPreset


class AnthropicProvider(PresetDriver):
    """:class:`~instructor_py.providers.base.InferenceProvider` for Anthropic's Messages API."""

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
        api_version: str = API_VERSION,
    ) -> None:
        super().__init__(
            preset, api_key=api_key, base_url=base_url, model=model, timeout=timeout, mode=mode
        )
        self._path = "/messages" if self._base_url.endswith("/v1") else "/v1/messages"
        self._headers = {
            "anthropic-version": api_version,
            "content-type": "application/json",
            **dict(headers or {}),
        }
        if api_key:
            self._headers["x-api-key"] = api_key
        self._ctx = self._ctx.with_header_secrets(headers)
        self._client: httpx.Client | None = None
        self._async_client: PerLoop[httpx.AsyncClient] = PerLoop(self._new_async_client)

    def _sync(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                base_url=self._base_url,
                headers=self._headers,
                timeout=self._timeout,
                verify=shared_ssl_context(),
            )
        return self._client

    def _new_async_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self._base_url,
            headers=self._headers,
            timeout=self._timeout,
            verify=shared_ssl_context(),
        )

    def _async(self) -> httpx.AsyncClient:
        """The async client of the running event loop (a new loop gets a new client)."""
        return self._async_client.get()

    def _payload(self, request: InferenceRequest, *, stream: bool) -> bytes:
        body = build_body(request, self._preset, self._model, stream=stream)
        return json.dumps(body, ensure_ascii=False).encode()

    def _fail_on_status(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            raise error_for_status(
                response.status_code, response.headers, _body(response.content), self._ctx
            )

    def infer(self, request: InferenceRequest) -> InferenceResponse:
        payload = self._payload(request, stream=False)
        with translate_transport_errors(self._ctx):
            response = self._sync().post(self._path, content=payload)
        self._fail_on_status(response)
        return parse_message(json_body(response.content, self._ctx), self._ctx)

    async def ainfer(self, request: InferenceRequest) -> InferenceResponse:
        payload = self._payload(request, stream=False)
        with translate_transport_errors(self._ctx):
            response = await self._async().post(self._path, content=payload)
        self._fail_on_status(response)
        return parse_message(json_body(response.content, self._ctx), self._ctx)

    def stream(self, request: InferenceRequest) -> Iterator[InferenceDelta]:
        payload = self._payload(request, stream=True)
        mapper = EventMapper(self._ctx)
        with (
            translate_transport_errors(self._ctx, streaming=True),
            self._sync().stream("POST", self._path, content=payload) as response,
        ):
            if response.status_code >= 400:
                response.read()
                self._fail_on_status(response)
            for chunk in response.iter_bytes():
                yield from mapper.feed(chunk)
        yield from mapper.close()

    async def astream(self, request: InferenceRequest) -> AsyncIterator[InferenceDelta]:
        payload = self._payload(request, stream=True)
        mapper = EventMapper(self._ctx)
        with translate_transport_errors(self._ctx, streaming=True):
            async with self._async().stream("POST", self._path, content=payload) as response:
                if response.status_code >= 400:
                    await response.aread()
                    self._fail_on_status(response)
                async for chunk in response.aiter_bytes():
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
            await client.aclose()


def _body(content: bytes) -> Any:
    try:
        return json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return content
