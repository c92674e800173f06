"""A real Hugging Face tokenizer rebuilt from a GGUF file's own vocabulary and merges.

The GGUF is read with the ``gguf`` package; the ``tokenizers.Tokenizer`` is a byte-level BPE with
the pre-tokenizer llama.cpp uses for the file's ``tokenizer.ggml.pre`` (SmolLM: single digits,
then GPT-2's split). No torch, no network, no tokenizer.json download.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

#: llama.cpp token types (``tokenizer.ggml.token_type``)
CONTROL, USER_DEFINED = 3, 4


def _strings(field: Any) -> list[str]:
    return [bytes(field.parts[i]).decode("utf-8") for i in field.data]


def _scalar(reader: Any, key: str) -> Any:
    field = reader.fields.get(key)
    return None if field is None else field.parts[field.data[0]][0]


@lru_cache(maxsize=4)
def read_gguf_vocab(path: str) -> dict[str, Any]:
    """The tokenizer metadata of a GGUF file: tokens, types, merges, special ids, pre-tokenizer."""
    import gguf

    reader = gguf.GGUFReader(path)
    f = reader.fields
    model = bytes(f["tokenizer.ggml.model"].parts[f["tokenizer.ggml.model"].data[0]]).decode()
    pre = bytes(f["tokenizer.ggml.pre"].parts[f["tokenizer.ggml.pre"].data[0]]).decode()
    types = [
        int(f["tokenizer.ggml.token_type"].parts[i][0]) for i in f["tokenizer.ggml.token_type"].data
    ]
    return {
        "model": model,
        "pre": pre,
        "tokens": _strings(f["tokenizer.ggml.tokens"]),
        "types": types,
        "merges": _strings(f["tokenizer.ggml.merges"]),
        "bos": _scalar(reader, "tokenizer.ggml.bos_token_id"),
        "eos": _scalar(reader, "tokenizer.ggml.eos_token_id"),
    }


def tokenizer_from_gguf(path: str) -> Any:
    """A ``tokenizers.Tokenizer`` equivalent to llama.cpp's for a GPT-2-style BPE GGUF."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    meta = read_gguf_vocab(path)
    if meta["model"] != "gpt2":
        raise NotImplementedError(f"only byte-level BPE GGUFs are rebuilt, not {meta['model']!r}")
    vocab = {tok: i for i, tok in enumerate(meta["tokens"])}
    merges = [tuple(m.split(" ", 1)) for m in meta["merges"]]
    bpe = models.BPE(vocab=vocab, merges=merges, fuse_unk=False)
    tok = Tokenizer(bpe)
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if meta["pre"] == "smollm":
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Digits(individual_digits=True), byte_level]
        )
    else:
        tok.pre_tokenizer = byte_level
    tok.decoder = decoders.ByteLevel()
    specials = [
        AddedToken(t, special=True, normalized=False)
        for t, ty in zip(meta["tokens"], meta["types"], strict=True)
        if ty in (CONTROL, USER_DEFINED)
    ]
    tok.add_special_tokens(specials)
    return tok


def fast_tokenizer_from_gguf(path: str) -> Any:
    """The same tokenizer wrapped in transformers' ``PreTrainedTokenizerFast`` (no torch)."""
    from transformers import PreTrainedTokenizerFast

    meta = read_gguf_vocab(path)
    tokens = meta["tokens"]
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer_from_gguf(path),
        bos_token=tokens[meta["bos"]] if meta["bos"] is not None else None,
        eos_token=tokens[meta["eos"]] if meta["eos"] is not None else None,
    )
