"""The httpx client lifecycle of the drivers that speak HTTP themselves (Anthropic, Gemini /
Vertex): one base URL, headers and timeout, the shared TLS context, sync and async clients."""

from __future__ import annotations

from typing import Any

import httpx

from instructor_py.providers._tls import shared_ssl_context

__all__ = ["HttpxClients"]


class HttpxClients:
    """Mixed in before :class:`~instructor_py.providers._preset_driver.PresetDriver`: its client
    hooks, on httpx."""

    _base_url: str
    _headers: dict[str, str]
    _timeout: float

    def _client_options(self) -> dict[str, Any]:
        return {
            "base_url": self._base_url,
            "headers": self._headers,
            "timeout": self._timeout,
            "verify": shared_ssl_context(),
        }

    def _new_client(self) -> httpx.Client:
        return httpx.Client(**self._client_options())

    def _new_async_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(**self._client_options())

    def _close_client(self, client: httpx.Client) -> None:
        client.close()

    async def _aclose_client(self, client: httpx.AsyncClient) -> None:
        await client.aclose()
