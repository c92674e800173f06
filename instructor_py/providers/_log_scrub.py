"""Keep credentials out of third-party debug logs.

boto3 / botocore log at DEBUG the canonical request it signs (with the ``x-amz-security-token``
header), the prepared request (``Authorization`` and the session token) and the response body
(where a server may echo a credential back). A :class:`SecretScrubber` on those loggers rewrites
such records before any handler sees them: every registered secret becomes ``***``, and so do the
values of the credential headers.
"""

from __future__ import annotations

import logging
import re
import threading

from instructor_py.providers.http_errors import redact

_HEADERS = re.compile(
    r"(?i)(x-amz-security-token['\"]?\s*[:=]\s*b?['\"]?|authorization['\"]?\s*[:=]\s*b?['\"]?"
    r"|Signature=|Credential=)[^\s'\",]+"
)

_secrets: set[str] = set()
_lock = threading.Lock()


class SecretScrubber(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error handling
            return True
        with _lock:
            secrets = tuple(_secrets)
        cleaned = _HEADERS.sub(lambda m: m.group(1) + "***", redact(message, secrets))
        if cleaned != message:
            record.msg = cleaned
            record.args = ()
        return True


_SCRUBBER = SecretScrubber()


def scrub_logs(logger_names: tuple[str, ...], secrets: tuple[str, ...]) -> None:
    """Register ``secrets`` and put the scrubber on ``logger_names`` (once per logger). A filter
    on a logger sees the records logged to that logger, so the loggers that write requests and
    responses are named one by one."""
    with _lock:
        _secrets.update(s for s in secrets if s)
    for name in logger_names:
        logger = logging.getLogger(name)
        if _SCRUBBER not in logger.filters:
            logger.addFilter(_SCRUBBER)
