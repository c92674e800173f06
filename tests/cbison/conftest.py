"""Fixtures for the CBISON tests: the C sources compiled once per session with ``cc``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cbison.build import Driver, build, c_compiler


@pytest.fixture(scope="session")
def c_build(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if c_compiler() is None:
        pytest.skip("no C compiler (cc) on PATH")
    return build(tmp_path_factory.mktemp("cbison_c"))


@pytest.fixture(scope="session")
def tiny_lib(c_build: dict[str, Path]) -> Path:
    return c_build["tiny"]


@pytest.fixture(scope="session")
def driver(c_build: dict[str, Path]) -> Driver:
    return Driver(c_build["driver"])
