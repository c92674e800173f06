"""OpenMP's wait policy: importing instructor_py.local asks libgomp for passive waits (spinning
worker threads starve a loaded machine), and a user's own choice wins. Checked in fresh
subprocesses, since libgomp reads the variable once, when llama.cpp loads."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _run(env_policy: str | None, spin: str | None = None) -> list[str]:
    names = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
    env = {k: v for k, v in os.environ.items() if k not in names}
    if env_policy is not None:
        env["OMP_WAIT_POLICY"] = env_policy
    if spin is not None:
        env["GOMP_SPINCOUNT"] = spin
    code = (
        "import ctypes, os\n"
        "import instructor_py.local\n"
        "import llama_cpp\n"
        "libc = ctypes.CDLL(None)\n"
        "libc.getenv.restype = ctypes.c_char_p\n"
        "for name in ('OMP_WAIT_POLICY', 'GOMP_SPINCOUNT'):\n"
        "    print(os.environ.get(name, '-'))\n"
        "    print((libc.getenv(name.encode()) or b'-').decode())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split()


def test_importing_the_local_package_asks_for_passive_waits() -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python (extra 'local') is not installed")
    # both Python's view and the C environment libgomp reads when llama.cpp loads: passive
    # waits after a short spin
    assert _run(None) == ["PASSIVE", "PASSIVE", "1000", "1000"]


def test_a_policy_or_spin_count_the_user_chose_is_kept() -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python (extra 'local') is not installed")
    assert _run("ACTIVE") == ["ACTIVE", "ACTIVE", "-", "-"]
    assert _run(None, "0") == ["PASSIVE", "PASSIVE", "0", "0"]
