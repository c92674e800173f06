"""Azure OpenAI: the OpenAI driver on the official SDK's ``AzureOpenAI`` / ``AsyncAzureOpenAI``.

The wire format is OpenAI's chat completions (:mod:`instructor_py.providers.openai_wire` builds
the body, all four modes included); what differs lives here: the client (endpoint, deployment,
``api-version`` query parameter, an API key in the ``api-key`` header or a Microsoft Entra ID
bearer token from ``azure_ad_token_provider``) and the model, which on Azure is the deployment
name (it also goes in the URL: ``/openai/deployments/{deployment}/chat/completions``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import openai

from instructor_py.common.errors import ConfigurationError, InvalidArgumentError, MissingAPIKeyError
from instructor_py.providers._tls import shared_ssl_context
from instructor_py.providers.openai import OpenAIProvider
from instructor_py.providers.presets import ProviderPreset

DEFAULT_API_VERSION = "2024-10-21"
"""The latest GA data-plane ``api-version`` with structured outputs (``json_schema``, strict
tools) and ``stream_options``; override with ``api_version=`` or ``OPENAI_API_VERSION``."""
ENDPOINT_ENV = "AZURE_OPENAI_ENDPOINT"
API_VERSION_ENV = "OPENAI_API_VERSION"


class AzureOpenAIProvider(OpenAIProvider):
    """:class:`~instructor_py.providers.base.InferenceProvider` for Azure OpenAI deployments."""

    def __init__(
        self,
        preset: ProviderPreset,
        *,
        endpoint: str | None = None,
        deployment: str | None = None,
        api_version: str | None = None,
        azure_ad_token_provider: Callable[[], str] | None = None,
        client: openai.AzureOpenAI | None = None,
        async_client: openai.AsyncAzureOpenAI | None = None,
        **settings: Any,
    ) -> None:
        """``endpoint`` (``https://RESOURCE.openai.azure.com``; else ``base_url=`` or
        ``AZURE_OPENAI_ENDPOINT``), ``deployment`` (the model; ``model=`` is the same thing),
        ``api_version`` (else ``OPENAI_API_VERSION``, else :data:`DEFAULT_API_VERSION`), and one
        credential: ``api_key`` (else ``AZURE_OPENAI_API_KEY``) or ``azure_ad_token_provider`` (a
        callable returning an Entra ID token, called before every request)."""
        if azure_ad_token_provider is not None and not callable(azure_ad_token_provider):
            raise InvalidArgumentError(
                "using('azure', azure_ad_token_provider=...) must be a callable returning a token "
                f"(e.g. azure.identity.get_bearer_token_provider(...)), got "
                f"{type(azure_ad_token_provider).__name__}"
            )
        model = settings.pop("model", None)
        if deployment and model and deployment != model:
            raise ConfigurationError(
                f"using('azure', deployment={deployment!r}, model={model!r}): on Azure the model is "
                "the deployment name; pass one of them."
            )
        settings["model"] = deployment or model
        base_url = settings.pop("base_url", None) or ""
        endpoint = endpoint or base_url or os.environ.get(ENDPOINT_ENV)
        if not endpoint and client is None:
            raise ConfigurationError(
                "No Azure OpenAI endpoint. Pass using('azure', endpoint='https://RESOURCE."
                f"openai.azure.com', deployment=...) or set {ENDPOINT_ENV}."
            )
        if (
            not settings.get("api_key")
            and azure_ad_token_provider is None
            and client is None
            and not os.environ.get("AZURE_OPENAI_AD_TOKEN")
        ):
            raise MissingAPIKeyError(
                "No credential for the 'azure' provider. Set AZURE_OPENAI_API_KEY (export "
                "AZURE_OPENAI_API_KEY=...), pass using('azure', api_key=...), or pass an Entra ID "
                "token provider: using('azure', azure_ad_token_provider=get_bearer_token_provider"
                "(DefaultAzureCredential(), 'https://cognitiveservices.azure.com/.default')).",
                provider=preset.name,
            )
        self._endpoint = (endpoint or "").rstrip("/")
        self._api_version = api_version or os.environ.get(API_VERSION_ENV) or DEFAULT_API_VERSION
        self._token_provider = azure_ad_token_provider
        super().__init__(
            preset,
            client=client,
            async_client=async_client,
            base_url=self._endpoint or "https://azure",
            **settings,
        )

    def __repr__(self) -> str:
        key = "***" if self._api_key else None
        entra = "<provider>" if self._token_provider is not None else None
        return (
            f"{type(self).__name__}(endpoint={self._endpoint!r}, deployment={self._model!r}, "
            f"api_version={self._api_version!r}, mode={self._mode.value!r}, api_key={key!r}, "
            f"azure_ad_token_provider={entra!r})"
        )

    def _azure_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "azure_endpoint": self._endpoint,
            "api_version": self._api_version,
            "timeout": self._timeout,
            "max_retries": 0,
            "default_headers": self._headers or None,
        }
        if self._model:
            # the deployment in the URL (/openai/deployments/{deployment}/chat/completions)
            options["azure_deployment"] = self._model
        if self._token_provider is not None:
            options["azure_ad_token_provider"] = self._token_provider
        else:
            options["api_key"] = self._api_key
        return options

    def _new_client(self) -> openai.OpenAI:
        http_client = openai.DefaultHttpxClient(verify=shared_ssl_context())
        return openai.AzureOpenAI(**self._azure_options(), http_client=http_client)

    def _new_async_client(self) -> openai.AsyncOpenAI:
        http_client = openai.DefaultAsyncHttpxClient(verify=shared_ssl_context())
        return openai.AsyncAzureOpenAI(**self._azure_options(), http_client=http_client)
