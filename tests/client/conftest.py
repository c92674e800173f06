from __future__ import annotations

from collections import OrderedDict

import pytest

from instructor_py.client import provider_source


@pytest.fixture(autouse=True)
def _fresh_provider_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no shared provider sources (they outlive builders by design)."""
    monkeypatch.setattr(provider_source, "_shared", OrderedDict())
    monkeypatch.setattr(provider_source, "_defaults", {})
