"""Which llama.cpp build this process runs, and a guard against the one that crashes.

pip builds llama-cpp-python with ``-march=native``; on a CPU that advertises AMX
(``amx_tile amx_int8 amx_bf16``) that build runs ggml's AMX kernels, and where the kernel does not
grant the process AMX state (as on the virtual machines we run on) the first matrix product dies
with a segmentation fault in ``ggml_backend_amx_mul_mat``. The project's set-up
(``scripts/llama_wheel.py``) builds with explicit instruction sets and AMX off; this module lets
the local provider refuse an AMX build *before* it crashes, with a message that says how to get
the right one, and names the build in errors and test failures.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import json
import platform
import sys
from pathlib import Path
from typing import Any

from instructor_py.common.errors import LocalModelError

__all__ = ["amx_usable", "build_record", "check_native_build", "describe_build", "system_info"]

_ARCH_REQ_XCOMP_PERM = 0x1023
_XFEATURE_XTILEDATA = 18
_SYS_ARCH_PRCTL = 158  # x86-64


def system_info() -> str:
    """llama.cpp's own summary of the features it was compiled with (``AVX2 = 1 | ...``)."""
    import llama_cpp

    raw = llama_cpp.llama_print_system_info()
    return raw.decode("utf-8", "replace").strip() if raw else ""


def build_record() -> dict[str, Any] | None:
    """What ``scripts/llama_wheel.py`` recorded when it installed llama-cpp-python into this
    environment (version, CMake arguments, the CPU flags they came from), or None."""
    path = Path(sys.prefix) / "llama-cpp-build.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def describe_build() -> str:
    """One paragraph naming the llama.cpp build: version, how it was configured, what it has."""
    try:
        import llama_cpp

        version = getattr(llama_cpp, "__version__", "?")
    except ImportError:
        return "llama-cpp-python is not installed"
    record = build_record()
    how = (
        "CMAKE_ARGS=" + " ".join(record.get("cmake_args", []))
        if record
        else "not installed by the project's set-up (no llama-cpp-build.json in this environment)"
    )
    return f"llama-cpp-python {version} ({how}); {system_info()}"


def _compiled_with_amx(info: str) -> bool:
    return any(f"{name} = 1" in info for name in ("AMX_INT8", "AMX_BF16", "AMX"))


@functools.cache
def amx_usable() -> bool:
    """Whether the kernel lets this process use AMX tiles (``arch_prctl(ARCH_REQ_XCOMP_PERM)``)."""
    if platform.machine() not in ("x86_64", "AMD64") or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return int(libc.syscall(_SYS_ARCH_PRCTL, _ARCH_REQ_XCOMP_PERM, _XFEATURE_XTILEDATA)) == 0
    except (OSError, AttributeError):
        return False


@functools.cache
def check_native_build() -> None:
    """Raise :class:`LocalModelError` when the installed llama.cpp has AMX kernels this machine
    cannot run (they would crash the process at the first decode)."""
    info = system_info()
    if _compiled_with_amx(info) and not amx_usable():
        raise LocalModelError(
            "the installed llama-cpp-python was built with AMX kernels (usually pip's default "
            "-march=native build on a CPU that advertises AMX), and this machine does not grant "
            "AMX to processes: decoding would crash with a segmentation fault. Rebuild it without "
            "AMX: `make setup` in the instructor_py checkout (scripts/llama_wheel.py), or pip "
            "install --force-reinstall --no-cache-dir llama-cpp-python with CMAKE_ARGS="
            '"-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON". Build: ' + info
        )
