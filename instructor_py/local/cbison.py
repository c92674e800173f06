"""CBISON on the public face: ``from instructor_py.local.cbison import CbisonBackend, ...``.

The implementation lives in :mod:`instructor_py.engine.cbison` (the constraint engine); this module
keeps the public import path."""

from __future__ import annotations

from instructor_py.engine.cbison import *  # noqa: F403
from instructor_py.engine.cbison import __all__ as __all__
