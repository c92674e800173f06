"""The llama.cpp build the set-up installs: it decodes without crashing (checked in a subprocess,
so a crash of the native library fails this test with the build named instead of killing pytest),
it has no AMX kernels, and it is the build ``scripts/llama_wheel.py`` chooses for this CPU."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from instructor_py.runtime.native import build_record, describe_build, system_info

REPO = Path(__file__).resolve().parents[2]

DECODE = textwrap.dedent(
    """
    from instructor_py.runtime.generation import DecodeOptions
    from instructor_py.runtime.model import load_model
    from instructor_py.runtime.session import session_for
    session = session_for(load_model())
    prompt = session.render([{"role": "user", "content": "Say hello."}])
    chunks = list(session.generate(prompt, None, DecodeOptions(max_tokens=4, ignore_eos=True)))
    tokens = [t for c in chunks for t in c.token_ids]
    assert len(tokens) == 4, tokens
    print("decoded", tokens)
    """
)


def _llama_wheel() -> ModuleType:
    spec = importlib.util.spec_from_file_location("llama_wheel", REPO / "scripts" / "llama_wheel.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_embedded_model_decodes_in_a_subprocess() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", DECODE], capture_output=True, text=True, timeout=300, cwd=str(REPO)
    )
    if proc.returncode != 0:
        how = (
            f"was killed by {signal.Signals(-proc.returncode).name}"
            if proc.returncode < 0
            else f"exited with status {proc.returncode}"
        )
        pytest.fail(
            f"decoding 4 tokens of the embedded model {how}. llama.cpp build: {describe_build()}. "
            f"Rebuild it with `make setup` (scripts/llama_wheel.py). stderr:\n{proc.stderr[-2000:]}"
        )
    assert "decoded" in proc.stdout


def test_build_has_no_amx_kernels() -> None:
    info = system_info()
    assert "AVX" in info, info  # the x86 features are reported at all
    assert "AMX_INT8 = 1" not in info and "AMX_BF16 = 1" not in info, describe_build()


def test_installed_build_is_the_one_chosen_for_this_cpu() -> None:
    record = build_record()
    assert record is not None, (
        "llama-cpp-python was not installed by the project's set-up: run `make setup` "
        f"({describe_build()})"
    )
    wheel = _llama_wheel()
    assert record["cmake_args"] == wheel.cmake_args()
    assert record["version"] == wheel.pinned_version()
    import llama_cpp

    assert llama_cpp.__version__ == record["version"]


@pytest.mark.parametrize(
    ("flags", "on", "off"),
    [
        (  # a CPU that advertises AMX (where pip's -march=native build crashes)
            {"lm", "avx", "avx2", "fma", "f16c", "bmi2", "sse4_2", "avx512f", "avx512cd",
             "avx512vl", "avx512dq", "avx512bw", "avx512_vnni", "avx512_bf16",
             "amx_tile", "amx_int8", "amx_bf16"},
            {"GGML_AVX2", "GGML_AVX512", "GGML_AVX512_VNNI", "GGML_AVX512_BF16"},
            {"GGML_AMX_TILE", "GGML_AMX_INT8", "GGML_AMX_BF16", "GGML_NATIVE", "GGML_AVX512_VBMI"},
        ),
        (  # AVX2 only
            {"lm", "avx", "avx2", "fma", "f16c", "bmi2", "sse4_2"},
            {"GGML_AVX", "GGML_AVX2", "GGML_FMA", "GGML_F16C"},
            {"GGML_AVX512", "GGML_AVX512_VNNI", "GGML_AMX_INT8", "GGML_NATIVE"},
        ),
        (  # plain x86-64 (no AVX at all)
            {"lm", "sse4_2"},
            {"GGML_SSE42"},
            {"GGML_AVX", "GGML_AVX2", "GGML_FMA", "GGML_AVX512", "GGML_NATIVE"},
        ),
    ],
)  # fmt: skip
def test_cmake_args_follow_the_cpu_and_never_enable_amx(
    flags: set[str], on: set[str], off: set[str]
) -> None:
    args = _llama_wheel().cmake_args(flags)
    values = dict(a[2:].split("=", 1) for a in args if a.startswith("-D"))
    assert {k for k in on if values.get(k) == "ON"} == on, args
    assert {k for k in off if values.get(k) == "OFF"} == off, args


def test_cache_key_changes_with_the_flags() -> None:
    wheel = _llama_wheel()
    avx2 = wheel.cmake_args({"lm", "avx", "avx2"})
    avx512 = wheel.cmake_args({"lm", "avx", "avx2", "avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"})
    assert wheel.cache_key("0.3.36", avx2) != wheel.cache_key("0.3.36", avx512)
    assert wheel.cache_key("0.3.36", avx2) == wheel.cache_key("0.3.36", list(avx2))
