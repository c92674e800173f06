"""Build (once per machine) and install llama-cpp-python with safe CPU flags.

Why this exists:

* pip builds llama.cpp from the sdist with ``-march=native``. On a CPU whose flags list
  ``amx_tile amx_int8 amx_bf16`` that build enables ggml's AMX kernels, and on the virtual
  machines we run on they fault (``ggml_backend_amx_mul_mat`` at ``ldtilecfg``): the demo and
  the tests die with a segmentation fault. We build with ``GGML_NATIVE=OFF`` and turn on each
  instruction set the CPU reports (SSE4.2, AVX, AVX2, FMA, F16C, BMI2, AVX-VNNI, AVX-512 and its
  VBMI/VNNI/BF16 extensions), with AMX always off.
* pip's wheel cache is keyed by the sdist, not by ``CMAKE_ARGS``: a machine that once built a
  native wheel would install it again whatever flags are set now. So the wheel is built with
  pip's cache off and kept in our own cache, keyed by the version and the exact CMake
  arguments: a second set-up on the same machine installs it in seconds, and a CPU with other
  features gets its own build.

Usage (the Makefile calls this with the virtualenv's Python)::

    python scripts/llama_wheel.py flags      # print the CMake arguments for this CPU
    python scripts/llama_wheel.py install    # build if not cached, then install into this Python

Environment: ``INSTRUCTOR_PY_WHEEL_CACHE`` (default ``~/.cache/instructor_py/wheels``);
``INSTRUCTOR_PY_LLAMA_CMAKE_ARGS`` replaces the computed arguments (AMX stays forced off).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "llama-cpp-python"

# (CMake option, cpuinfo flags that must all be present)
_X86_FEATURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("GGML_SSE42", ("sse4_2",)),
    ("GGML_AVX", ("avx",)),
    ("GGML_AVX2", ("avx2",)),
    ("GGML_FMA", ("fma",)),
    ("GGML_F16C", ("f16c",)),
    ("GGML_BMI2", ("bmi2",)),
    ("GGML_AVX_VNNI", ("avx_vnni",)),
    ("GGML_AVX512", ("avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw")),
    ("GGML_AVX512_VBMI", ("avx512f", "avx512vbmi")),
    ("GGML_AVX512_VNNI", ("avx512f", "avx512_vnni")),
    ("GGML_AVX512_BF16", ("avx512f", "avx512_bf16")),
)
_NEVER = ("GGML_AMX_TILE", "GGML_AMX_INT8", "GGML_AMX_BF16")


def pinned_version() -> str:
    """The llama-cpp-python version pinned in pyproject.toml (one source of truth)."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for extra in data["project"]["optional-dependencies"].values():
        for requirement in extra:
            match = re.fullmatch(r"llama-cpp-python(?:\[[^\]]*\])?==([\w.]+)", requirement)
            if match:
                return match.group(1)
    raise SystemExit("pyproject.toml pins no llama-cpp-python==X.Y.Z in its extras")


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def _relevant_flags() -> list[str]:
    """The CPU flags the build decisions read (and the AMX ones, which it always leaves off)."""
    known = {f for _, needed in _X86_FEATURES for f in needed} | {"amx_tile", "amx_int8", "amx_bf16"}
    return sorted(cpu_flags() & known)


def cmake_args(flags: set[str] | None = None) -> list[str]:
    """CMake arguments for this CPU: no -march=native, every reported ISA on, AMX off."""
    override = os.environ.get("INSTRUCTOR_PY_LLAMA_CMAKE_ARGS")
    args: list[str]
    if override:
        args = [a for a in override.split() if not a.startswith(_NEVER)]
    else:
        flags = cpu_flags() if flags is None else flags
        args = ["-DGGML_NATIVE=OFF"]
        if "lm" in flags or not flags:  # x86-64 (or unknown: plain defaults)
            for option, needed in _X86_FEATURES:
                on = bool(flags) and all(f in flags for f in needed)
                args.append(f"-D{option}={'ON' if on else 'OFF'}")
    args += [f"-D{option}=OFF" for option in _NEVER]
    args += ["-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF"]
    return args


def cache_root() -> Path:
    env = os.environ.get("INSTRUCTOR_PY_WHEEL_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "instructor_py" / "wheels"


def cache_key(version: str, args: list[str]) -> str:
    digest = hashlib.sha256(" ".join(args).encode()).hexdigest()[:16]
    return f"{PACKAGE}-{version}-{digest}"


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def cached_wheel(entry: Path) -> Path | None:
    wheels = sorted(entry.glob("llama_cpp_python-*.whl"))
    return wheels[0] if wheels and (entry / "build.json").exists() else None


def build(version: str, args: list[str], entry: Path) -> Path:
    """Build the wheel from the sdist with pip's caches off, then move it into the cache."""
    env = dict(os.environ)
    env["CMAKE_ARGS"] = " ".join(args)
    env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(len(os.sched_getaffinity(0))))
    env.pop("SOURCE_DATE_EPOCH", None)
    print(f"[llama_wheel] building {PACKAGE}=={version} (4-10 minutes) with CMAKE_ARGS={env['CMAKE_ARGS']}")
    entry.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".build-", dir=entry.parent) as tmp:
        out = Path(tmp) / "out"
        command = [
            sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir",
            "--no-binary", PACKAGE, f"{PACKAGE}=={version}", "-w", str(out),
        ]
        subprocess.run(command, check=True, env=env)
        wheels = list(out.glob("llama_cpp_python-*.whl"))
        if len(wheels) != 1:
            raise SystemExit(f"[llama_wheel] expected one wheel in {out}, found {wheels}")
        (out / "build.json").write_text(
            json.dumps({"version": version, "cmake_args": args, "cpu_flags": _relevant_flags()}, indent=1)
        )
        if entry.exists():
            shutil.rmtree(entry)
        out.rename(entry)  # atomic: a broken build never looks cached
    wheel = cached_wheel(entry)
    assert wheel is not None
    return wheel


def install() -> None:
    version = pinned_version()
    args = cmake_args()
    entry = cache_root() / cache_key(version, args)
    with locked(cache_root() / ".lock"):
        wheel = cached_wheel(entry)
        if wheel is None:
            wheel = build(version, args, entry)
        else:
            print(f"[llama_wheel] using cached build {entry.name}")
    pip = [sys.executable, "-m", "pip", "install"]
    # replace whatever build is installed (e.g. a native one from pip's cache), then add its deps
    subprocess.run([*pip, "--no-deps", "--force-reinstall", str(wheel)], check=True)
    subprocess.run([*pip, str(wheel)], check=True)
    # Record which build this environment runs, for error messages and the crash test.
    record = json.loads((entry / "build.json").read_text()) | {"wheel": str(wheel)}
    (Path(sys.prefix) / "llama-cpp-build.json").write_text(json.dumps(record, indent=1))


def main(argv: list[str]) -> None:
    command = argv[1] if len(argv) > 1 else "install"
    if command == "flags":
        print(" ".join(cmake_args()))
    elif command == "version":
        print(pinned_version())
    elif command == "key":
        print(cache_key(pinned_version(), cmake_args()))
    elif command == "install":
        install()
    else:
        raise SystemExit(f"usage: {argv[0]} [flags|key|install]")


if __name__ == "__main__":
    main(sys.argv)
