"""Gemini's native ``generateContent`` API (Gemini API and Vertex AI) over httpx, SSE parsed by us.

Why httpx and not the official ``google-genai`` SDK: that SDK is a 1.5 MB wheel (6.9 MB
installed) pulling ``google-auth[requests]``, ``requests``, ``httpx2``, ``websockets`` and
``tenacity`` (a retry layer of its own, which would multiply ours); the REST API is one POST per
call with a JSON body we already write, so httpx (a core dependency) does it with no extra
install. Vertex AI (:mod:`instructor_py.providers.vertex`) is this driver with Google Cloud
credentials.

Request bodies and response mapping are the pure functions of
:mod:`instructor_py.providers.gemini_wire`; this module is the I/O edge. The Gemini API key goes
in the ``x-goog-api-key`` header (never in the URL, so it cannot reach logs of URLs); Vertex AI
gets ``Authorization: Bearer <token>`` per request (the ``_auth_headers`` hook). Drivers never retry: the execution layer's
``TransportRetryPolicy`` does (a 429's ``RetryInfo.retryDelay`` becomes ``retry_after``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import httpx

from instructor_py.common.errors import (
    AuthenticationError,
    RateLimitError,
)
from instructor_py.common.media import Media
from instructor_py.providers._httpx_clients import HttpxClients
from instructor_py.providers._preset_driver import PresetDriver
from instructor_py.providers._transport_errors import translate_transport_errors
from instructor_py.providers.base import InferenceRequest, InferenceResponse, Message
from instructor_py.providers.gemini_messages import media_part
from instructor_py.providers.gemini_wire import (
    ChunkMapper,
    build_body,
    model_path,
    parse_response,
    preflight_target,
    response_of_stream,
    retry_delay,
)
from instructor_py.providers.http_errors import error_for_status, json_body
from instructor_py.providers.media_support import check_media
from instructor_py.providers.openai_wire import model_of
from instructor_py.providers.presets import ProviderPreset
from instructor_py.providers.schema_preflight import preflight_request

Payload = tuple[str, bytes, bool]
"""(path of the model, JSON body, streamed?)"""
_GEMINI_FILE_URIS = (
    "https://generativelanguage.googleapis.com/",  # Files API uploads (files/...)
    "https://www.youtube.com/",
    "https://youtu.be/",
)
"""URLs the Gemini API reads itself (``fileData.fileUri``); other URLs are downloaded (under
the request's media policy) and sent as ``inlineData``."""


def _file_uris_as_parts(request: InferenceRequest, prefixes: tuple[str, ...]) -> InferenceRequest:
    """URL-only media the API fetches itself, written as native ``fileData`` parts (so that the
    media preparation does not download them)."""
    changed = False
    messages: list[Message] = []
    for message in request.messages:
        content = message.get("content")
        if isinstance(content, list | tuple) and any(
            isinstance(p, Media) and p.data is None and str(p.url).startswith(prefixes)
            for p in content
        ):
            parts = [
                media_part(p)
                if isinstance(p, Media) and p.data is None and str(p.url).startswith(prefixes)
                else p
                for p in content
            ]
            messages.append({**message, "content": parts})
            changed = True
        else:
            messages.append(message)
    return replace(request, messages=tuple(messages)) if changed else request


def _body(content: bytes) -> Any:
    try:
        return json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return content


class GeminiProvider(HttpxClients, PresetDriver[httpx.Client, httpx.AsyncClient]):
    """:class:`~instructor_py.providers.base.InferenceProvider` for the Gemini API
    (``generativelanguage.googleapis.com``)."""

    def __init__(self, preset: ProviderPreset, **settings: Any) -> None:
        """``settings``: those of :class:`PresetDriver` (api_key, base_url, model, timeout, mode,
        headers)."""
        super().__init__(preset, **settings)
        self._headers = {"content-type": "application/json", **self._headers}
        if self._api_key:
            self._headers["x-goog-api-key"] = self._api_key

    # -- where and how to send ------------------------------------------------------------------

    def _model_url(self, model: str) -> str:
        return f"/{model_path(model)}"

    def _auth_headers(self) -> dict[str, str]:
        return {}

    async def _aauth_headers(self) -> dict[str, str]:
        return self._auth_headers()

    _file_uri_prefixes: tuple[str, ...] = _GEMINI_FILE_URIS

    def _file_uris(self, request: InferenceRequest) -> InferenceRequest:
        if not self._file_uri_prefixes:
            return request
        check_media(request.messages, self.media_support)  # before they stop being Media
        return _file_uris_as_parts(request, self._file_uri_prefixes)

    def _prepared(self, request: InferenceRequest) -> InferenceRequest:
        return super()._prepared(self._file_uris(request))

    async def _aprepared(self, request: InferenceRequest) -> InferenceRequest:
        return await super()._aprepared(self._file_uris(request))

    def _preflight(self, request: InferenceRequest) -> InferenceRequest:
        """The response schema checked for the field it goes in (``responseJsonSchema`` /
        ``parametersJsonSchema``, or ``responseSchema`` / ``parameters`` with
        ``schema_style="openapi"``): rewritten where the meaning is kept, else refused before any
        request."""
        target = preflight_target(request)
        return request if target is None else preflight_request(request, target)[0]

    # -- PresetDriver ---------------------------------------------------------------------------

    def _payload(self, request: InferenceRequest, *, stream: bool) -> Payload:
        body = build_body(request, self._preset)
        url = self._model_url(model_of(request, self._preset))
        return url, json.dumps(body, ensure_ascii=False).encode(), stream

    def _parse(self, content: bytes) -> InferenceResponse:
        return parse_response(json_body(content, self._ctx), self._ctx)

    def _whole_of_stream(self, response: InferenceResponse, first: Any, last: Any) -> Any:
        return response_of_stream(response, first, last)

    def _mapper(self) -> ChunkMapper:
        return ChunkMapper(self._ctx)

    def _fail_on_status(self, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        body = _body(response.content)
        error = error_for_status(response.status_code, response.headers, body, self._ctx)
        if isinstance(error, RateLimitError) and error.retry_after is None:
            error.retry_after = retry_delay(body)
        if isinstance(error, AuthenticationError) or (
            response.status_code == 400 and "API key" in str(error)
        ):
            raise AuthenticationError(
                f"{self._ctx.provider} (HTTP {response.status_code}) rejected the credentials: "
                f"{self._auth_hint()}",
                provider=self._ctx.provider,
                status=response.status_code,
            )
        raise error

    def _auth_hint(self) -> str:
        return (
            "set GEMINI_API_KEY (export GEMINI_API_KEY=...) to a key from "
            "https://aistudio.google.com/apikey or pass using('gemini', api_key=...)."
        )

    def _target(self, payload: Payload) -> tuple[str, dict[str, str] | None]:
        url, _, stream = payload
        if stream:
            return f"{url}:streamGenerateContent", {"alt": "sse"}
        return f"{url}:generateContent", None

    def _send(self, payload: Payload) -> bytes:
        url, params = self._target(payload)
        with translate_transport_errors(self._ctx):
            response = self._sync().post(
                url, content=payload[1], params=params, headers=self._auth_headers()
            )
        self._fail_on_status(response)
        return response.content

    async def _asend(self, payload: Payload) -> bytes:
        url, params = self._target(payload)
        headers = await self._aauth_headers()
        with translate_transport_errors(self._ctx):
            response = await self._async().post(url, content=payload[1], params=params, headers=headers)
        self._fail_on_status(response)
        return response.content

    def _send_stream(self, payload: Payload) -> Iterator[bytes]:
        url, params = self._target(payload)
        with (
            translate_transport_errors(self._ctx, streaming=True),
            self._sync().stream(
                "POST", url, content=payload[1], params=params, headers=self._auth_headers()
            ) as response,
        ):
            if response.status_code >= 400:
                response.read()
                self._fail_on_status(response)
            yield from response.iter_bytes()

    async def _asend_stream(self, payload: Payload) -> AsyncIterator[bytes]:
        url, params = self._target(payload)
        headers = await self._aauth_headers()
        with translate_transport_errors(self._ctx, streaming=True):
            async with self._async().stream(
                "POST", url, content=payload[1], params=params, headers=headers
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    self._fail_on_status(response)
                async for chunk in response.aiter_bytes():
                    yield chunk
