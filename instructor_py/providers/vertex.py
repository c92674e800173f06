"""Gemini on Vertex AI: the :class:`~instructor_py.providers.gemini.GeminiProvider` wire at
Vertex AI's URL with a Google OAuth bearer token.

The token comes from ``token_provider`` (a callable, called before each request: it caches and
refreshes as it likes), a fixed ``access_token``, or ``google-auth``'s application default
credentials (the ``vertex`` extra; refreshed off the event loop in async code).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from instructor_py.common.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidArgumentError,
)
from instructor_py.providers.gemini import GeminiProvider
from instructor_py.providers.media_support import MediaSupport
from instructor_py.providers.presets import ProviderPreset

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"

TokenProvider = Callable[[], str]


class VertexProvider(GeminiProvider):
    """Gemini on Vertex AI: the same wire at
    ``https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/{location}/
    publishers/google/models/{model}:generateContent`` with a Google OAuth bearer token."""

    def __init__(
        self,
        preset: ProviderPreset,
        *,
        project: str | None = None,
        location: str | None = None,
        token_provider: TokenProvider | None = None,
        access_token: str | None = None,
        **settings: Any,
    ) -> None:
        """``project`` (else ``GOOGLE_CLOUD_PROJECT``), ``location`` (else
        ``GOOGLE_CLOUD_LOCATION``, else ``us-central1``; ``global`` is
        ``aiplatform.googleapis.com``), and the token: ``token_provider`` (a callable returning a
        fresh OAuth access token, called before each request), ``access_token`` (a fixed one), or
        else ``google-auth``'s application default credentials (``pip install google-auth``)."""
        if token_provider is not None and not callable(token_provider):
            raise InvalidArgumentError(
                "using('vertex', token_provider=...) must be a callable returning an access "
                f"token, got {type(token_provider).__name__}"
            )
        if token_provider is not None and access_token is not None:
            raise ConfigurationError(
                "using('vertex', ...) takes token_provider or access_token, not both."
            )
        project = project or os.environ.get("GOOGLE_CLOUD_PROJECT")
        if not project:
            raise ConfigurationError(
                "No Google Cloud project for the 'vertex' provider. Pass using('vertex', "
                "project='my-project', location='us-central1') or set GOOGLE_CLOUD_PROJECT."
            )
        location = location or os.environ.get("GOOGLE_CLOUD_LOCATION") or "us-central1"
        host = (
            "https://aiplatform.googleapis.com/v1"
            if location == "global"
            else f"https://{location}-aiplatform.googleapis.com/v1"
        )
        base_url = settings.pop("base_url", None)
        if not base_url or "{location}" in base_url:
            base_url = host
        self._project = project
        self._location = location
        self._token_provider = token_provider
        self._access_token = access_token
        self._credentials: Any = None
        super().__init__(preset, base_url=base_url, **settings)
        if access_token:
            self._ctx = replace(self._ctx, secrets=(*self._ctx.secrets, access_token))

    def __repr__(self) -> str:
        auth = (
            "token_provider"
            if self._token_provider is not None
            else "access_token=***"
            if self._access_token
            else "google-auth default credentials"
        )
        return (
            f"{type(self).__name__}(project={self._project!r}, location={self._location!r}, "
            f"model={self._model!r}, mode={self._mode.value!r}, auth={auth!r})"
        )

    _file_uri_prefixes = ()  # every URL stays a URL (media_support below): fileData

    @property
    def media_support(self) -> MediaSupport:
        """Vertex AI reads ``gs://`` and public HTTP(S) URLs itself (``fileData.fileUri``)."""
        base = super().media_support
        return replace(base, url_kinds=base.kinds)

    def cache_identity(self) -> dict[str, str | None]:
        """The response cache's key also tells projects apart (the project is in the URL path,
        not the base URL); the token is not part of it (it changes; the project does not)."""
        return {**super().cache_identity(), "project": self._project, "location": self._location}

    def _model_url(self, model: str) -> str:
        if model.startswith("projects/"):
            return f"/{model}"
        name = model if "/" in model else f"publishers/google/models/{model}"
        return f"/projects/{self._project}/locations/{self._location}/{name}"

    def _token(self) -> str:
        if self._token_provider is not None:
            token = self._token_provider()
            if not isinstance(token, str) or not token:
                raise AuthenticationError(
                    "The 'vertex' token_provider returned no token (it must return the access "
                    "token as a non-empty str).",
                    provider=self.name,
                )
            return token
        if self._access_token:
            return self._access_token
        return self._default_credentials_token()

    def _default_credentials_token(self) -> str:
        try:
            import google.auth
            import google.auth.transport.requests
        except ImportError:
            raise ConfigurationError(
                "The 'vertex' provider needs a token: pass using('vertex', token_provider=...) "
                "or access_token=..., or install google-auth (pip install 'instructor_py[vertex]') "
                "to use your application default credentials (gcloud auth "
                "application-default login)."
            ) from None
        if self._credentials is None:
            try:
                self._credentials, _ = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
            except google.auth.exceptions.DefaultCredentialsError:
                raise AuthenticationError(
                    "No Google application default credentials: run `gcloud auth "
                    "application-default login` (or set GOOGLE_APPLICATION_CREDENTIALS), or pass "
                    "using('vertex', token_provider=...).",
                    provider=self.name,
                ) from None
        credentials = self._credentials
        if not credentials.valid:
            credentials.refresh(google.auth.transport.requests.Request())
        return str(credentials.token)

    def _auth_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self._token()}"}

    async def _aauth_headers(self) -> dict[str, str]:
        if self._token_provider is None and not self._access_token:
            # google-auth refreshes over blocking HTTP: keep it off the event loop
            return {"authorization": f"Bearer {await asyncio.to_thread(self._token)}"}
        return self._auth_headers()

    def _auth_hint(self) -> str:
        return (
            "check that the token is a valid OAuth access token for the cloud-platform scope "
            f"with access to project {self._project!r} (gcloud auth print-access-token)."
        )
