from __future__ import annotations

import numpy as np
import pytest

from instructor_py.common.errors import ConfigurationError, TokenOutOfRangeError
from instructor_py.engine.bitmask import check_bitmask, set_all_allowed, set_token_bits
from instructor_py.local import (
    allocate_bitmask,
    allowed_token_ids,
    apply_bitmask,
    apply_bitmask_batch,
    count_allowed,
    is_token_allowed,
)


def naive_allowed(row: np.ndarray, n: int) -> np.ndarray:
    return np.array([(int(row[t // 32]) >> (t % 32)) & 1 for t in range(n)], dtype=bool)


def test_allocate_shape_and_zero() -> None:
    m = allocate_bitmask(3, 65)
    assert m.shape == (3, 3) and m.dtype == np.int32 and not m.any()
    with pytest.raises(ConfigurationError):
        allocate_bitmask(0, 10)


@pytest.mark.parametrize("dense", [True, False], ids=["dense", "sparse"])
@pytest.mark.parametrize("vocab", [1, 31, 32, 33, 1000, 49152])
def test_apply_matches_bit_by_bit_reference(vocab: int, dense: bool) -> None:
    rng = np.random.default_rng(vocab)
    words = (vocab + 31) // 32
    mask = rng.integers(-(2**31), 2**31, size=(1, words), dtype=np.int64).astype(np.int32)
    if not dense:  # a few non-zero words (the gather/scatter path), one of them the last
        keep = np.zeros(words, dtype=bool)
        keep[[0, words - 1]] = True
        mask[0, ~keep] = 0
    width = vocab + 7  # logits wider than the vocabulary
    logits = rng.standard_normal(width).astype(np.float32)
    before = logits.copy()
    apply_bitmask(logits, mask[0], vocab)
    expected = naive_allowed(mask[0], vocab)
    assert np.array_equal(np.isfinite(logits[:vocab]), expected)
    assert np.array_equal(logits[:vocab][expected], before[:vocab][expected])
    assert np.all(logits[vocab:] == -np.inf)
    assert np.array_equal(allowed_token_ids(mask[0], vocab), np.flatnonzero(expected))
    assert count_allowed(mask[0], vocab) == int(expected.sum())


def test_single_bits_and_helpers() -> None:
    m = allocate_bitmask(1, 100)
    set_token_bits(m[0], [0, 31, 32, 99])
    assert [t for t in range(100) if is_token_allowed(m[0], t)] == [0, 31, 32, 99]
    with pytest.raises(TokenOutOfRangeError):
        is_token_allowed(m[0], 128)
    set_all_allowed(m[0], 70)
    assert count_allowed(m[0], 96) == 70


def test_batch_apply_and_argument_checks() -> None:
    m = allocate_bitmask(2, 40)
    set_token_bits(m[0], [3])
    set_token_bits(m[1], [39])
    logits = np.zeros((2, 40), dtype=np.float32)
    apply_bitmask_batch(logits, m)
    assert np.flatnonzero(np.isfinite(logits[0])).tolist() == [3]
    assert np.flatnonzero(np.isfinite(logits[1])).tolist() == [39]
    with pytest.raises(ConfigurationError, match="1-D"):
        apply_bitmask(logits, m[0])
    with pytest.raises(ConfigurationError, match="int32"):
        check_bitmask(np.zeros((1, 2), dtype=np.int64), 0, 2)
    with pytest.raises(ConfigurationError, match="row 5"):
        check_bitmask(m, 5, 2)
    with pytest.raises(ConfigurationError, match="needs 9"):
        check_bitmask(m, 0, 9)
