"""Lazy provider resolution for the builder: ``using(preset, **overrides)`` remembers the preset
and its overrides and creates the provider on first use, once, shared by every builder derived
from it. The overrides (which may hold an ``api_key``) never appear in a repr."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from instructor_py.providers.base import InferenceProvider

DEFAULT_PRESET = "local"
PRESET_ENV = "INSTRUCTOR_PY_PRESET"


class ProviderSource:
    __slots__ = ("_lock", "_overrides", "_provider", "preset")

    def __init__(self, preset: str, overrides: Mapping[str, Any] | None = None) -> None:
        if not isinstance(preset, str) or not preset:
            raise TypeError(f"preset must be a non-empty str, got {type(preset).__name__}")
        self.preset = preset
        self._overrides: Mapping[str, Any] = MappingProxyType(dict(overrides or {}))
        self._provider: InferenceProvider | None = None
        self._lock = threading.Lock()

    @property
    def override_names(self) -> tuple[str, ...]:
        return tuple(sorted(self._overrides))

    def resolve(self) -> InferenceProvider:
        if self._provider is None:
            with self._lock:
                if self._provider is None:
                    from instructor_py.providers.registry import (  # type: ignore[import-not-found,unused-ignore]
                        create_provider,
                    )

                    self._provider = create_provider(self.preset, **dict(self._overrides))
        return self._provider

    def __repr__(self) -> str:
        return f"ProviderSource(preset={self.preset!r}, overrides={list(self.override_names)})"


_defaults: dict[str, ProviderSource] = {}
_defaults_lock = threading.Lock()


def default_source() -> ProviderSource:
    """The source used when a builder names neither a preset nor a provider: the preset in
    ``INSTRUCTOR_PY_PRESET``, else ``"local"``; one shared source per preset name."""
    preset = os.environ.get(PRESET_ENV) or DEFAULT_PRESET
    with _defaults_lock:
        source = _defaults.get(preset)
        if source is None:
            source = _defaults[preset] = ProviderSource(preset)
        return source
