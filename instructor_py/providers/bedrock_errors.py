"""boto3 / botocore exceptions to our typed errors, for the Bedrock driver.

botocore raises a ``ClientError`` whose ``response["Error"]["Code"]`` names the AWS error
(``ThrottlingException``, ``ValidationException``...; inside a ConverseStream the exception
events are named in camelCase: ``throttlingException``), and its own exceptions for transport
failures. Messages are built from names and the service's explanation with secrets scrubbed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
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
from instructor_py.providers.http_errors import (
    ErrorContext,
    connection_error,
    error_for_status,
    parse_retry_after,
    redact,
    timeout_error,
)

THROTTLED = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "ModelNotReadyException",
     "ServiceQuotaExceededException"}
)  # fmt: skip
SERVER = frozenset(
    {"InternalServerException", "ServiceUnavailableException", "ModelTimeoutException",
     "ModelStreamErrorException", "ModelErrorException"}
)  # fmt: skip
AUTH = frozenset(
    {"UnrecognizedClientException", "ExpiredTokenException", "InvalidSignatureException",
     "IncompleteSignature"}
)  # fmt: skip
AUTH_HINT = (
    "Check your AWS credentials (aws configure / AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY / "
    "AWS_PROFILE / an SSO login), or pass using('bedrock', profile_name=...)."
)
NO_REGION = (
    "No AWS region for the 'bedrock' provider. Pass using('bedrock', region='us-east-1') or set "
    "AWS_REGION."
)


def _cut(ctx: ErrorContext, err: BaseException) -> StreamInterruptedError:
    return StreamInterruptedError(
        f"The stream from {ctx.provider} was cut before the answer was complete "
        f"({type(err).__name__}). The request is sent again by the transport retries.",
        provider=ctx.provider,
    )


def _is_cut(err: BaseException) -> bool:
    """A dropped connection under botocore's event-stream reader (urllib3 raises it as is)."""
    try:
        import urllib3.exceptions
    except ImportError:  # pragma: no cover - urllib3 ships with botocore
        return False
    return isinstance(err, urllib3.exceptions.ProtocolError | urllib3.exceptions.ReadTimeoutError)


@contextlib.contextmanager
def translate_boto_errors(ctx: ErrorContext, timeout: float, *, streaming: bool = False) -> Iterator[None]:
    """Map botocore exceptions raised inside the block (``from None``: the originals may hold
    the signed request)."""
    import botocore.exceptions as bex

    try:
        yield
    except InstructorError:
        raise
    except bex.ClientError as err:
        raise client_error(ctx, err.response, streaming=streaming) from None
    except (bex.ReadTimeoutError, bex.ConnectTimeoutError):
        if streaming:
            raise StreamInterruptedError(
                f"The stream from {ctx.provider} stalled past the {timeout:g}s timeout. The "
                "request is sent again by the transport retries.",
                provider=ctx.provider,
            ) from None
        raise timeout_error(ctx) from None
    except (bex.NoCredentialsError, bex.PartialCredentialsError, bex.CredentialRetrievalError) as err:
        raise AuthenticationError(
            f"No usable AWS credentials for {ctx.provider} ({type(err).__name__}). {AUTH_HINT}",
            provider=ctx.provider,
        ) from None
    except bex.NoRegionError:
        raise ConfigurationError(NO_REGION) from None
    except (bex.ResponseStreamingError, bex.ConnectionClosedError) as err:
        if streaming:
            raise _cut(ctx, err) from None
        raise connection_error(ctx, err) from None
    except (bex.EndpointConnectionError, bex.ConnectionError, bex.HTTPClientError) as err:
        raise connection_error(ctx, err) from None
    except Exception as err:
        if streaming and _is_cut(err):
            raise _cut(ctx, err) from None
        raise


def client_error(ctx: ErrorContext, response: Mapping[str, Any], *, streaming: bool) -> ProviderError:
    """The typed error for a botocore ``ClientError`` response."""
    error = response.get("Error") or {}
    code = str(error.get("Code") or "")
    code = code[:1].upper() + code[1:]  # stream exceptions are named "throttlingException"
    message = redact(str(error.get("Message") or code), ctx.secrets).rstrip(".")
    meta = response.get("ResponseMetadata") or {}
    status = int(meta.get("HTTPStatusCode") or 0) or None
    headers = meta.get("HTTPHeaders") or {}
    said = f" {code}: {message}" if code else f" {message}"
    name = ctx.provider
    if code in THROTTLED or status == 429:
        retry_after = parse_retry_after(headers)
        wait = f" (Retry-After: {retry_after:g}s)" if retry_after is not None else ""
        return RateLimitError(
            f"{name} is throttling requests{wait}:{said}. Transport retries wait and resend; if "
            "it persists, lower the request rate or ask AWS for a higher quota.",
            provider=name,
            status=status or 429,
            retry_after=retry_after,
        )
    if code in SERVER or (status is not None and status >= 500):
        return ServerError(
            f"{name} failed on the server side:{said}. Retried with backoff.",
            provider=name,
            status=status,
            retry_after=parse_retry_after(headers),
        )
    if code in AUTH:
        return AuthenticationError(
            f"{name} rejected the AWS credentials:{said}. {AUTH_HINT}", provider=name, status=status
        )
    if code == "AccessDeniedException" or status == 403:
        return ProviderError(
            f"{name} denied access:{said}. Check that these AWS credentials may call "
            "bedrock:InvokeModel and that access to this model is enabled in the Bedrock console "
            "for this region.",
            provider=name,
            status=status,
        )
    if status is None and streaming:
        return ProviderError(f"{name} reported an error while streaming:{said}.", provider=name)
    return error_for_status(status or 400, headers, {"message": message, "type": code}, ctx)
