"""Amazon Bedrock's Converse / ConverseStream API on boto3 (the ``bedrock`` extra).

boto3 signs every request with SigV4 from the usual credential chain (environment, profile, SSO,
instance role) or the ``aws_*`` keys / ``profile_name`` given to ``using("bedrock", ...)``, and
parses the ``application/vnd.amazon.eventstream`` frames of ConverseStream. boto3's own retries
are off (``total_max_attempts=1``): our ``TransportRetryPolicy`` resends, so throttling
(``ThrottlingException``, HTTP 429) becomes a :class:`RateLimitError` with backoff.

boto3 is synchronous: the async calls run it in a worker thread (``asyncio.to_thread``), so sync
and async share one implementation. Request kwargs and response mapping are the pure functions of
:mod:`instructor_py.providers.bedrock_wire`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncIterator, Generator, Mapping
from typing import Any

from instructor_py.common.errors import (
    ConfigurationError,
)
from instructor_py.common.modes import OutputMode
from instructor_py.providers._log_scrub import scrub_logs
from instructor_py.providers._preset_driver import secret_id
from instructor_py.providers.base import (
    InferenceDelta,
    InferenceRequest,
    InferenceResponse,
)
from instructor_py.providers.bedrock_errors import NO_REGION, translate_boto_errors
from instructor_py.providers.bedrock_wire import (
    EventMapper,
    build_kwargs,
    parse_response,
    response_of_stream,
)
from instructor_py.providers.http_errors import (
    ErrorContext,
)
from instructor_py.providers.media_support import MediaSupport, media_support, prepare_media
from instructor_py.providers.presets import ProviderPreset
from instructor_py.providers.schema_preflight import preflight_request

_BOTO_LOGGERS = (
    "botocore.auth", "botocore.endpoint", "botocore.parsers", "botocore.hooks",
    "botocore.httpsession", "botocore.awsrequest", "botocore.retryhandler", "botocore.client",
    "botocore.eventstream", "botocore.credentials", "urllib3.connectionpool",
)  # fmt: skip
"""The loggers that write botocore's requests and responses at DEBUG (scrubbed of credentials)."""
def _boto3() -> Any:
    try:
        import boto3
        import botocore.config
    except ImportError:
        raise ConfigurationError(
            "The 'bedrock' provider needs boto3: pip install 'instructor_py[bedrock]'."
        ) from None
    return boto3, botocore.config


class BedrockProvider:
    """:class:`~instructor_py.providers.base.InferenceProvider` for Amazon Bedrock (Converse)."""

    def __init__(
        self,
        preset: ProviderPreset,
        *,
        model: str | None = None,
        region: str | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        mode: OutputMode | None = None,
        headers: Mapping[str, str] | None = None,
        api_key: str | None = None,
        profile_name: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        client: Any = None,
    ) -> None:
        """``model`` (a Bedrock model id or inference profile, e.g.
        ``us.anthropic.claude-3-5-haiku-20241022-v1:0``), ``region`` (else ``AWS_REGION`` /
        ``AWS_DEFAULT_REGION`` / the profile's), ``base_url`` (the ``endpoint_url``: a VPC endpoint
        or a test server), ``profile_name`` or explicit AWS keys, ``client`` (a pre-built
        ``bedrock-runtime`` client, used as it is). A Bedrock API key is read by boto3 from
        ``AWS_BEARER_TOKEN_BEDROCK``; ``api_key=`` is refused (it would have to go through the
        process environment)."""
        if api_key:
            raise ConfigurationError(
                "using('bedrock', api_key=...) is not supported: Bedrock signs requests with AWS "
                "credentials (profile_name=..., aws_access_key_id=... / aws_secret_access_key=..., "
                "or the default chain); for a Bedrock API key set AWS_BEARER_TOKEN_BEDROCK, "
                "which boto3 reads."
            )
        if headers:
            raise ConfigurationError(
                "using('bedrock', headers=...) is not supported: boto3 signs the request headers."
            )
        self._preset = preset
        self._model = model or preset.default_model
        self._mode = mode or preset.default_mode
        self._timeout = timeout
        self._region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        self._endpoint_url = base_url or None
        self._profile = profile_name
        self._keys = (aws_access_key_id, aws_secret_access_key, aws_session_token)
        secrets = tuple(s for s in (aws_secret_access_key, aws_session_token) if s)
        self._ctx = ErrorContext(
            provider=preset.name,
            api_key_env=None,
            base_url=self._endpoint_url or f"bedrock-runtime.{self._region or '<region>'}.amazonaws.com",
            timeout=timeout,
            secrets=secrets,
        )
        self._client = client
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        auth = "client" if self._client is not None else (
            f"profile {self._profile!r}" if self._profile else "explicit keys" if self._keys[1] else "default chain"
        )
        return (
            f"BedrockProvider(model={self._model!r}, region={self._region!r}, "
            f"endpoint_url={self._endpoint_url!r}, mode={self._mode.value!r}, credentials={auth!r})"
        )

    # -- protocol properties --------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._preset.name

    @property
    def default_model(self) -> str | None:
        return self._model

    @property
    def default_mode(self) -> OutputMode:
        return self._mode

    @property
    def supported_modes(self) -> frozenset[OutputMode]:
        return self._preset.supported_modes

    def cache_identity(self) -> dict[str, str | None]:
        """Who answers, for the response cache's key: region, endpoint, profile and a short hash
        of the access key id (never a secret)."""
        return {
            "preset": self._preset.name,
            "driver": type(self).__qualname__,
            "region": self._region,
            "endpoint_url": self._endpoint_url,
            "profile": self._profile,
            "credential": secret_id(self._keys[0]),
        }

    @property
    def streams_answers(self) -> bool:
        """ConverseStream reports usage (its ``metadata`` event): ``get()`` streams."""
        return True

    # -- the client -----------------------------------------------------------------------------

    def _new_client(self) -> Any:
        boto3, config = _boto3()
        access, secret, token = self._keys
        scrub_logs(_BOTO_LOGGERS, tuple(s for s in (secret, token) if s))
        session = boto3.Session(
            profile_name=self._profile,
            aws_access_key_id=access,
            aws_secret_access_key=secret,
            aws_session_token=token,
            region_name=self._region,
        )
        if session.region_name is None:
            raise ConfigurationError(NO_REGION)
        options: dict[str, Any] = {
            "retries": {"total_max_attempts": 1, "mode": "standard"},  # our policy retries
            "connect_timeout": min(self._timeout, 10.0),
            "read_timeout": self._timeout,
        }
        return session.client(
            "bedrock-runtime", endpoint_url=self._endpoint_url, config=config.Config(**options)
        )

    def _sync(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._new_client()
        return self._client

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    async def aclose(self) -> None:
        self.close()

    # -- the calls ------------------------------------------------------------------------------

    @property
    def media_support(self) -> MediaSupport:
        """Images and PDFs, as bytes (URLs are downloaded under the request's media policy)."""
        return media_support(self._preset.name, self._preset.driver)

    def _kwargs(self, request: InferenceRequest) -> dict[str, Any]:
        """Media checked (and URL media downloaded, once) and the tool schema preflighted, before
        any request."""
        request = prepare_media(request, self.media_support)
        if request.mode is OutputMode.TOOLS:
            request = preflight_request(request, "bedrock")[0]
        return build_kwargs(request, self._preset)

    def infer(self, request: InferenceRequest) -> InferenceResponse:
        kwargs = self._kwargs(request)
        with translate_boto_errors(self._ctx, self._timeout):
            body = self._sync().converse(**kwargs)
        return parse_response(body, self._ctx)

    async def ainfer(self, request: InferenceRequest) -> InferenceResponse:
        return await asyncio.to_thread(self.infer, request)

    def stream(self, request: InferenceRequest) -> Generator[InferenceDelta, None, None]:
        kwargs = self._kwargs(request)
        mapper = EventMapper(self._ctx)
        with translate_boto_errors(self._ctx, self._timeout, streaming=True):
            events = self._sync().converse_stream(**kwargs)["stream"]
            try:
                for event in events:
                    yield from mapper.feed(event)
            finally:
                with contextlib.suppress(Exception):
                    events.close()
        yield from mapper.close()

    async def astream(self, request: InferenceRequest) -> AsyncIterator[InferenceDelta]:
        deltas = self.stream(request)
        done = object()
        try:
            while True:
                delta = await asyncio.to_thread(next, deltas, done)
                if delta is done:
                    return
                assert isinstance(delta, InferenceDelta)
                yield delta
        finally:
            # a cancelled call may leave the generator running in its worker thread until the
            # next event arrives; closing it then is refused ("already executing") and harmless
            with contextlib.suppress(ValueError):
                await asyncio.to_thread(deltas.close)

    def whole_of_stream(self, response: InferenceResponse, first: Any, last: Any) -> Any:
        return response_of_stream(response, first, last)
