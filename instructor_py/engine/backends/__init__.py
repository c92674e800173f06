"""Constraint backends. Only those whose package is installed are registered.

- ``llguidance`` (default): every constraint kind.
- ``guidance``: Guidance-style templates, on llguidance (registered with it).
- ``outlines-core``: regex, choice, and JSON schema through its regex conversion.
"""

from __future__ import annotations

from instructor_py.engine.backends.base import Backend, BackendMatcher, BackendStats
from instructor_py.engine.tokenizer import TokenizerInfo


def installed_backends(tokenizer: TokenizerInfo) -> list[Backend]:
    """One instance of every installed backend for ``tokenizer`` (llguidance first)."""
    found: list[Backend] = []
    try:
        from instructor_py.engine.backends.llguidance_backend import LLGuidanceBackend
    except ImportError:
        pass
    else:
        found.append(LLGuidanceBackend(tokenizer))
        from instructor_py.engine.backends.guidance_backend import GuidanceBackend

        found.append(GuidanceBackend(tokenizer))
    try:
        from instructor_py.engine.backends.outlines_backend import OutlinesBackend
    except ImportError:
        pass
    else:
        found.append(OutlinesBackend(tokenizer))
    return found


__all__ = ["Backend", "BackendMatcher", "BackendStats", "installed_backends"]
