"""The llama.cpp vocabulary reader: every token's bytes, the special, EOS and BOS ids, and the
native addresses llguidance calls, read from a ``llama_cpp.Llama`` through its C API."""

from __future__ import annotations

import ctypes
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from instructor_py.common.errors import LocalModelError

__all__ = ["LlamaVocab", "NativeVocab", "read_llama"]


@dataclass(frozen=True)
class NativeVocab:
    """A llama.cpp vocabulary usable from native code: the ``llama_vocab*`` address and the
    address of ``llama_tokenize``, plus the model object that keeps both valid."""

    owner: Any
    vocab_ptr: int
    tokenize_fptr: int


@dataclass(frozen=True)
class LlamaVocab:
    """What :meth:`TokenizerInfo.from_llama` needs of a llama.cpp model."""

    tokens: list[bytes] = field(repr=False)
    eos_token_ids: tuple[int, ...]
    special_token_ids: tuple[int, ...] = field(repr=False)
    logits_width: int
    bos_token_id: int | None
    name: str
    encode: Callable[[bytes], list[int]] = field(repr=False)
    native: NativeVocab | None = field(repr=False)


def read_llama(llama: Any) -> LlamaVocab:
    """Read a ``llama_cpp.Llama``'s vocabulary (see :meth:`TokenizerInfo.from_llama`)."""
    import llama_cpp

    lib = llama_cpp.llama_cpp
    model = llama.model
    vocab = lib.llama_model_get_vocab(model)
    n_tokens = int(lib.llama_vocab_n_tokens(vocab))
    control = int(lib.LLAMA_TOKEN_ATTR_CONTROL)
    user_defined = int(lib.LLAMA_TOKEN_ATTR_USER_DEFINED)
    unknown = int(lib.LLAMA_TOKEN_ATTR_UNKNOWN)
    tokens = _token_pieces(lib, vocab, n_tokens)
    attr_fn = _cfunc(lib._lib.llama_token_get_attr, ctypes.c_int32, ctypes.c_void_p, ctypes.c_int32)
    vocab_ptr = _address(vocab)
    special: list[int] = []
    for tid, tok in enumerate(tokens):
        attr = attr_fn(vocab_ptr, tid)
        if attr & (control | unknown) or (
            attr & user_defined and tok[:1] == b"<" and tok[-1:] == b">"
        ):
            special.append(tid)
    eos: list[int] = []
    for getter in ("llama_vocab_eos", "llama_vocab_eot"):
        fn = getattr(lib, getter, None)
        if fn is not None:
            tid = int(fn(vocab))
            if 0 <= tid < n_tokens:
                eos.append(tid)
    for tid in special:
        if bool(lib.llama_vocab_is_eog(vocab, tid)):
            eos.append(tid)
    bos = int(lib.llama_vocab_bos(vocab))
    logits_width = max(n_tokens, int(llama.n_vocab()))

    model_ref = weakref.ref(llama)

    def encode(data: bytes) -> list[int]:
        live = model_ref()
        if live is None:
            raise LookupError("the llama model behind this TokenizerInfo was freed")
        return list(live.tokenize(data, add_bos=False, special=False))

    name = str(getattr(llama, "model_path", "llama"))
    return LlamaVocab(
        tokens=tokens,
        eos_token_ids=tuple(eos or [n_tokens - 1]),
        special_token_ids=tuple(special),
        logits_width=logits_width,
        bos_token_id=bos if 0 <= bos < n_tokens else None,
        name=name.rsplit("/", 1)[-1],
        encode=encode,
        native=_native_vocab(lib, llama, vocab),
    )


def _native_vocab(lib: Any, llama: Any, vocab: Any) -> NativeVocab | None:
    vocab_ptr = _address(vocab)
    fptr = ctypes.cast(lib._lib.llama_tokenize, ctypes.c_void_p).value
    if not vocab_ptr or not fptr:
        return None
    return NativeVocab(llama, vocab_ptr, fptr)


def _cfunc(fn: Any, restype: Any, *argtypes: Any) -> Any:
    """The raw C function behind a llama-cpp-python binding, with plain argument types (faster)."""
    address = ctypes.cast(fn, ctypes.c_void_p).value
    if address is None:
        raise LocalModelError("llama-cpp-python's native library is not loaded")
    return ctypes.CFUNCTYPE(restype, *argtypes)(address)


def _address(ptr: Any) -> int | None:
    return ptr if isinstance(ptr, int) or ptr is None else ctypes.cast(ptr, ctypes.c_void_p).value


def _token_pieces(lib: Any, vocab: Any, n_tokens: int) -> list[bytes]:
    """Every token's bytes, written back to back into large buffers (one C call per token)."""
    piece = _cfunc(
        lib._lib.llama_token_to_piece,
        ctypes.c_int32,
        ctypes.c_void_p,
        ctypes.c_int32,
        ctypes.c_void_p,
        ctypes.c_int32,
        ctypes.c_int32,
        ctypes.c_bool,
    )
    vocab_ptr = _address(vocab)
    chunk, room = 1 << 20, 256
    buf = ctypes.create_string_buffer(chunk)
    base = ctypes.addressof(buf)
    tokens: list[bytes] = []
    lengths: list[int] = []
    off = 0

    def flush() -> None:
        data = buf.raw[:off]
        pos = 0
        for k in lengths:
            tokens.append(data[pos : pos + k])
            pos += k
        lengths.clear()

    for tid in range(n_tokens):
        if off + room > chunk:
            flush()
            off = 0
        k = piece(vocab_ptr, tid, base + off, room, 0, True)
        if k < 0:  # longer than `room`: fetch it alone
            flush()
            off = 0
            big = ctypes.create_string_buffer(-k)
            k = piece(vocab_ptr, tid, ctypes.addressof(big), -k, 0, True)
            tokens.append(big.raw[:k])
            continue
        lengths.append(k)
        off += k
    flush()
    return tokens
