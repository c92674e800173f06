"""Lazy provider resolution for the builder: ``using(preset, **overrides)`` remembers the preset
and its overrides and creates the provider on first use, once, shared by every builder derived
from it. The overrides (which may hold an ``api_key``) never appear in a repr.

Identical ``using(...)`` calls share one source (a small LRU keyed by preset and overrides), so
``StructuredOutput().using("openai").with_(...).get()`` in a loop reuses one client and its
connection pool instead of building a new one per call. A source the LRU evicts closes its
provider's connections (``close()``; HTTP drivers build a new client if they are used again)."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from types import MappingProxyType
from typing import Any

from instructor_py.common.errors import InvalidArgumentError
from instructor_py.providers.base import InferenceProvider

DEFAULT_PRESET = "local"
PRESET_ENV = "INSTRUCTOR_PY_PRESET"


class ProviderSource:
    __slots__ = ("_lock", "_overrides", "_provider", "preset")

    def __init__(self, preset: str, overrides: Mapping[str, Any] | None = None) -> None:
        if not isinstance(preset, str) or not preset:
            raise InvalidArgumentError(
                f"preset must be a non-empty str, got {type(preset).__name__}"
            )
        self.preset = preset
        self._overrides: Mapping[str, Any] = MappingProxyType(dict(overrides or {}))
        self._provider: InferenceProvider | None = None
        self._lock = threading.Lock()

    @property
    def override_names(self) -> tuple[str, ...]:
        return tuple(sorted(self._overrides))

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its preset and overrides (the provider is created again where it is
        unpickled: a Ray worker, another process). An ``api_key`` override travels with it;
        prefer the preset's environment variable on the workers."""
        return (shared_source, (self.preset, dict(self._overrides)))

    def override(self, name: str) -> Any:
        """One override's value (``None`` when not given); batch jobs read ``api_key`` here."""
        return self._overrides.get(name)

    def resolve(self) -> InferenceProvider:
        if self._provider is None:
            with self._lock:
                if self._provider is None:
                    from instructor_py.providers.registry import (  # type: ignore[import-not-found,unused-ignore]
                        create_provider,
                    )

                    self._provider = create_provider(self.preset, **dict(self._overrides))
        return self._provider

    def close(self) -> None:
        """Close the provider's (sync) connections, if it was created and can close."""
        close = getattr(self._provider, "close", None)
        if close is not None:
            close()

    def __repr__(self) -> str:
        return f"ProviderSource(preset={self.preset!r}, overrides={list(self.override_names)})"


_defaults: dict[str, ProviderSource] = {}
_defaults_lock = threading.Lock()

_SHARED_MAX = 32
_shared: OrderedDict[Hashable, ProviderSource] = OrderedDict()


def shared_source(preset: str, overrides: Mapping[str, Any]) -> ProviderSource:
    """The source for ``using(preset, **overrides)``: the same object for identical arguments
    (when they are hashable), else a fresh one."""
    try:
        key: Hashable = (preset, tuple(sorted(overrides.items())))
        hash(key)
    except TypeError:
        return ProviderSource(preset, overrides)
    evicted: list[ProviderSource] = []
    with _defaults_lock:
        source = _shared.get(key)
        if source is None:
            source = _shared[key] = ProviderSource(preset, overrides)
            while len(_shared) > _SHARED_MAX:
                evicted.append(_shared.popitem(last=False)[1])
        else:
            _shared.move_to_end(key)
    for old in evicted:  # outside the lock: closing may take a moment
        old.close()
    return source


def default_source() -> ProviderSource:
    """The source used when a builder names neither a preset nor a provider: the preset in
    ``INSTRUCTOR_PY_PRESET``, else ``"local"``; one shared source per preset name."""
    preset = os.environ.get(PRESET_ENV) or DEFAULT_PRESET
    with _defaults_lock:
        source = _defaults.get(preset)
        if source is None:
            source = _defaults[preset] = ProviderSource(preset)
        return source
