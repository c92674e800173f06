"""`TokenizerInfo` from a Hugging Face tokenizer (``tokenizers.Tokenizer`` or a transformers
``PreTrainedTokenizerBase``, fast or slow), without importing torch.

Token bytes are recovered from the token strings the way the tokenizer's decoder would produce
them: byte-level BPE (GPT-2, Llama 3, SmolLM, Qwen...) maps each character back through the
GPT-2 byte table; SentencePiece-style vocabularies turn ``▁`` into a space and ``<0xNN>``
byte-fallback tokens into their byte; anything else is the token's UTF-8 text. Added tokens are
their literal content; those marked special (and the tokenizer's EOS/BOS/pad) are special ids.

For a fast tokenizer the llguidance tokenizer is built natively from the tokenizer's JSON (no
Python callback while masks are computed) and cached on the returned info.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from instructor_py.common.errors import ConfigurationError

__all__ = ["HFVocab", "is_hf_tokenizer", "read_hf"]

#: names of end-of-sequence tokens, tried in order when a raw ``tokenizers.Tokenizer`` (which has
#: no notion of EOS) is given without ``eos_token_ids``
EOS_NAMES = (
    "<|endoftext|>",
    "<|im_end|>",
    "<|eot_id|>",
    "<|end_of_text|>",
    "</s>",
    "<eos>",
    "<end_of_turn>",
    "<|end|>",
)
_BYTE_FALLBACK = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")


def is_hf_tokenizer(obj: Any) -> bool:
    """Whether ``obj`` is a ``tokenizers.Tokenizer`` or a transformers tokenizer."""
    module = type(obj).__module__ or ""
    if module.startswith("tokenizers"):
        return hasattr(obj, "id_to_token")
    return module.startswith("transformers") and hasattr(obj, "convert_ids_to_tokens")


@lru_cache(maxsize=1)
def _unicode_to_byte() -> dict[str, int]:
    """The inverse of GPT-2's ``bytes_to_unicode`` table."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    codes = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, codes, strict=True)}


def _decoder_kinds(node: Any) -> set[str]:
    """Every decoder type named in a tokenizer.json ``decoder`` node (Sequences flattened)."""
    if not isinstance(node, dict):
        return set()
    kinds = {str(node.get("type"))}
    for child in node.get("decoders") or []:
        kinds |= _decoder_kinds(child)
    return kinds


def _scheme(kinds: set[str], model: dict[str, Any]) -> str:
    if "ByteLevel" in kinds:
        return "byte_level"
    if kinds & {"Metaspace", "ByteFallback", "Replace"} or model.get("byte_fallback"):
        return "sentencepiece"
    return "text"


def _piece_bytes(piece: str, scheme: str) -> bytes:
    if scheme == "byte_level":
        table = _unicode_to_byte()
        try:
            return bytes(table[c] for c in piece)
        except KeyError:  # not a byte-level piece (e.g. an added token): its text
            return piece.encode("utf-8")
    if scheme == "sentencepiece":
        m = _BYTE_FALLBACK.match(piece)
        if m:
            return bytes([int(m.group(1), 16)])
        return piece.replace("▁", " ").encode("utf-8")
    return piece.encode("utf-8")


class _Source:
    """What is read from either kind of tokenizer: pieces by id, added tokens, special ids."""

    def __init__(self, tokenizer: Any) -> None:
        self.hf = tokenizer
        backend = getattr(tokenizer, "backend_tokenizer", None)
        if backend is None and hasattr(tokenizer, "to_str") and hasattr(tokenizer, "id_to_token"):
            backend = tokenizer  # a raw tokenizers.Tokenizer
        self.backend = backend
        self.added: dict[int, tuple[str, bool]] = {}
        if backend is not None:
            spec = json.loads(backend.to_str())
            self.json_text: str | None = backend.to_str()
            model = spec.get("model") or {}
            self.scheme = _scheme(_decoder_kinds(spec.get("decoder")), model)
            for tok in spec.get("added_tokens") or []:
                self.added[int(tok["id"])] = (str(tok["content"]), bool(tok.get("special")))
            self.size = int(backend.get_vocab_size(with_added_tokens=True))
        else:
            self.json_text = None
            if not hasattr(tokenizer, "convert_ids_to_tokens"):
                raise ConfigurationError(
                    f"TokenizerInfo.from_hf: {type(tokenizer).__name__} is not a Hugging Face "
                    "tokenizer; pass a tokenizers.Tokenizer or a transformers tokenizer."
                )
            self.scheme = (
                "byte_level"
                if hasattr(tokenizer, "byte_decoder")
                else "sentencepiece"
                if hasattr(tokenizer, "sp_model")
                else "text"
            )
            for tid, tok in dict(getattr(tokenizer, "added_tokens_decoder", {}) or {}).items():
                self.added[int(tid)] = (str(tok), bool(getattr(tok, "special", True)))
            self.size = len(tokenizer)
        if self.added:
            self.size = max(self.size, max(self.added) + 1)

    def pieces(self) -> list[str | None]:
        """The token string of every id (None for an id the vocabulary skips)."""
        out: list[str | None] = [None] * self.size
        if self.backend is not None:
            vocab = self.backend.get_vocab(with_added_tokens=True)
        else:
            vocab = self.hf.get_vocab()
        for piece, tid in vocab.items():
            if 0 <= tid < self.size:
                out[tid] = str(piece)
        return out

    def special_ids(self) -> set[int]:
        ids = {tid for tid, (_, special) in self.added.items() if special}
        for tid in getattr(self.hf, "all_special_ids", None) or []:
            if isinstance(tid, int) and 0 <= tid < self.size:
                ids.add(tid)
        return ids

    def eos_ids(self, given: int | Iterable[int] | None) -> list[int]:
        if given is not None:
            return [given] if isinstance(given, int) else [int(t) for t in given]
        eos = getattr(self.hf, "eos_token_id", None)
        if isinstance(eos, int):
            return [eos]
        if isinstance(eos, list) and eos:
            return [int(t) for t in eos]
        by_text = {text: tid for tid, (text, _) in self.added.items()}
        for name in EOS_NAMES:
            if name in by_text:
                return [by_text[name]]
        raise ConfigurationError(
            "TokenizerInfo.from_hf: the tokenizer names no end-of-sequence token and none of "
            f"{', '.join(EOS_NAMES[:4])}... is in its vocabulary; pass eos_token_ids=[...]."
        )

    def encoder(self) -> Callable[[str], list[int]]:
        hf, backend = self.hf, self.backend
        if backend is not None:
            # a copy that reads special-token text as plain text (as llama.cpp's special=False):
            # the engine tokenizes forced text, never control tokens
            backend = copy.copy(backend)
            with contextlib.suppress(AttributeError):
                backend.encode_special_tokens = True

            def encode_text(text: str) -> list[int]:
                return list(backend.encode(text, add_special_tokens=False).ids)

        else:

            def encode_text(text: str) -> list[int]:
                return list(hf.encode(text, add_special_tokens=False))

        return encode_text


@dataclass(frozen=True)
class HFVocab:
    """What :meth:`TokenizerInfo.from_hf` needs of a Hugging Face tokenizer: every token's bytes
    (index = id), the EOS, special and BOS ids, a text encoder, and the tokenizer JSON when the
    tokenizer has one (llguidance builds its tokenizer from it natively)."""

    tokens: list[bytes]
    eos_token_ids: tuple[int, ...]
    special_token_ids: frozenset[int]
    bos_token_id: int | None
    name: str
    encode_text: Callable[[str], list[int]] = field(repr=False)
    json_text: str | None = field(default=None, repr=False)


def read_hf(
    tokenizer: Any, *, eos_token_ids: int | Iterable[int] | None = None, name: str | None = None
) -> HFVocab:
    """Read a Hugging Face tokenizer (see :meth:`TokenizerInfo.from_hf`)."""
    src = _Source(tokenizer)
    tokens: list[bytes] = []
    for tid, piece in enumerate(src.pieces()):
        if tid in src.added:
            tokens.append(src.added[tid][0].encode("utf-8"))
        else:
            tokens.append(b"" if piece is None else _piece_bytes(piece, src.scheme))
    eos = tuple(src.eos_ids(eos_token_ids))
    bos = getattr(tokenizer, "bos_token_id", None)
    label = name or str(getattr(tokenizer, "name_or_path", "") or "hf")
    return HFVocab(
        tokens=tokens,
        eos_token_ids=eos,
        special_token_ids=frozenset(src.special_ids() | set(eos)),
        bos_token_id=bos if isinstance(bos, int) and 0 <= bos < len(tokens) else None,
        name=label.rsplit("/", 1)[-1] or "hf",
        encode_text=src.encoder(),
        json_text=src.json_text,
    )
