"""The local engine: token-level constraints for llama.cpp (public API)."""

from __future__ import annotations

from instructor_py.local.matcher import Matcher

__all__ = ["Matcher"]
