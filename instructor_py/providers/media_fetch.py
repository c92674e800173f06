"""Downloading a media URL's bytes for an API that needs bytes, not a URL.

OpenAI's ``input_audio`` and ``file`` parts, and Bedrock's ``image``/``document`` blocks, take bytes
only; a media given with ``from_url`` is downloaded here, once (the result is kept on the media
object, so retries do not download again), with:

- a size cap (``MediaPolicy.max_bytes``, checked against ``Content-Length`` and while reading),
- a timeout (per operation and for the whole download),
- an SSRF guard: the host is resolved and *every* address must be public; the connection goes to
  the address that was checked (no second DNS lookup an attacker could answer differently), and
  each redirect is checked the same way. Loopback, private, link-local, shared, reserved,
  multicast and unspecified addresses are refused unless ``MediaPolicy(allow_private=True)``.

Errors name the URL without its query string (presigned URLs carry credentials there), never
the bytes.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from dataclasses import dataclass, replace
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from instructor_py.common.errors import (
    InvalidArgumentError,
    MediaError,
    MediaFetchError,
    MediaURLRefusedError,
)
from instructor_py.common.media import Media, detect_media_type
from instructor_py.providers._tls import shared_ssl_context

__all__ = [
    "DEFAULT_MEDIA_POLICY",
    "MediaPolicy",
    "afetch_media_bytes",
    "amaterialize_media",
    "check_public_host",
    "fetch_media_bytes",
    "materialize_media",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class MediaPolicy:
    """How media URLs may be downloaded (``StructuredOutput.with_media_policy(...)``).

    ``allow_private`` lets URLs reach loopback/private/link-local hosts (off by default: a URL from
    an untrusted source must not reach your internal network). ``max_bytes`` caps one download
    (default 20 MiB); ``timeout`` bounds the whole download in seconds; ``max_redirects`` bounds
    the redirects followed (each one checked like the first URL).
    """

    allow_private: bool = False
    max_bytes: int = 20 * 1024 * 1024
    timeout: float = 30.0
    max_redirects: int = 5

    def __post_init__(self) -> None:
        if not isinstance(self.allow_private, bool):
            raise InvalidArgumentError("allow_private must be True or False")
        if not isinstance(self.max_bytes, int) or self.max_bytes <= 0:
            raise InvalidArgumentError(f"max_bytes must be a positive int, got {self.max_bytes!r}")
        if not isinstance(self.timeout, int | float) or not self.timeout > 0:
            raise InvalidArgumentError(f"timeout must be positive seconds, got {self.timeout!r}")
        if not isinstance(self.max_redirects, int) or self.max_redirects < 0:
            raise InvalidArgumentError(
                f"max_redirects must be an int >= 0, got {self.max_redirects!r}"
            )


DEFAULT_MEDIA_POLICY = MediaPolicy()
_FETCHED = "_fetched_media"


def _shown(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{parts.path}" + ("?..." if parts.query else "")


def _is_public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_public_host(host: str, port: int, policy: MediaPolicy) -> list[IPAddress]:
    """Resolve ``host`` and return its addresses; a :class:`MediaURLRefusedError` if any of them
    is not a public address and the policy does not allow private ones."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise MediaFetchError(f"cannot resolve media host {host!r} ({exc})") from None
    addresses: list[IPAddress] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise MediaFetchError(f"media host {host!r} has no address")
    if not policy.allow_private:
        for ip in addresses:
            if not _is_public(ip):
                raise MediaURLRefusedError(
                    f"media URL host {host!r} resolves to {ip}, a loopback/private/link-local/"
                    "reserved address: refused (SSRF guard). If you trust this URL, allow it with "
                    "StructuredOutput().with_media_policy(allow_private=True)"
                )
    return addresses


def _pinned(url: str, ip: IPAddress) -> tuple[str, str, str]:
    """The URL with its host replaced by the checked address, and the Host header/SNI name."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{ip}]" if isinstance(ip, ipaddress.IPv6Address) else str(ip)
    netloc = literal + (f":{parts.port}" if parts.port else "")
    host_header = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")), host_header, host


def _download(url: str, policy: MediaPolicy) -> tuple[bytes, str | None]:
    deadline = time.monotonic() + policy.timeout
    with httpx.Client(
        timeout=httpx.Timeout(policy.timeout), follow_redirects=False, verify=shared_ssl_context(),
        trust_env=False,
    ) as client:
        for _hop in range(policy.max_redirects + 1):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise MediaURLRefusedError(
                    f"media URL {_shown(url)!r} is not http(s); only http and https are fetched"
                )
            port = parts.port or (443 if parts.scheme == "https" else 80)
            addresses = check_public_host(parts.hostname, port, policy)
            target, host_header, sni = _pinned(url, addresses[0])
            extensions = {"sni_hostname": sni} if parts.scheme == "https" else {}
            request = client.build_request(
                "GET", target, headers={"Host": host_header, "Accept": "*/*"},
                extensions=extensions,
            )
            try:
                response = client.send(request, stream=True)
            except httpx.TimeoutException:
                raise MediaFetchError(
                    f"downloading {_shown(url)!r} timed out after {policy.timeout:g} s"
                ) from None
            except httpx.HTTPError as exc:
                raise MediaFetchError(
                    f"downloading {_shown(url)!r} failed: {type(exc).__name__}"
                ) from None
            try:
                if response.is_redirect:
                    location = response.headers.get("location")
                    if not location:
                        raise MediaFetchError(f"{_shown(url)!r} redirected without a Location")
                    url = urljoin(url, location)
                    continue
                if response.status_code != 200:
                    raise MediaFetchError(
                        f"downloading {_shown(url)!r} failed: HTTP {response.status_code}; "
                        "check that the URL is public and still valid"
                    )
                return _read_capped(response, url, policy, deadline), response.headers.get(
                    "content-type"
                )
            finally:
                response.close()
        raise MediaFetchError(
            f"{_shown(url)!r}: more than {policy.max_redirects} redirects; give the final URL"
        )


def _read_capped(
    response: httpx.Response, url: str, policy: MediaPolicy, deadline: float
) -> bytes:
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > policy.max_bytes:
        raise MediaFetchError(
            f"media at {_shown(url)!r} is {int(declared)} bytes, over the "
            f"{policy.max_bytes}-byte cap; raise it with with_media_policy(max_bytes=...)"
        )
    chunks: list[bytes] = []
    total = 0
    try:
        for chunk in response.iter_bytes():
            total += len(chunk)
            if total > policy.max_bytes:
                raise MediaFetchError(
                    f"media at {_shown(url)!r} passed the {policy.max_bytes}-byte cap; raise it "
                    "with with_media_policy(max_bytes=...)"
                )
            if time.monotonic() > deadline:
                raise MediaFetchError(
                    f"downloading {_shown(url)!r} took longer than {policy.timeout:g} s"
                )
            chunks.append(chunk)
    except httpx.TimeoutException:
        raise MediaFetchError(
            f"downloading {_shown(url)!r} timed out after {policy.timeout:g} s"
        ) from None
    except httpx.HTTPError as exc:
        raise MediaFetchError(f"downloading {_shown(url)!r} failed: {type(exc).__name__}") from None
    data = b"".join(chunks)
    if not data:
        raise MediaFetchError(f"media at {_shown(url)!r} is empty (0 bytes)")
    return data


def materialize_media(media: Media, policy: MediaPolicy | None = None) -> Media:
    """``media`` with its bytes: itself when it has them, else a copy holding the downloaded bytes
    and the media type read from them. The copy is kept on ``media``, so retries and other drivers
    reuse it (and its cached base64) without downloading again."""
    if media.data is not None:
        return media
    cached = media.__dict__.get(_FETCHED)
    if isinstance(cached, Media):
        return cached
    data, content_type = _download(media.url or "", policy or DEFAULT_MEDIA_POLICY)
    fetched = replace(media, data=data, url=None, media_type=_fetched_type(media, data,
                                                                          content_type))
    media.__dict__[_FETCHED] = fetched
    return fetched


def _fetched_type(media: Media, data: bytes, content_type: str | None) -> str:
    detected = detect_media_type(data)
    kind_of = {"image": "image/", "audio": "audio/", "pdf": "application/pdf"}[media.kind]
    if detected is not None:
        if not detected.startswith(kind_of):
            raise MediaError(
                f"{media!r}: the downloaded bytes are {detected}, not {media.kind}; check the URL"
            )
        return detected
    if not media.media_type.endswith("/*"):
        return media.media_type
    declared = (content_type or "").split(";", 1)[0].strip().lower()
    if declared.startswith(kind_of):
        return declared
    raise MediaError(
        f"{media!r}: cannot tell the media type of the downloaded bytes ({len(data)} bytes); "
        f"pass media_type=... to {type(media).__name__}.from_url"
    )


def fetch_media_bytes(media: Media, policy: MediaPolicy | None = None) -> bytes:
    """The media's bytes: its ``data``, or its URL downloaded under ``policy`` (once; cached)."""
    data = materialize_media(media, policy).data
    assert data is not None
    return data


async def amaterialize_media(media: Media, policy: MediaPolicy | None = None) -> Media:
    """:func:`materialize_media` off the event loop (same implementation, in a worker thread)."""
    if media.data is not None:
        return media
    return await asyncio.to_thread(materialize_media, media, policy)


async def afetch_media_bytes(media: Media, policy: MediaPolicy | None = None) -> bytes:
    """:func:`fetch_media_bytes` off the event loop."""
    data = (await amaterialize_media(media, policy)).data
    assert data is not None
    return data
