"""What the engine needs to know about a tokenizer: `TokenizerInfo`.

Built from a llama-cpp-python model (:meth:`TokenizerInfo.from_llama`, cached per model) or from a
plain list of token bytes (:meth:`TokenizerInfo.from_token_bytes`, for tests and other runtimes).

``vocab_size`` is the number of real tokens; ``logits_width`` is the width of the model's logits
row, which may be larger (padding). Tokens at or past ``vocab_size`` are never allowed by a mask.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from instructor_py.common.errors import ConfigurationError, TokenOutOfRangeError
from instructor_py.engine.hf_tokenizer import read_hf
from instructor_py.engine.llama_vocab import NativeVocab, read_llama

Encoder = Callable[[bytes], list[int]]


@dataclass(frozen=True, eq=False)
class TokenizerInfo:
    """Token bytes, special and end-of-sequence ids, vocabulary size vs logits width.

    ``encode`` (optional) turns bytes into token ids with the model's own tokenizer; without it a
    greedy longest-match tokenizer over ``token_bytes`` is used (backends need one to compute
    fast-forward tokens). Equality and hashing use :attr:`fingerprint`.
    """

    token_bytes: tuple[bytes, ...]
    eos_token_ids: tuple[int, ...]
    special_token_ids: frozenset[int]
    logits_width: int
    bos_token_id: int | None = None
    name: str = "custom"
    encode: Encoder | None = field(default=None, repr=False)
    #: per-instance cache of what backends build from this tokenizer (e.g. an LLTokenizer, which
    #: calls back into ``encode``: it must not be shared with a TokenizerInfo of another model)
    backend_cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    #: for a llama.cpp model: ``NativeVocab`` (keeps the model alive, so backends may call its
    #: tokenizer natively without going through Python)
    native: NativeVocab | None = field(default=None, repr=False, compare=False)
    #: a Hugging Face tokenizer's JSON (``tokenizer.json``), when built from one: llguidance
    #: builds its tokenizer from it natively (see ``llguidance_tokenizer.lltokenizer_for``)
    tokenizer_json: str | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.token_bytes)
        if n == 0:
            raise ConfigurationError(
                "TokenizerInfo: the vocabulary is empty; pass the token bytes."
            )
        if not self.eos_token_ids:
            raise ConfigurationError(
                "TokenizerInfo: no end-of-sequence token id; pass at least one in eos_token_ids."
            )
        for label, ids in (
            ("eos_token_ids", self.eos_token_ids),
            ("special_token_ids", self.special_token_ids),
        ):
            bad = sorted(i for i in ids if not 0 <= i < n)
            if bad:
                raise TokenOutOfRangeError(
                    f"TokenizerInfo: {label} contains {bad[:5]} outside the vocabulary [0, {n})."
                )
        if self.logits_width < n:
            raise ConfigurationError(
                f"TokenizerInfo: logits_width {self.logits_width} is smaller than the vocabulary ({n})."
            )

    # --- constructors ---------------------------------------------------------------------

    @classmethod
    def from_token_bytes(
        cls,
        tokens: Sequence[bytes],
        eos_token_ids: int | Iterable[int],
        special_token_ids: Iterable[int] = (),
        *,
        logits_width: int | None = None,
        bos_token_id: int | None = None,
        name: str = "custom",
        encode: Encoder | None = None,
        native: NativeVocab | None = None,
        tokenizer_json: str | None = None,
    ) -> TokenizerInfo:
        """Build from the bytes of every token (index = token id).

        EOS ids are always treated as special. ``logits_width`` defaults to ``len(tokens)``.
        """
        eos = (
            (eos_token_ids,)
            if isinstance(eos_token_ids, int)
            else tuple(dict.fromkeys(eos_token_ids))
        )
        special = frozenset(special_token_ids) | frozenset(eos)
        if bos_token_id is not None:
            special |= {bos_token_id}
        return cls(
            token_bytes=tuple(bytes(t) for t in tokens),
            eos_token_ids=eos,
            special_token_ids=special,
            logits_width=len(tokens) if logits_width is None else logits_width,
            bos_token_id=bos_token_id,
            name=name,
            encode=encode,
            native=native,
            tokenizer_json=tokenizer_json,
        )

    @classmethod
    def from_llama(cls, llama: Any) -> TokenizerInfo:
        """Build from a ``llama_cpp.Llama`` (cached on the model object; ~0.5 s for 262k tokens).

        The result keeps the model alive (``native``): backends call its tokenizer natively.
        """
        with _LLAMA_LOCK:
            cached = getattr(llama, _LLAMA_ATTR, None)
            if isinstance(cached, TokenizerInfo):
                return cached
            info = _info_from_llama(llama)
            # an attribute, not a weak-keyed table: info -> model -> info is a plain cycle the
            # garbage collector can free, where a table value holding its key never would be
            setattr(llama, _LLAMA_ATTR, info)
            return info

    @classmethod
    def from_hf(
        cls,
        tokenizer: Any,
        *,
        eos_token_ids: int | Iterable[int] | None = None,
        logits_width: int | None = None,
        name: str | None = None,
    ) -> TokenizerInfo:
        """Build from a Hugging Face tokenizer: a ``tokenizers.Tokenizer`` or a transformers
        ``PreTrainedTokenizerBase`` (fast or slow). Needs neither torch nor transformers for a
        ``tokenizers.Tokenizer``.

        ``eos_token_ids`` defaults to the tokenizer's EOS (for a raw ``tokenizers.Tokenizer``: the
        first of ``<|endoftext|>``, ``<|im_end|>``, ``<|eot_id|>``, ``</s>``... it contains);
        ``logits_width`` to the vocabulary size (pass the model's logits width if it pads).
        """
        vocab = read_hf(tokenizer, eos_token_ids=eos_token_ids, name=name)
        encode_text = vocab.encode_text
        greedy: list[GreedyEncoder] = []

        def encode(data: bytes) -> list[int]:
            # the tokenizer reads text: encode the valid UTF-8 prefix with it, a torn tail greedily
            try:
                return encode_text(data.decode("utf-8"))
            except UnicodeDecodeError as exc:
                head = data[: exc.start]
                if not greedy:
                    greedy.append(GreedyEncoder(info))
                return (encode_text(head.decode("utf-8")) if head else []) + greedy[0](
                    data[exc.start :]
                )

        info = cls.from_token_bytes(
            vocab.tokens,
            vocab.eos_token_ids,
            vocab.special_token_ids,
            logits_width=logits_width,
            bos_token_id=vocab.bos_token_id,
            name=vocab.name,
            encode=encode,
            tokenizer_json=vocab.json_text,
        )
        return info

    # --- derived data -----------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        return len(self.token_bytes)

    @cached_property
    def fingerprint(self) -> str:
        """A stable hash of the token bytes, special ids, EOS ids and logits width."""
        h = hashlib.sha256()
        for tok in self.token_bytes:
            h.update(len(tok).to_bytes(4, "little"))
            h.update(tok)
        h.update(
            repr((self.eos_token_ids, sorted(self.special_token_ids), self.logits_width)).encode()
        )
        return h.hexdigest()[:32]

    @cached_property
    def _greedy(self) -> Encoder:
        return GreedyEncoder(self)

    def tokenize(self, data: bytes | str) -> list[int]:
        """Token ids for ``data``: the model's tokenizer if known (and still loaded), else a
        greedy longest match over the vocabulary."""
        raw = data.encode("utf-8") if isinstance(data, str) else data
        if self.encode is not None:
            try:
                return list(self.encode(raw))
            except LookupError:  # the model was freed
                pass
        return list(self._greedy(raw))

    def decode(self, token_ids: Iterable[int]) -> bytes:
        """The bytes of ``token_ids`` (special tokens included as their text)."""
        n = self.vocab_size
        out = []
        for t in token_ids:
            if not 0 <= t < n:
                raise TokenOutOfRangeError(f"token id {t} is outside the vocabulary [0, {n}).")
            out.append(self.token_bytes[t])
        return b"".join(out)

    def check_token(self, token_id: int) -> None:
        """Raise :class:`TokenOutOfRangeError` unless ``0 <= token_id < vocab_size``."""
        if not 0 <= token_id < len(self.token_bytes):
            raise TokenOutOfRangeError(
                f"token id {token_id} is outside the vocabulary [0, {len(self.token_bytes)}) "
                f"of tokenizer {self.name!r}."
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TokenizerInfo) and other.fingerprint == self.fingerprint

    def __hash__(self) -> int:
        return hash(self.fingerprint)


class GreedyEncoder:
    """Longest-match tokenization over the non-special tokens; unknown bytes are skipped."""

    def __init__(self, info: TokenizerInfo) -> None:
        table: dict[bytes, int] = {}
        for i, tok in enumerate(info.token_bytes):
            if tok and i not in info.special_token_ids and tok not in table:
                table[tok] = i
        self._table = table
        self._max_len = max((len(t) for t in table), default=1)

    def __call__(self, data: bytes | str) -> list[int]:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        out: list[int] = []
        i, n, table = 0, len(raw), self._table
        while i < n:
            for length in range(min(self._max_len, n - i), 0, -1):
                tid = table.get(raw[i : i + length])
                if tid is not None:
                    out.append(tid)
                    i += length
                    break
            else:
                i += 1
        return out


# --- llama-cpp-python ----------------------------------------------------------------------------

_LLAMA_LOCK = threading.Lock()
_LLAMA_ATTR = "_instructor_py_tokenizer_info"


def _info_from_llama(llama: Any) -> TokenizerInfo:
    """A new TokenizerInfo of a llama.cpp model (uncached: :meth:`TokenizerInfo.from_llama`)."""
    vocab = read_llama(llama)
    return TokenizerInfo.from_token_bytes(
        vocab.tokens,
        vocab.eos_token_ids,
        vocab.special_token_ids,
        logits_width=vocab.logits_width,
        bos_token_id=vocab.bos_token_id,
        name=vocab.name,
        encode=vocab.encode,
        native=vocab.native,
    )
