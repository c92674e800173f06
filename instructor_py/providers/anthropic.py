"""The Anthropic Messages API driver over httpx (sync and async), SSE parsed by us.

Request bodies and response mapping are the pure functions of
:mod:`instructor_py.providers.anthropic_wire`; this module is only the I/O edge. Drivers never
retry: the execution layer's ``TransportRetryPolicy`` does.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from instructor_py.common.modes import OutputMode
from instructor_py.providers._httpx_clients import HttpxClients
from instructor_py.providers._preset_driver import PresetDriver
from instructor_py.providers._transport_errors import translate_transport_errors
from instructor_py.providers.anthropic_wire import (
    API_VERSION,
    EventMapper,
    build_body,
    message_of_stream,
    parse_message,
)
from instructor_py.providers.base import InferenceRequest, InferenceResponse
from instructor_py.providers.http_errors import error_for_status, json_body
from instructor_py.providers.presets import ProviderPreset
from instructor_py.providers.schema_preflight import preflight_request


class AnthropicProvider(HttpxClients, PresetDriver[httpx.Client, httpx.AsyncClient]):
    """:class:`~instructor_py.providers.base.InferenceProvider` for Anthropic's Messages API."""

    def __init__(
        self, preset: ProviderPreset, *, api_version: str = API_VERSION, **settings: Any
    ) -> None:
        """``settings``: those of :class:`PresetDriver` (api_key, base_url, model, timeout, mode,
        headers)."""
        super().__init__(preset, **settings)
        self._path = "/messages" if self._base_url.endswith("/v1") else "/v1/messages"
        self._headers = {
            "anthropic-version": api_version,
            "content-type": "application/json",
            **self._headers,
        }
        if self._api_key:
            self._headers["x-api-key"] = self._api_key

    def _preflight(self, request: InferenceRequest) -> InferenceRequest:
        """Tool input schemas need an object root (checked before any request)."""
        if request.mode is OutputMode.TOOLS:
            return preflight_request(request, "anthropic")[0]
        return request

    def _payload(self, request: InferenceRequest, *, stream: bool) -> bytes:
        body = build_body(request, self._preset, stream=stream)
        return json.dumps(body, ensure_ascii=False).encode()

    def _parse(self, content: bytes) -> InferenceResponse:
        return parse_message(json_body(content, self._ctx), self._ctx)

    def _whole_of_stream(self, response: InferenceResponse, first: Any, last: Any) -> Any:
        return message_of_stream(response, first, last)

    def _mapper(self) -> EventMapper:
        return EventMapper(self._ctx)

    def _fail_on_status(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            raise error_for_status(
                response.status_code, response.headers, _body(response.content), self._ctx
            )

    def _send(self, payload: bytes) -> bytes:
        with translate_transport_errors(self._ctx):
            response = self._sync().post(self._path, content=payload)
        self._fail_on_status(response)
        return response.content

    async def _asend(self, payload: bytes) -> bytes:
        with translate_transport_errors(self._ctx):
            response = await self._async().post(self._path, content=payload)
        self._fail_on_status(response)
        return response.content

    def _send_stream(self, payload: bytes) -> Iterator[bytes]:
        with (
            translate_transport_errors(self._ctx, streaming=True),
            self._sync().stream("POST", self._path, content=payload) as response,
        ):
            if response.status_code >= 400:
                response.read()
                self._fail_on_status(response)
            yield from response.iter_bytes()

    async def _asend_stream(self, payload: bytes) -> AsyncIterator[bytes]:
        with translate_transport_errors(self._ctx, streaming=True):
            async with self._async().stream("POST", self._path, content=payload) as response:
                if response.status_code >= 400:
                    await response.aread()
                    self._fail_on_status(response)
                async for chunk in response.aiter_bytes():
                    yield chunk


def _body(content: bytes) -> Any:
    try:
        return json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return content
