"""One TLS context for every HTTP client the drivers create.

Building an ``ssl.SSLContext`` (loading the CA bundle) costs ~0.1 s; httpx builds one per client
by default. The drivers share this one (same trust store httpx would use: ``SSL_CERT_FILE`` /
``SSL_CERT_DIR`` when set, else certifi's bundle), so creating a provider is cheap.
"""

from __future__ import annotations

import functools
import os
import ssl


@functools.lru_cache(maxsize=4)
def _context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    if cafile is None and capath is None:
        try:
            import certifi

            cafile = certifi.where()
        except ImportError:  # pragma: no cover - certifi ships with httpx
            return ssl.create_default_context()
    return ssl.create_default_context(cafile=cafile, capath=capath)


def shared_ssl_context() -> ssl.SSLContext:
    return _context(os.environ.get("SSL_CERT_FILE") or None, os.environ.get("SSL_CERT_DIR") or None)
