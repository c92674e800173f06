"""Translation of low-level HTTP client exceptions (httpx, and httpx2 used by newer openai SDKs)
into our typed errors. One context manager serves sync and async code alike."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx

from instructor_py.common.errors import InstructorError, StreamInterruptedError
from instructor_py.providers.http_errors import ErrorContext, connection_error, timeout_error

_TIMEOUTS: tuple[type[BaseException], ...] = (httpx.TimeoutException,)
_TRANSPORT: tuple[type[BaseException], ...] = (httpx.TransportError,)
_STREAM_CUT: tuple[type[BaseException], ...] = (httpx.RemoteProtocolError, httpx.ReadError)
try:  # pragma: no cover - depends on the installed openai SDK
    import httpx2

    _TIMEOUTS += (httpx2.TimeoutException,)
    _TRANSPORT += (httpx2.TransportError,)
    _STREAM_CUT += (httpx2.RemoteProtocolError, httpx2.ReadError)
except ImportError:  # pragma: no cover
    pass


@contextlib.contextmanager
def translate_transport_errors(ctx: ErrorContext, *, streaming: bool = False) -> Iterator[None]:
    """Map httpx/httpx2 exceptions raised inside the block to our errors (``from None`` so the
    original, which may reference request headers, is not chained)."""
    try:
        yield
    except InstructorError:
        raise
    except _TIMEOUTS:
        raise timeout_error(ctx) from None
    except _STREAM_CUT as err:
        if streaming:
            raise StreamInterruptedError(
                f"The stream from {ctx.provider} was cut before the answer was complete "
                f"({type(err).__name__}). The request is sent again by the transport retries.",
                provider=ctx.provider,
            ) from None
        raise connection_error(ctx, err) from None
    except _TRANSPORT as err:
        raise connection_error(ctx, err) from None
