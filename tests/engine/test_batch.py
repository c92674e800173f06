from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from instructor_py.common.errors import ConfigurationError
from instructor_py.local import (
    BatchProcessor,
    ConstraintSpec,
    StructuredOutputOrchestrator,
    TokenizerInfo,
    allowed_token_ids,
    count_allowed,
)

pytest.importorskip("llguidance", reason="llguidance is not installed")

SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}


def single_mask(
    orch: StructuredOutputOrchestrator, spec: ConstraintSpec, prefix: list[int]
) -> np.ndarray:
    m = orch.compile(spec).matcher
    assert m.accept_tokens(prefix)
    mask = orch.allocate_bitmask(1)
    m.fill_next_token_bitmask(mask)
    row: np.ndarray = mask[0]
    return row


def test_batch_fill_matches_single_fills(
    orch: StructuredOutputOrchestrator, tok: TokenizerInfo
) -> None:
    specs = [
        ConstraintSpec.json_schema(SCHEMA),
        ConstraintSpec.regex("[0-9]+x"),
        ConstraintSpec.choice(["yes", "no"]),
    ]
    batch = BatchProcessor(orch, batch_size=4, vocab_size=tok.logits_width)
    for i, spec in enumerate(specs):
        batch.set_constraint(i, spec)
    mask = batch.fill_bitmask()
    assert mask.shape == (4, (tok.logits_width + 31) // 32)
    for i, spec in enumerate(specs):
        assert np.array_equal(mask[i], single_mask(orch, spec, []))
    assert count_allowed(mask[3], mask.shape[1] * 32) == tok.vocab_size  # unconstrained row
    steps = [tok.tokenize('{"ok":true}'), tok.tokenize("12x"), tok.tokenize("no")]
    for k in range(max(map(len, steps))):
        row_tokens: list[int | None] = [s[k] if k < len(s) else None for s in steps] + [65]
        assert all(batch.accept_tokens(row_tokens))
        mask = batch.fill_bitmask()
        for i, spec in enumerate(specs):
            assert (
                np.array_equal(mask[i], single_mask(orch, spec, steps[i][: k + 1]))
                or i in batch.get_terminated_indices()
            )
    assert batch.get_terminated_indices() == [0, 1, 2]
    # a terminated row only allows EOS, so a sampler always has something to pick
    assert set(allowed_token_ids(mask[0], tok.vocab_size)) == set(tok.eos_token_ids)
    assert batch.accept_tokens([tok.eos_token_ids[0], None, 65, None]) == [True, True, False, True]
    batch.reset()
    assert batch.get_terminated_indices() == []
    assert batch.handle(1) is not None and batch.handle(1).tokens_accepted == 0  # type: ignore[union-attr]


@pytest.mark.skipif(
    importlib.util.find_spec("outlines_core") is None, reason="outlines-core is not installed"
)
def test_batch_mixes_backends(tok: TokenizerInfo) -> None:
    orch = StructuredOutputOrchestrator(tok)
    batch = BatchProcessor(orch, 2)
    batch.set_constraint(0, ConstraintSpec.regex("xy"))
    orch.register_backend(orch.get_backend("outlines"), set_as_default=True)
    handle = batch.set_constraint(1, ConstraintSpec.regex("yx"))
    assert handle is not None and handle.backend == "outlines"
    mask = batch.fill_bitmask()
    assert allowed_token_ids(mask[0], tok.vocab_size).tolist() == [ord("x")]
    assert allowed_token_ids(mask[1], tok.vocab_size).tolist() == [ord("y")]
    assert orch.get_stats().per_backend["outlines"].mask.count == 1


def test_batch_argument_errors(orch: StructuredOutputOrchestrator, tok: TokenizerInfo) -> None:
    with pytest.raises(ConfigurationError, match="smaller than the tokenizer"):
        BatchProcessor(orch, 2, vocab_size=10)
    batch = BatchProcessor(orch, 2)
    with pytest.raises(ConfigurationError, match="out of range"):
        batch.set_constraint(2, ConstraintSpec.regex("a"))
    with pytest.raises(ConfigurationError, match="expected 2 token ids"):
        batch.accept_tokens([1])


def test_batch_with_logits_wider_than_the_vocabulary(tok: TokenizerInfo) -> None:
    wide = TokenizerInfo.from_token_bytes(
        tok.token_bytes, tok.eos_token_ids, tok.special_token_ids, logits_width=tok.vocab_size + 100
    )
    orch = StructuredOutputOrchestrator(wide)
    batch = BatchProcessor(orch, 2)
    batch.set_constraint(0, ConstraintSpec.regex("[a-c]+"))
    batch.set_constraint(1, ConstraintSpec.choice(["yes"]))
    batch.bitmask[:] = -1  # garbage from an earlier step
    mask = batch.fill_bitmask()
    assert mask.shape[1] * 32 >= wide.logits_width > (tok.vocab_size + 31) // 32 * 32
    abc = [
        i
        for i, t in enumerate(tok.token_bytes)
        if t and i not in tok.special_token_ids and set(t) <= set(b"abc")
    ]
    assert allowed_token_ids(mask[0], mask.shape[1] * 32).tolist() == abc
    assert allowed_token_ids(mask[1], mask.shape[1] * 32).tolist() == [ord("y")]
