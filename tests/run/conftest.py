import pytest


@pytest.fixture(autouse=True)
def _fresh_provider_sources(fresh_provider_sources: None) -> None:
    """Each test starts with no shared provider sources (they outlive builders by design)."""
