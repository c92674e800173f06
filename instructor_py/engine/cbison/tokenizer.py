"""The ``cbison_tokenizer`` both ways: `export_tokenizer` (ours, for a C engine) and
`CbisonTokenizer` (an inference system's, read from C).

:func:`export_tokenizer` builds a real ``cbison_tokenizer`` whose functions call back into a
:class:`~instructor_py.engine.tokenizer.TokenizerInfo`: ``get_token`` gives the token's bytes (the
text of special tokens included), ``is_special_token`` its flag, ``tokenize_bytes`` the model's
tokenizer (or the greedy one) over any bytes, so ``tokenize_bytes_requires_utf8`` is false. The
struct stays alive while its reference count is above 0 (see
:mod:`instructor_py.engine.cbison.refcount`).
"""

from __future__ import annotations

import ctypes
from typing import Any

from instructor_py.common.errors import CbisonError, TokenOutOfRangeError
from instructor_py.engine.cbison.abi import (
    TOKENIZER_MAGIC,
    TOKENIZER_VERSION_MAJOR,
    TOKENIZER_VERSION_MINOR,
    CbisonTokenizerStruct,
    GetTokenFn,
    IsSpecialTokenFn,
    RefCountFn,
    TokenizeBytesFn,
    read_header,
)
from instructor_py.engine.cbison.refcount import Handle, OneReference, Registry, write_u32s
from instructor_py.engine.tokenizer import TokenizerInfo

#: ``impl_magic`` of the structs instructor_py exports ("IPY1").
IMPL_MAGIC = 0x49505931


def write_header(s: Any, magic: int, version: tuple[int, int], info: TokenizerInfo) -> None:
    """Fill the header an exported struct of ours starts with (magics, version, vocabulary)."""
    s.magic = magic
    s.impl_magic = IMPL_MAGIC
    s.version_major, s.version_minor = version
    s.n_vocab = info.vocab_size
    s.eos_token_id = info.eos_token_ids[0]

_TOKENIZERS: Registry[TokenizerInfo] = Registry("cbison_tokenizer")


# --- exported callbacks (module-level: never freed while C may call them) --------------------


def _get_token(api: int | None, token_id: int, dest: int | None, dest_len: int) -> int:
    try:
        rec = _TOKENIZERS.live.get(api or 0)
        if rec is None:
            return -1
        toks = rec.payload.token_bytes
        if token_id >= len(toks):
            return -1
        data = toks[token_id]
        if dest and dest_len:
            ctypes.memmove(dest, data, min(len(data), dest_len))
        return len(data)
    except Exception:  # an exception must never cross into C
        return -1


def _is_special(api: int | None, token_id: int) -> int:
    try:
        rec = _TOKENIZERS.live.get(api or 0)
        if rec is None or token_id >= rec.payload.vocab_size:
            return -1
        return 1 if token_id in rec.payload.special_token_ids else 0
    except Exception:
        return -1


def _tokenize_bytes(
    api: int | None, data: int | None, n: int, out: int | None, out_len: int
) -> int:
    try:
        rec = _TOKENIZERS.live.get(api or 0)
        if rec is None or (n and not data):
            return 0
        ids = rec.payload.tokenize(ctypes.string_at(data or 0, n) if n else b"")
        if out:
            write_u32s(out, ids[: min(len(ids), out_len)])
        return len(ids)
    except Exception:
        return 0


_CB_GET_TOKEN = GetTokenFn(_get_token)
_CB_IS_SPECIAL = IsSpecialTokenFn(_is_special)
_CB_TOKENIZE = TokenizeBytesFn(_tokenize_bytes)
_CB_INCR = RefCountFn(_TOKENIZERS.incr)
_CB_DECR = RefCountFn(_TOKENIZERS.decr)


class ExportedTokenizer(Handle[TokenizerInfo]):
    """Our ``cbison_tokenizer`` for a TokenizerInfo: pass ``.address`` to a C engine."""

    def __init__(self, info: TokenizerInfo) -> None:
        s = CbisonTokenizerStruct()
        write_header(s, TOKENIZER_MAGIC, (TOKENIZER_VERSION_MAJOR, TOKENIZER_VERSION_MINOR), info)
        s.tokenize_bytes_requires_utf8 = False
        s.get_token = _CB_GET_TOKEN
        s.is_special_token = _CB_IS_SPECIAL
        s.tokenize_bytes = _CB_TOKENIZE
        s.incr_ref_count = _CB_INCR
        s.decr_ref_count = _CB_DECR
        self.tokenizer_info = info
        super().__init__(_TOKENIZERS, _TOKENIZERS.add(s, info))

    def __repr__(self) -> str:
        return f"ExportedTokenizer({self.tokenizer_info.name!r}, refs={self.ref_count})"


def export_tokenizer(tokenizer_info: TokenizerInfo) -> ExportedTokenizer:
    """A real ``cbison_tokenizer`` over ``tokenizer_info`` (reference count 1, this handle's)."""
    if not isinstance(tokenizer_info, TokenizerInfo):
        raise CbisonError(
            f"export_tokenizer: expected a TokenizerInfo, got {type(tokenizer_info).__name__}."
        )
    return ExportedTokenizer(tokenizer_info)


class CbisonTokenizer(OneReference):
    """A ``cbison_tokenizer`` at ``address`` (typically an inference system's). Checks magic and
    major version and holds a reference while the object lives (``close()`` gives it back)."""

    def __init__(self, address: int) -> None:
        s = read_header(
            CbisonTokenizerStruct,
            address,
            TOKENIZER_MAGIC,
            TOKENIZER_VERSION_MAJOR,
            "CbisonTokenizer",
        )
        if not s.get_token or not s.is_special_token:
            raise CbisonError("CbisonTokenizer: get_token or is_special_token is NULL.")
        self._s = s
        self._address = address
        self._closed = False
        self._n = int(s.n_vocab)
        self._get = s.get_token
        self._special = s.is_special_token
        self._tokenize = s.tokenize_bytes or None
        if s.incr_ref_count:
            s.incr_ref_count(address)

    @property
    def address(self) -> int:
        return self._address

    @property
    def n_vocab(self) -> int:
        return self._n

    @property
    def eos_token_id(self) -> int:
        return int(self._s.eos_token_id)

    @property
    def tokenize_bytes_requires_utf8(self) -> bool:
        return bool(self._s.tokenize_bytes_requires_utf8)

    def _check(self, token_id: int) -> None:
        if self._closed:
            raise CbisonError("this CbisonTokenizer was closed.")
        if not 0 <= token_id < self._n:
            raise TokenOutOfRangeError(f"token id {token_id} is outside [0, {self._n}).")

    def get_token(self, token_id: int) -> bytes:
        self._check(token_id)
        buf = ctypes.create_string_buffer(64)
        n = int(self._get(self._address, token_id, buf, 64))
        if n > 64:
            buf = ctypes.create_string_buffer(n)
            n = int(self._get(self._address, token_id, buf, n))
        if n < 0:
            raise CbisonError(f"get_token({token_id}) failed in the tokenizer.")
        return buf.raw[:n]

    def is_special_token(self, token_id: int) -> bool:
        self._check(token_id)
        r = int(self._special(self._address, token_id))
        if r < 0:
            raise CbisonError(f"is_special_token({token_id}) failed in the tokenizer.")
        return r == 1

    def tokenize_bytes(self, data: bytes | str) -> list[int]:
        if isinstance(data, str):
            data = data.encode("utf-8")
        if self._closed:
            raise CbisonError("this CbisonTokenizer was closed.")
        if self._tokenize is None:
            raise CbisonError("tokenize_bytes is not supported by this tokenizer (NULL).")
        room = max(16, len(data))
        out = (ctypes.c_uint32 * room)()
        n = int(self._tokenize(self._address, data, len(data), out, room))
        if n > room:
            out = (ctypes.c_uint32 * n)()
            n = int(self._tokenize(self._address, data, len(data), out, n))
        return list(out[:n])

    def to_tokenizer_info(self, name: str = "cbison") -> TokenizerInfo:
        """A TokenizerInfo with this tokenizer's bytes and flags (``tokenize`` calls back into
        it), so our orchestrator can serve a C inference system's vocabulary."""
        tokens = [self.get_token(i) for i in range(self._n)]
        special = [i for i in range(self._n) if self.is_special_token(i)]
        encode = self.tokenize_bytes if self._tokenize is not None else None
        return TokenizerInfo.from_token_bytes(
            tokens, self.eos_token_id, special, name=name, encode=encode
        )

    def _release(self) -> None:
        if self._s.decr_ref_count:
            self._s.decr_ref_count(self._address)

    def __repr__(self) -> str:
        return f"CbisonTokenizer(0x{self._address:x}, n_vocab={self._n})"


def exported_tokenizer_count() -> int:
    """How many exported tokenizers are alive (reference count above 0)."""
    return len(_TOKENIZERS.live)
