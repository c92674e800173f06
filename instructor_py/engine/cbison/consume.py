"""Consuming a CBISON engine: `CbisonFactory`, `CbisonMatcher`.

A ``cbison_factory`` comes from a grammar engine (a shared library's
``<prefix>_cbison_new_factory``, see :mod:`~instructor_py.engine.cbison.loader`, or any address
a caller hands over). :class:`CbisonFactory`
checks its magic and major version, takes a reference for as long as the Python object lives
(``close()`` or garbage collection gives it back) and calls its function pointers; each
:class:`CbisonMatcher` keeps its factory alive and frees its C matcher once (``free()``, a
``with`` block, or garbage collection). Optional functions the engine leaves NULL raise
:class:`~instructor_py.common.errors.CbisonUnsupportedError`; engine failures raise
:class:`~instructor_py.common.errors.CbisonError` with the engine's ``get_error`` text.

Bitmasks are ours (numpy int32 ``[rows, words]``, :func:`~instructor_py.local.allocate_bitmask`):
the engine writes ``mask_byte_len`` bytes at the start of a row and the rest of a wider row
(logits padding) is zeroed.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Sequence
from typing import Any

from instructor_py.common.errors import CbisonError, CbisonUnsupportedError, TokenOutOfRangeError
from instructor_py.engine.bitmask import Bitmask, check_bitmask
from instructor_py.engine.cbison.abi import (
    FACTORY_MAGIC,
    FACTORY_VERSION_MAJOR,
    REQUIRED_FACTORY_FUNCTIONS,
    CbisonFactoryStruct,
    read_header,
)
from instructor_py.engine.cbison.refcount import OneReference

_FF_BUFFER = 1024


def _c_str(text: str | bytes) -> bytes:
    if isinstance(text, bytes):
        text = text.decode("utf-8")  # must be UTF-8 text for the engine anyway
    if "\0" in text:
        raise CbisonError(
            "grammar types and grammars passed to a CBISON engine cannot contain NUL."
        )
    return text.encode("utf-8")


class CbisonFactory(OneReference):
    """A ``cbison_factory`` at ``address`` (an engine's factory for one tokenizer).

    ``owned=True`` adopts the reference the creator returned (``load_factory`` does); otherwise
    one is taken with ``incr_ref_count``. ``keepalive`` is kept referenced (e.g. the loaded
    library).
    """

    def __init__(self, address: int, *, owned: bool = False, keepalive: Any = None) -> None:
        s = read_header(
            CbisonFactoryStruct, address, FACTORY_MAGIC, FACTORY_VERSION_MAJOR, "CbisonFactory"
        )
        missing = [n for n in REQUIRED_FACTORY_FUNCTIONS if not getattr(s, n)]
        if missing:
            raise CbisonError(
                f"CbisonFactory: required function(s) {', '.join(missing)} are NULL; the engine "
                "does not implement CBISON 1.0."
            )
        self._s = s
        self._address = address
        self._keepalive = keepalive
        self._closed = False
        self._n_vocab = int(s.n_vocab)
        self._mbl = int(s.mask_byte_len)
        if self._mbl != (self._n_vocab + 31) // 32 * 4:
            raise CbisonError(
                f"CbisonFactory: mask_byte_len {self._mbl} does not fit n_vocab {self._n_vocab} "
                f"(expected {(self._n_vocab + 31) // 32 * 4})."
            )
        self._decr = s.decr_ref_count
        self.fn_get_error = s.get_error
        self.fn_compute_mask = s.compute_mask
        self.fn_consume_tokens = s.consume_tokens
        self.fn_is_accepting = s.is_accepting
        self.fn_is_stopped = s.is_stopped
        self.fn_free_matcher = s.free_matcher
        self.fn_validate_tokens = s.validate_tokens or None
        self.fn_compute_ff_tokens = s.compute_ff_tokens or None
        self.fn_rollback = s.rollback or None
        self.fn_reset = s.reset or None
        self.fn_clone_matcher = s.clone_matcher or None
        self._fn_compute_masks = s.compute_masks or None
        if not owned:
            s.incr_ref_count(address)

    # --- properties -------------------------------------------------------------------------

    @property
    def address(self) -> int:
        return self._address

    @property
    def n_vocab(self) -> int:
        return self._n_vocab

    @property
    def mask_byte_len(self) -> int:
        return self._mbl

    @property
    def eos_token_id(self) -> int:
        return int(self._s.eos_token_id)

    @property
    def version(self) -> tuple[int, int]:
        return int(self._s.version_major), int(self._s.version_minor)

    @property
    def impl_magic(self) -> int:
        return int(self._s.impl_magic)

    def supports(self, function: str) -> bool:
        """Whether the optional function ``function`` (e.g. ``"rollback"``) is provided."""
        return bool(getattr(self._s, function))

    # --- grammar ------------------------------------------------------------------------------

    def validate_grammar(self, grammar_type: str, grammar: str | bytes) -> tuple[bool, str]:
        """``(ok, message)``: ok is False on an error; the message is the error, a warning, or
        empty."""
        self._check_open()
        buf = ctypes.create_string_buffer(4096)
        rc = self._s.validate_grammar(
            self._address, _c_str(grammar_type), _c_str(grammar), buf, len(buf)
        )
        return rc >= 0, buf.value.decode("utf-8", "replace")

    def new_matcher(self, grammar_type: str, grammar: str | bytes) -> CbisonMatcher:
        """A matcher for the grammar; check ``get_error()`` (a bad grammar gives a matcher in
        its error state, as CBISON specifies)."""
        self._check_open()
        ptr = self._s.new_matcher(self._address, _c_str(grammar_type), _c_str(grammar))
        if not ptr:
            raise CbisonError(
                f"the engine's new_matcher returned NULL for a {grammar_type!r} grammar."
            )
        return CbisonMatcher(self, int(ptr))

    # --- masks --------------------------------------------------------------------------------

    def compute_masks(
        self,
        matchers: Sequence[CbisonMatcher],
        bitmask: Bitmask,
        rows: Sequence[int] | None = None,
    ) -> None:
        """Row ``rows[i]`` (default ``i``) of ``bitmask`` gets the mask of ``matchers[i]``: one
        batched ``compute_masks`` call when the engine has it, else one call per matcher."""
        self._check_open()
        idx = list(range(len(matchers))) if rows is None else list(rows)
        if len(idx) != len(matchers):
            raise CbisonError(f"compute_masks: {len(matchers)} matchers but {len(idx)} rows.")
        if self._fn_compute_masks is None:
            for m, r in zip(matchers, idx, strict=True):
                m.compute_mask(bitmask, r)
            return
        words = self._mbl // 4
        base, stride = 0, 0
        for r in idx:
            check_bitmask(bitmask, r, words)
        if idx:
            base, stride = int(bitmask.ctypes.data), int(bitmask.strides[0])
        if len(set(idx)) != len(idx):
            raise CbisonError("compute_masks: a row is given twice.")
        raw = (ctypes.c_void_p * (2 * len(idx)))()
        for i, (m, r) in enumerate(zip(matchers, idx, strict=True)):
            if m.factory is not self:
                raise CbisonError("compute_masks: a matcher comes from another factory.")
            raw[2 * i] = m.pointer
            raw[2 * i + 1] = base + r * stride
        if self._fn_compute_masks(self._address, raw, len(idx)) != 0:
            errors = [
                f"row {r}: {m.get_error()}"
                for m, r in zip(matchers, idx, strict=True)
                if m.get_error()
            ]
            raise CbisonError(
                "the engine's compute_masks failed" + (": " + "; ".join(errors) if errors else ".")
            )
        if bitmask.shape[1] > words:
            bitmask[idx, words:] = 0

    # --- lifetime -----------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise CbisonError("this CbisonFactory was closed; load or wrap the factory again.")

    def _release(self) -> None:
        """``close()`` gives back this object's reference (live matchers keep the factory open
        until freed)."""
        self._decr(self._address)

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"n_vocab={self._n_vocab}"
        return f"CbisonFactory(0x{self._address:x}, {state})"


class CbisonMatcher:
    """One matcher of a :class:`CbisonFactory` (the C object is freed once, by :meth:`free`,
    ``with``, or garbage collection)."""

    __slots__ = ("__weakref__", "_f", "_ptr")

    def __init__(self, factory: CbisonFactory, pointer: int) -> None:
        self._f = factory
        self._ptr: int | None = pointer

    @property
    def factory(self) -> CbisonFactory:
        return self._f

    @property
    def pointer(self) -> int:
        if self._ptr is None:
            raise CbisonError("this CBISON matcher was freed; create a new one with new_matcher().")
        return self._ptr

    @property
    def freed(self) -> bool:
        return self._ptr is None

    def _tokens(self, tokens: Sequence[int]) -> Any:
        n = self._f.n_vocab
        ids = [int(t) for t in tokens]
        for t in ids:
            if not 0 <= t < n:
                raise TokenOutOfRangeError(
                    f"token id {t} is outside the engine's vocabulary [0, {n})."
                )
        return (ctypes.c_uint32 * len(ids))(*ids)

    def _fail(self, what: str) -> CbisonError:
        err = self.get_error()
        return CbisonError(f"CBISON {what} failed: {err or 'the engine gave no error message'}")

    def _optional(self, fn: Any, name: str) -> Any:
        if fn is None:
            raise CbisonUnsupportedError(
                f"{name} is not supported by this engine (its function pointer is NULL)."
            )
        return fn

    # --- state --------------------------------------------------------------------------------

    def get_error(self) -> str | None:
        addr = self._f.fn_get_error(self.pointer)
        return ctypes.string_at(addr).decode("utf-8", "replace") if addr else None

    def is_accepting(self) -> bool:
        return bool(self._f.fn_is_accepting(self.pointer))

    def is_stopped(self) -> bool:
        return bool(self._f.fn_is_stopped(self.pointer))

    # --- masks and tokens ---------------------------------------------------------------------

    def compute_mask(self, bitmask: Bitmask, index: int = 0) -> None:
        """Write the allowed tokens into row ``index`` of ``bitmask`` (a wider row's tail is 0)."""
        words = self._f.mask_byte_len // 4
        check_bitmask(bitmask, index, words)
        address = int(bitmask.ctypes.data) + index * int(bitmask.strides[0])
        self.compute_mask_at(address)
        if bitmask.shape[1] > words:
            bitmask[index, words:] = 0

    def compute_mask_at(self, address: int) -> None:
        """Write the mask (``mask_byte_len`` bytes) at a raw address the caller vouches for."""
        ptr, f = self._ptr, self._f
        if ptr is None:
            raise CbisonError("this CBISON matcher was freed; create a new one with new_matcher().")
        if f.fn_compute_mask(ptr, address, f._mbl) != 0:
            raise self._fail("compute_mask")

    def consume_tokens(self, tokens: Sequence[int]) -> None:
        """Advance by ``tokens``; a refused token raises (the matcher is then in its error state)."""
        arr = self._tokens(tokens)
        if self._f.fn_consume_tokens(self.pointer, arr, len(arr)) != 0:
            raise self._fail("consume_tokens")

    def validate_tokens(self, tokens: Sequence[int]) -> int:
        """How many of ``tokens`` (a prefix) the matcher would accept."""
        fn = self._optional(self._f.fn_validate_tokens, "validate_tokens")
        arr = self._tokens(tokens)
        k = int(fn(self.pointer, arr, len(arr)))
        if k < 0:
            raise self._fail("validate_tokens")
        return k

    def compute_ff_tokens(self) -> list[int]:
        """The tokens the grammar forces from here (not consumed)."""
        fn = self._optional(self._f.fn_compute_ff_tokens, "compute_ff_tokens")
        out = (ctypes.c_uint32 * _FF_BUFFER)()
        k = int(fn(self.pointer, out, _FF_BUFFER))
        if k < 0:
            raise self._fail("compute_ff_tokens")
        return list(out[: min(k, _FF_BUFFER)])

    def rollback(self, num_tokens: int) -> None:
        fn = self._optional(self._f.fn_rollback, "rollback")
        if num_tokens < 0:
            raise CbisonError(f"rollback({num_tokens}): the count must be >= 0.")
        if fn(self.pointer, num_tokens) != 0:
            raise self._fail(f"rollback({num_tokens})")

    def reset(self) -> None:
        fn = self._optional(self._f.fn_reset, "reset")
        if fn(self.pointer) != 0:
            raise self._fail("reset")

    def clone(self) -> CbisonMatcher:
        fn = self._optional(self._f.fn_clone_matcher, "clone_matcher")
        ptr = fn(self.pointer)
        if not ptr:
            raise self._fail("clone_matcher")
        return CbisonMatcher(self._f, int(ptr))

    # --- lifetime -----------------------------------------------------------------------------

    def free(self) -> None:
        """Free the C matcher (idempotent; later calls on this object raise CbisonError)."""
        ptr, self._ptr = self._ptr, None
        if ptr is not None:
            self._f.fn_free_matcher(ptr)

    def __enter__(self) -> CbisonMatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.free()

    def __del__(self) -> None:
        if getattr(self, "_ptr", None) is not None and not sys.is_finalizing():
            self.free()

    def __repr__(self) -> str:
        return "CbisonMatcher(freed)" if self._ptr is None else f"CbisonMatcher(0x{self._ptr:x})"
