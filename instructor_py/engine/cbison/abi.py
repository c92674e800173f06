"""ctypes mirrors of the CBISON structs (factory 1.0, tokenizer 1.0, mask request).

The layout follows the reference header (``cpp/cbison_api.h`` of guidance-ai/cbison) field by
field: the same order, ``size_t`` and ``bool`` where it has them, the reserved arrays
``reserved_hd`` and ``reserved_ptr``. Function pointers use plain ``c_void_p`` for every pointer
argument (a NULL arrives as ``None``), and ``const char *`` results are ``c_void_p`` too, so a
callback can return the address of a buffer it keeps alive.
"""

from __future__ import annotations

import ctypes
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_bool,
    c_int,
    c_int32,
    c_size_t,
    c_uint32,
    c_void_p,
)
from typing import TypeVar

from instructor_py.common.errors import CbisonError

FACTORY_MAGIC = 0x1BB53ED3
FACTORY_VERSION_MAJOR = 1
FACTORY_VERSION_MINOR = 0
TOKENIZER_MAGIC = 0xFF79E338
TOKENIZER_VERSION_MAJOR = 1
TOKENIZER_VERSION_MINOR = 0

# --- tokenizer function types ----------------------------------------------------------------

GetTokenFn = CFUNCTYPE(c_int, c_void_p, c_uint32, c_void_p, c_size_t)
IsSpecialTokenFn = CFUNCTYPE(c_int, c_void_p, c_uint32)
TokenizeBytesFn = CFUNCTYPE(c_size_t, c_void_p, c_void_p, c_size_t, c_void_p, c_size_t)
RefCountFn = CFUNCTYPE(None, c_void_p)

# --- factory function types ------------------------------------------------------------------

ValidateGrammarFn = CFUNCTYPE(c_int32, c_void_p, c_void_p, c_void_p, c_void_p, c_size_t)
NewMatcherFn = CFUNCTYPE(c_void_p, c_void_p, c_void_p, c_void_p)
GetErrorFn = CFUNCTYPE(c_void_p, c_void_p)
ComputeMaskFn = CFUNCTYPE(c_int32, c_void_p, c_void_p, c_size_t)
ConsumeTokensFn = CFUNCTYPE(c_int32, c_void_p, c_void_p, c_size_t)
MatcherBoolFn = CFUNCTYPE(c_bool, c_void_p)
ValidateTokensFn = CFUNCTYPE(c_int32, c_void_p, c_void_p, c_size_t)
ComputeFfTokensFn = CFUNCTYPE(c_int32, c_void_p, c_void_p, c_size_t)
FreeMatcherFn = CFUNCTYPE(None, c_void_p)
RollbackFn = CFUNCTYPE(c_int32, c_void_p, c_size_t)
ResetFn = CFUNCTYPE(c_int32, c_void_p)
CloneMatcherFn = CFUNCTYPE(c_void_p, c_void_p)
ComputeMasksFn = CFUNCTYPE(c_int32, c_void_p, c_void_p, c_size_t)

#: ``cbison_new_factory_fn_t``: ``(tokenizer, options_json, error_string, error_string_len)``
NewFactoryFn = CFUNCTYPE(c_void_p, c_void_p, ctypes.c_char_p, c_void_p, c_size_t)


S = TypeVar("S", bound=Structure)


class CbisonTokenizerStruct(Structure):
    """``struct cbison_tokenizer``."""

    _fields_ = [
        ("magic", c_uint32),
        ("impl_magic", c_uint32),
        ("version_major", c_uint32),
        ("version_minor", c_uint32),
        ("n_vocab", c_size_t),
        ("eos_token_id", c_uint32),
        ("tokenize_bytes_requires_utf8", c_bool),
        ("reserved_hd", c_uint32 * 6),
        ("impl_data", c_void_p),
        ("get_token", GetTokenFn),
        ("is_special_token", IsSpecialTokenFn),
        ("tokenize_bytes", TokenizeBytesFn),
        ("incr_ref_count", RefCountFn),
        ("decr_ref_count", RefCountFn),
        ("reserved_ptr", c_void_p * 16),
    ]


class CbisonFactoryStruct(Structure):
    """``struct cbison_factory``."""

    _fields_ = [
        ("magic", c_uint32),
        ("impl_magic", c_uint32),
        ("version_major", c_uint32),
        ("version_minor", c_uint32),
        ("n_vocab", c_size_t),
        ("mask_byte_len", c_size_t),
        ("eos_token_id", c_uint32),
        ("reserved_hd", c_uint32 * 7),
        ("impl_data", c_void_p),
        ("incr_ref_count", RefCountFn),
        ("decr_ref_count", RefCountFn),
        ("validate_grammar", ValidateGrammarFn),
        ("new_matcher", NewMatcherFn),
        ("get_error", GetErrorFn),
        ("compute_mask", ComputeMaskFn),
        ("consume_tokens", ConsumeTokensFn),
        ("is_accepting", MatcherBoolFn),
        ("is_stopped", MatcherBoolFn),
        ("validate_tokens", ValidateTokensFn),
        ("compute_ff_tokens", ComputeFfTokensFn),
        ("free_matcher", FreeMatcherFn),
        ("rollback", RollbackFn),
        ("reset", ResetFn),
        ("clone_matcher", CloneMatcherFn),
        ("compute_masks", ComputeMasksFn),
        ("reserved_ptr", c_void_p * 16),
    ]


class CbisonMaskReq(Structure):
    """``struct cbison_mask_req``: one matcher and where its mask goes."""

    _fields_ = [("matcher", c_void_p), ("mask_dest", POINTER(c_uint32))]


#: Functions a factory may leave NULL (the consuming side raises CbisonUnsupportedError).
OPTIONAL_FACTORY_FUNCTIONS = (
    "validate_tokens",
    "compute_ff_tokens",
    "rollback",
    "reset",
    "clone_matcher",
    "compute_masks",
)
#: Functions every factory must provide.
REQUIRED_FACTORY_FUNCTIONS = (
    "incr_ref_count",
    "decr_ref_count",
    "validate_grammar",
    "new_matcher",
    "get_error",
    "compute_mask",
    "consume_tokens",
    "is_accepting",
    "is_stopped",
    "free_matcher",
)

STRUCTS: dict[str, type[Structure]] = {
    "cbison_tokenizer": CbisonTokenizerStruct,
    "cbison_factory": CbisonFactoryStruct,
    "cbison_mask_req": CbisonMaskReq,
}


def layout() -> dict[str, int]:
    """``{"struct.field": offset, "struct.field#size": size, "struct#size": sizeof}`` for every
    mirrored struct (what a C program prints with ``offsetof``/``sizeof``)."""
    out: dict[str, int] = {}
    for name, cls in STRUCTS.items():
        out[f"{name}#size"] = ctypes.sizeof(cls)
        for fname, *_ in cls._fields_:
            desc = getattr(cls, fname)
            out[f"{name}.{fname}"] = desc.offset
            out[f"{name}.{fname}#size"] = desc.size
    return out


def read_header(cls: type[S], address: int, magic: int, major: int, what: str) -> S:
    """The struct at ``address`` after checking it is there, its magic and its major version;
    raises CbisonError saying which check failed."""
    c_name = next(name for name, c in STRUCTS.items() if c is cls)
    if not address:
        raise CbisonError(f"{what}: the pointer is NULL; pass the address of a {c_name}.")
    if address % ctypes.alignment(cls):
        raise CbisonError(
            f"{what}: 0x{address:x} is not aligned like a {c_name} (to {ctypes.alignment(cls)} "
            "bytes); is the address right?"
        )
    s = cls.from_address(address)
    found = int(s.magic)
    if found != magic:
        raise CbisonError(
            f"{what}: magic 0x{found:08x} at 0x{address:x} is not a {c_name}'s "
            f"(0x{magic:08x}); is the address right?"
        )
    got_major, got_minor = int(s.version_major), int(s.version_minor)
    if got_major != major:
        raise CbisonError(
            f"{what}: this {c_name} is version {got_major}.{got_minor}, this build reads "
            f"version {major}.x; use a matching build of the other side."
        )
    return s


def mask_byte_len(n_vocab: int) -> int:
    """Bytes of one CBISON token mask: ``(n_vocab + 31) / 32 * 4``."""
    return (n_vocab + 31) // 32 * 4
