"""What every HTTP driver built from a :class:`ProviderPreset` shares: its settings, the protocol's
descriptive properties, the error context and a repr that never shows the API key."""

from __future__ import annotations

from instructor_py.modes import OutputMode
from instructor_py.providers.http_errors import ErrorContext
from instructor_py.providers.presets import ProviderPreset


class PresetDriver:
    def __init__(
        self,
        preset: ProviderPreset,
        *,
        api_key: str | None,
        base_url: str | None,
        model: str | None,
        timeout: float,
        mode: OutputMode | None,
    ) -> None:
        self._preset = preset
        self._api_key = api_key
        self._base_url = (base_url or preset.base_url).rstrip("/")
        self._model = model or preset.default_model
        self._timeout = timeout
        self._mode = mode or preset.default_mode
        self._ctx = ErrorContext(
            provider=preset.name,
            api_key_env=preset.api_key_env,
            base_url=self._base_url,
            timeout=timeout,
            secrets=(api_key,) if api_key else (),
        )

    def __repr__(self) -> str:
        key = "***" if self._api_key else None
        return (
            f"{type(self).__name__}(preset={self._preset.name!r}, base_url={self._base_url!r}, "
            f"model={self._model!r}, mode={self._mode.value!r}, api_key={key!r})"
        )

    @property
    def name(self) -> str:
        return self._preset.name

    @property
    def preset(self) -> ProviderPreset:
        return self._preset

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def default_model(self) -> str | None:
        return self._model

    @property
    def default_mode(self) -> OutputMode:
        return self._mode

    @property
    def supported_modes(self) -> frozenset[OutputMode]:
        return self._preset.supported_modes
