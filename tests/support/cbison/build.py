"""Builds the C sources of tests/support/cbison/c with ``cc`` (at test time) and wraps the driver.

``CBISON_TEST_CFLAGS`` adds compiler flags, e.g. to run the tests under AddressSanitizer:
``CBISON_TEST_CFLAGS="-fsanitize=address,undefined" LD_PRELOAD=$(gcc -print-file-name=libasan.so)
ASAN_OPTIONS=detect_leaks=0 pytest tests/cbison``.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from instructor_py.local.cbison import include_dir

C_DIR = Path(__file__).parent / "c"
SOURCES = ("tiny_engine.c", "alt_engine.c", "driver.c", "layout.c")  # cbison_api.h: the one the package ships


def c_compiler() -> str | None:
    return shutil.which("cc")


needs_cc = pytest.mark.skipif(c_compiler() is None, reason="no C compiler (cc) on PATH")


def build(out_dir: Path) -> dict[str, Path]:
    """Compile the tiny engine and the driver as shared libraries and the layout program."""
    cc = c_compiler()
    assert cc is not None
    flags = [
        "-O2",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-std=c11",
        "-D_POSIX_C_SOURCE=200809L",
        f"-I{include_dir()}",
        *os.environ.get("CBISON_TEST_CFLAGS", "").split(),
    ]
    built = {
        "tiny": out_dir / "libtiny_engine.so",
        "alt": out_dir / "libalt_engine.so",
        "driver": out_dir / "libcbison_driver.so",
        "layout": out_dir / "cbison_layout",
    }
    for src, key in (("tiny_engine.c", "tiny"), ("alt_engine.c", "alt"), ("driver.c", "driver")):
        _cc([cc, *flags, "-shared", "-fPIC", "-o", str(built[key]), str(C_DIR / src)])
    _cc([cc, *flags, "-o", str(built["layout"]), str(C_DIR / "layout.c")])
    return built


def _cc(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stderr}")


@dataclass
class Walk:
    rc: int
    masks: np.ndarray  # [n + 1, words] int32
    accepting: list[bool]
    stopped: list[bool]
    error: str


class Driver:
    """The C driver library (a C inference system over any cbison_factory address)."""

    def __init__(self, path: Path) -> None:
        lib = ctypes.CDLL(str(path))
        vp, sz, u32p = ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_uint32)
        lib.drv_walk.argtypes = [vp, ctypes.c_char_p, ctypes.c_char_p, u32p, sz, vp, vp, vp, vp, sz]
        lib.drv_walk.restype = ctypes.c_int
        lib.drv_walk_batch.argtypes = [vp, ctypes.c_char_p, ctypes.c_char_p, u32p, sz, sz, vp]
        lib.drv_walk_batch.restype = ctypes.c_int
        lib.drv_time_masks.argtypes = [
            vp,
            ctypes.c_char_p,
            ctypes.c_char_p,
            u32p,
            sz,
            ctypes.c_int,
            vp,
            vp,
        ]
        lib.drv_time_masks.restype = ctypes.c_double
        lib.drv_time_batch.argtypes = [
            vp,
            ctypes.c_char_p,
            ctypes.c_char_p,
            u32p,
            sz,
            sz,
            vp,
            vp,
        ]
        lib.drv_time_batch.restype = ctypes.c_double
        lib.drv_bad_cases.argtypes = [vp, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint32, vp, sz]
        lib.drv_bad_cases.restype = ctypes.c_int
        lib.drv_incr.argtypes = lib.drv_decr.argtypes = [vp]
        lib.drv_incr.restype = lib.drv_decr.restype = None
        lib.drv_token.argtypes = [vp, ctypes.c_uint32, vp, sz]
        lib.drv_token.restype = ctypes.c_int
        lib.drv_is_special.argtypes = [vp, ctypes.c_uint32]
        lib.drv_is_special.restype = ctypes.c_int
        lib.drv_tokenize.argtypes = [vp, ctypes.c_char_p, sz, vp, sz]
        lib.drv_tokenize.restype = sz
        self.lib = lib

    @staticmethod
    def _tokens(tokens: list[int]) -> ctypes.Array[ctypes.c_uint32]:
        return (ctypes.c_uint32 * max(1, len(tokens)))(*tokens)

    def walk(self, factory: int, gtype: str, grammar: str, tokens: list[int], words: int) -> Walk:
        n = len(tokens)
        masks = np.zeros((n + 1, words), dtype=np.int32)
        acc = (ctypes.c_uint8 * (n + 1))()
        stop = (ctypes.c_uint8 * (n + 1))()
        err = ctypes.create_string_buffer(4096)
        rc = self.lib.drv_walk(
            factory, gtype.encode(), grammar.encode(), self._tokens(tokens), n,
            masks.ctypes.data, acc, stop, err, len(err),
        )  # fmt: skip
        return Walk(rc, masks, [bool(a) for a in acc], [bool(s) for s in stop], err.value.decode())

    def walk_batch(
        self, factory: int, gtype: str, grammar: str, tokens: list[int], k: int, words: int
    ) -> tuple[int, np.ndarray]:
        n = len(tokens)
        masks = np.zeros(((n + 1) * k, words), dtype=np.int32)
        rc = self.lib.drv_walk_batch(
            factory, gtype.encode(), grammar.encode(), self._tokens(tokens), n, k, masks.ctypes.data
        )
        return rc, masks.reshape(n + 1, k, words)

    def time_masks(
        self, factory: int, gtype: str, grammar: str, tokens: list[int], rounds: int, words: int
    ) -> tuple[float, np.ndarray]:
        """Total ns in compute_mask over ``rounds`` walks, and each token's ns in the last one."""
        scratch = np.zeros(words, dtype=np.int32)
        per_token = np.zeros(max(1, len(tokens)), dtype=np.float64)
        total = self.lib.drv_time_masks(
            factory, gtype.encode(), grammar.encode(), self._tokens(tokens), len(tokens),
            rounds, scratch.ctypes.data, per_token.ctypes.data,
        )  # fmt: skip
        return float(total), per_token[: len(tokens)]

    def time_batch(
        self, factory: int, gtype: str, grammar: str, tokens: list[int], k: int, words: int
    ) -> tuple[float, np.ndarray]:
        """Total ns in compute_masks over ``k`` matchers in lockstep, and each step's ns."""
        masks = np.zeros((k, words), dtype=np.int32)
        per_step = np.zeros(max(1, len(tokens)), dtype=np.float64)
        total = self.lib.drv_time_batch(
            factory, gtype.encode(), grammar.encode(), self._tokens(tokens), len(tokens), k,
            masks.ctypes.data, per_step.ctypes.data,
        )  # fmt: skip
        return float(total), per_step[: len(tokens)]

    def bad_cases(
        self, factory: int, gtype: str, grammar: str, bad_token: int
    ) -> dict[str, tuple[int, str]]:
        buf = ctypes.create_string_buffer(1 << 16)
        assert (
            self.lib.drv_bad_cases(
                factory, gtype.encode(), grammar.encode(), bad_token, buf, len(buf)
            )
            == 0
        )
        out: dict[str, tuple[int, str]] = {}
        for line in buf.value.decode().splitlines():
            if "\t" in line:
                name, rc, err = line.split("\t", 2)
                out[name] = (int(rc), err)
            else:  # continuation of a multi-line error text
                name = list(out)[-1]
                out[name] = (out[name][0], out[name][1] + "\n" + line)
        return out


def python_walk(matcher: object, tokens: list[int], vocab: int) -> Walk:
    """The same walk as the C driver's through our Matcher protocol: masks (``[n + 1, words]``,
    cut to the vocabulary), is_accepting and is_terminated before each token and after the last;
    every token must be allowed by its mask."""
    from instructor_py.local import allocate_bitmask, is_token_allowed

    words = (vocab + 31) // 32
    masks = np.zeros((len(tokens) + 1, words), dtype=np.int32)
    accepting, stopped = [], []
    row = allocate_bitmask(1, vocab)
    for i in range(len(tokens) + 1):
        matcher.fill_next_token_bitmask(row, 0)  # type: ignore[attr-defined]
        masks[i] = row[0, :words]
        accepting.append(bool(matcher.is_accepting()))  # type: ignore[attr-defined]
        stopped.append(bool(matcher.is_terminated()))  # type: ignore[attr-defined]
        if i < len(tokens):
            assert is_token_allowed(row[0], tokens[i]), f"token {tokens[i]} refused at {i}"
            assert matcher.accept_token(tokens[i])  # type: ignore[attr-defined]
    return Walk(0, masks, accepting, stopped, "")
