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
from collections.abc import AsyncIterator, Generator, Iterator, Mapping
from typing import Any

from instructor_py.common.errors import (
    AuthenticationError,
    ConfigurationError,
    InstructorError,
    ProviderError,
    RateLimitError,
    ServerError,
    StreamInterruptedError,
)
from instructor_py.common.modes import OutputMode
from instructor_py.providers._log_scrub import scrub_logs
from instructor_py.providers.base import (
    InferenceDelta,
    InferenceRequest,
    InferenceResponse,
)
from instructor_py.providers.bedrock_wire import (
    EventMapper,
    build_kwargs,
    parse_response,
    response_of_stream,
)
from instructor_py.providers.http_errors import (
    ErrorContext,
    connection_error,
    error_for_status,
    parse_retry_after,
    redact,
    timeout_error,
)
from instructor_py.providers.media_support import MediaSupport, media_support, prepare_media
from instructor_py.providers.presets import ProviderPreset
from instructor_py.providers.schema_preflight import preflight_request

_THROTTLED = frozenset({"ThrottlingException", "TooManyRequestsException", "ModelNotReadyException", "ServiceQuotaExceededException"})
_SERVER = frozenset(
    {"InternalServerException", "ServiceUnavailableException", "ModelTimeoutException",
     "ModelStreamErrorException", "ModelErrorException"}
)  # fmt: skip
_AUTH = frozenset({"UnrecognizedClientException", "ExpiredTokenException", "InvalidSignatureException", "IncompleteSignature"})
_BOTO_LOGGERS = (
    "botocore.auth", "botocore.endpoint", "botocore.parsers", "botocore.hooks",
    "botocore.httpsession", "botocore.awsrequest", "botocore.retryhandler", "botocore.client",
    "botocore.eventstream", "botocore.credentials", "urllib3.connectionpool",
)  # fmt: skip
"""The loggers that write botocore's requests and responses at DEBUG (scrubbed of credentials)."""
_AUTH_HINT = (
    "Check your AWS credentials (aws configure / AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY / "
    "AWS_PROFILE / an SSO login), or pass using('bedrock', profile_name=...)."
)


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
            raise ConfigurationError(
                "No AWS region for the 'bedrock' provider. Pass using('bedrock', region="
                "'us-east-1') or set AWS_REGION."
            )
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
        with self._translate():
            body = self._sync().converse(**kwargs)
        return parse_response(body, self._ctx)

    async def ainfer(self, request: InferenceRequest) -> InferenceResponse:
        return await asyncio.to_thread(self.infer, request)

    def stream(self, request: InferenceRequest) -> Generator[InferenceDelta, None, None]:
        kwargs = self._kwargs(request)
        mapper = EventMapper(self._ctx)
        with self._translate(streaming=True):
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

    # -- errors ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _translate(self, *, streaming: bool = False) -> Iterator[None]:
        import botocore.exceptions as bex

        try:
            yield
        except InstructorError:
            raise
        except bex.ClientError as err:
            raise self._client_error(err.response, streaming=streaming) from None
        except (bex.ReadTimeoutError, bex.ConnectTimeoutError):
            if streaming:
                raise StreamInterruptedError(
                    f"The stream from {self.name} stalled past the {self._timeout:g}s timeout. "
                    "The request is sent again by the transport retries.",
                    provider=self.name,
                ) from None
            raise timeout_error(self._ctx) from None
        except (bex.NoCredentialsError, bex.PartialCredentialsError, bex.CredentialRetrievalError) as err:
            raise AuthenticationError(
                f"No usable AWS credentials for {self.name} ({type(err).__name__}). {_AUTH_HINT}",
                provider=self.name,
            ) from None
        except bex.NoRegionError:
            raise ConfigurationError(
                "No AWS region for the 'bedrock' provider. Pass using('bedrock', region="
                "'us-east-1') or set AWS_REGION."
            ) from None
        except (bex.ResponseStreamingError, bex.ConnectionClosedError) as err:
            if streaming:
                raise StreamInterruptedError(
                    f"The stream from {self.name} was cut before the answer was complete "
                    f"({type(err).__name__}). The request is sent again by the transport retries.",
                    provider=self.name,
                ) from None
            raise connection_error(self._ctx, err) from None
        except (bex.EndpointConnectionError, bex.ConnectionError, bex.HTTPClientError) as err:
            raise connection_error(self._ctx, err) from None
        except Exception as err:
            if streaming and _is_cut(err):
                raise StreamInterruptedError(
                    f"The stream from {self.name} was cut before the answer was complete "
                    f"({type(err).__name__}). The request is sent again by the transport retries.",
                    provider=self.name,
                ) from None
            raise

    def _client_error(self, response: Mapping[str, Any], *, streaming: bool) -> ProviderError:
        error = response.get("Error") or {}
        code = str(error.get("Code") or "")
        code = code[:1].upper() + code[1:]  # stream exceptions are named "throttlingException"
        message = redact(str(error.get("Message") or code), self._ctx.secrets).rstrip(".")
        meta = response.get("ResponseMetadata") or {}
        status = int(meta.get("HTTPStatusCode") or 0) or None
        headers = meta.get("HTTPHeaders") or {}
        said = f" {code}: {message}" if code else f" {message}"
        if code in _THROTTLED or status == 429:
            retry_after = parse_retry_after(headers)
            wait = f" (Retry-After: {retry_after:g}s)" if retry_after is not None else ""
            return RateLimitError(
                f"{self.name} is throttling requests{wait}:{said}. Transport retries wait and "
                "resend; if it persists, lower the request rate or ask AWS for a higher quota.",
                provider=self.name,
                status=status or 429,
                retry_after=retry_after,
            )
        if code in _SERVER or (status is not None and status >= 500):
            return ServerError(
                f"{self.name} failed on the server side:{said}. Retried with backoff.",
                provider=self.name,
                status=status,
                retry_after=parse_retry_after(headers),
            )
        if code in _AUTH:
            return AuthenticationError(
                f"{self.name} rejected the AWS credentials:{said}. {_AUTH_HINT}",
                provider=self.name,
                status=status,
            )
        if code == "AccessDeniedException" or status == 403:
            return ProviderError(
                f"{self.name} denied access:{said}. Check that these AWS credentials may call "
                "bedrock:InvokeModel and that access to this model is enabled in the Bedrock "
                "console for this region.",
                provider=self.name,
                status=status,
            )
        if status is None and streaming:
            return ProviderError(f"{self.name} reported an error while streaming:{said}.", provider=self.name)
        return error_for_status(status or 400, headers, {"message": message, "type": code}, self._ctx)


def _is_cut(err: BaseException) -> bool:
    """A dropped connection under botocore's event-stream reader (urllib3 raises it as is)."""
    try:
        import urllib3.exceptions
    except ImportError:  # pragma: no cover - urllib3 ships with botocore
        return False
    return isinstance(err, urllib3.exceptions.ProtocolError | urllib3.exceptions.ReadTimeoutError)
