"""What every HTTP driver built from a :class:`ProviderPreset` shares: its settings, the protocol's
descriptive properties, the error context, a repr that never shows the API key, the client
lifecycle (one sync client, one async client per event loop, ``close``/``aclose``) and the frame
of the four protocol calls.

A driver supplies only what differs: the payload and the parsing (pure, in its ``*_wire``
module), the stream mapper, and four small I/O primitives -- send a payload and return the
response body's bytes, or open a stream and iterate its bytes, each sync and async.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Generic, TypeVar

from instructor_py.common.modes import OutputMode
from instructor_py.providers._per_loop import PerLoop
from instructor_py.providers._stream_mapper import StreamMapper
from instructor_py.providers.base import InferenceDelta, InferenceRequest, InferenceResponse
from instructor_py.providers.http_errors import ErrorContext
from instructor_py.providers.media_support import (
    MediaSupport,
    aprepare_media,
    media_support,
    prepare_media,
)
from instructor_py.providers.presets import ProviderPreset

C = TypeVar("C")
A = TypeVar("A")


class PresetDriver(ABC, Generic[C, A]):
    """``C``/``A``: the sync and async client types."""

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
        client: C | None = None,
        async_client: A | None = None,
    ) -> None:
        self._preset = preset
        self._headers = dict(headers or {})
        self._api_key = api_key
        self._base_url = (base_url or preset.base_url).rstrip("/")
        self._model = model or preset.default_model
        self._timeout = timeout
        self._mode = mode or preset.default_mode
        self._ctx = ErrorContext(
            provider=preset.name,
            api_key_env=preset.api_key_env,
            base_url=self._base_url,
            timeout=timeout,
            secrets=(api_key,) if api_key else (),
        ).with_header_secrets(self._headers)  # header values are scrubbed like the key
        self._client = client
        self._async_client: PerLoop[A] = PerLoop(self._new_async_client, async_client)

    def __repr__(self) -> str:
        key = "***" if self._api_key else None
        return (
            f"{type(self).__name__}(preset={self._preset.name!r}, base_url={self._base_url!r}, "
            f"model={self._model!r}, mode={self._mode.value!r}, api_key={key!r})"
        )

    @property
    def name(self) -> str:
        return self._preset.name

    def cache_identity(self) -> dict[str, str | None]:
        """Who answers, for the response cache's key: the preset, the base URL and short hashes
        of the API key and the extra headers (never the secrets themselves)."""
        headers = json.dumps(sorted(self._headers.items())) if self._headers else None
        return {
            "preset": self._preset.name,
            "driver": type(self).__qualname__,
            "base_url": self._base_url,
            "credential": secret_id(self._api_key),
            "headers": secret_id(headers),
        }

    @property
    def preset(self) -> ProviderPreset:
        return self._preset

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def default_model(self) -> str | None:
        return self._model

    @property
    def default_mode(self) -> OutputMode:
        return self._mode

    @property
    def supported_modes(self) -> frozenset[OutputMode]:
        return self._preset.supported_modes

    @property
    def streams_answers(self) -> bool:
        """Whether ``get()`` streams this driver's answers (so that streaming constraint checking
        cuts a bad one early) without losing anything a whole answer gives: the preset's streams
        report usage. Presets whose streams carry no usage keep ``get()`` whole."""
        return self._preset.stream_usage

    # -- client lifecycle ---------------------------------------------------------------------

    def _sync(self) -> C:
        if self._client is None:
            self._client = self._new_client()
        return self._client

    def _async(self) -> A:
        """The async client of the running event loop (a new loop gets a new client)."""
        return self._async_client.get()

    def close(self) -> None:
        """Close the sync client's connections (the driver stays usable; a new client is built)."""
        client, self._client = self._client, None
        if client is not None:
            self._close_client(client)

    async def aclose(self) -> None:
        """Close the async client of the running event loop."""
        client = self._async_client.current()
        if client is not None:
            self._async_client.clear()
            await self._aclose_client(client)

    @abstractmethod
    def _new_client(self) -> C: ...

    @abstractmethod
    def _new_async_client(self) -> A: ...

    @abstractmethod
    def _close_client(self, client: C) -> None: ...

    @abstractmethod
    async def _aclose_client(self, client: A) -> None: ...

    # -- the protocol calls: payload -> I/O primitive -> mapping ---------------------------------

    @property
    def media_support(self) -> MediaSupport:
        """What media this provider takes (checked before any request)."""
        return media_support(self._preset.name, self._preset.driver)

    def _preflight(self, request: InferenceRequest) -> InferenceRequest:
        """The request as this driver will send it, checked before any I/O (the schema
        preflight of drivers that have one); the default sends it as it is."""
        return request

    def _prepared(self, request: InferenceRequest) -> InferenceRequest:
        return self._preflight(prepare_media(request, self.media_support))

    def prepared(self, request: InferenceRequest) -> InferenceRequest:
        """The request exactly as :meth:`infer` would send it (media prepared, schema
        preflight applied): what a provider batch job writes as the item's request line."""
        return self._prepared(request)

    async def _aprepared(self, request: InferenceRequest) -> InferenceRequest:
        return self._preflight(await aprepare_media(request, self.media_support))

    def infer(self, request: InferenceRequest) -> InferenceResponse:
        payload = self._payload(self._prepared(request), stream=False)
        return self._parse(self._send(payload))

    async def ainfer(self, request: InferenceRequest) -> InferenceResponse:
        payload = self._payload(await self._aprepared(request), stream=False)
        return self._parse(await self._asend(payload))

    def stream(self, request: InferenceRequest) -> Iterator[InferenceDelta]:
        payload = self._payload(self._prepared(request), stream=True)
        mapper = self._mapper()
        for chunk in self._send_stream(payload):
            yield from mapper.feed(chunk)
        yield from mapper.close()

    async def astream(self, request: InferenceRequest) -> AsyncIterator[InferenceDelta]:
        payload = self._payload(await self._aprepared(request), stream=True)
        mapper = self._mapper()
        async for chunk in self._asend_stream(payload):
            for delta in mapper.feed(chunk):
                yield delta
        for delta in mapper.close():
            yield delta

    def whole_of_stream(self, response: InferenceResponse, first: Any, last: Any) -> Any:
        """The response body a whole answer would have had, from a streamed one (its accumulated
        ``response`` and the raw records of its first and last deltas): the ``raw_response`` of
        a streamed call, so that it reads the same as a whole one's."""
        return self._whole_of_stream(response, first, last)

    @abstractmethod
    def _whole_of_stream(self, response: InferenceResponse, first: Any, last: Any) -> Any: ...

    @abstractmethod
    def _payload(self, request: InferenceRequest, *, stream: bool) -> Any: ...

    @abstractmethod
    def _parse(self, content: bytes) -> InferenceResponse: ...

    @abstractmethod
    def _mapper(self) -> StreamMapper: ...

    @abstractmethod
    def _send(self, payload: Any) -> bytes: ...

    @abstractmethod
    async def _asend(self, payload: Any) -> bytes: ...

    @abstractmethod
    def _send_stream(self, payload: Any) -> Iterator[bytes]: ...

    @abstractmethod
    def _asend_stream(self, payload: Any) -> AsyncIterator[bytes]: ...


def secret_id(secret: str | None) -> str | None:
    """A short SHA-256 of a secret: tells credentials apart, reveals nothing of them."""
    if not secret:
        return None
    return hashlib.sha256(b"instructor_py credential\0" + secret.encode("utf-8")).hexdigest()[:16]
