"""Unit tests of the scoring and random-walk logic, against an in-process toy matcher."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from tests.support.key_order import reorder_like_schema
from tests.support.maskbench import (
    CompiledSchema,
    EngineUnderTest,
    Instance,
    MaskbenchCase,
    allocate_bitmask,
    allowed_token_ids,
    format_table,
    sample_cases,
    score_case,
    serialize_instance,
    subset_of,
    summarize,
    walk,
)
from tests.support.random_walk import RandomWalker

# A toy vocabulary: single characters plus a few merges; id 0 is EOS.
VOCAB: list[bytes] = [b"", *(bytes([c]) for c in b'{}[]":,abc0123456789'), b'{"', b'":', b"ab"]
EOS = 0


class ToyMatcher:
    """Accepts exactly the strings in ``language`` (a finite set), token by token."""

    def __init__(
        self, language: set[bytes], refuse: int | None = None, hide: int | None = None
    ) -> None:
        self.language = language
        self.text = b""
        self.refuse = refuse  # a token id it refuses despite allowing it (a planted bug)
        self.hide = hide  # a token id its mask leaves out although it would accept it

    def fill_next_token_bitmask(self, bitmask: Any, index: int = 0) -> None:
        row = np.zeros(bitmask.shape[1] * 32, dtype=np.uint8)
        for tid, tok in enumerate(VOCAB):
            if tid == EOS:
                row[tid] = self.text in self.language
            elif tid != self.hide and any(w.startswith(self.text + tok) for w in self.language):
                row[tid] = 1
        bitmask[index] = np.packbits(row, bitorder="little").view(np.int32)

    def accept_token(self, token_id: int) -> bool:
        nxt = self.text + VOCAB[token_id]
        if token_id == self.refuse or not any(w.startswith(nxt) for w in self.language):
            return False
        self.text = nxt
        return True

    def validate_tokens(self, token_ids: list[int]) -> int:
        text, n = self.text, 0
        for t in token_ids:
            text += VOCAB[t]
            if not any(w.startswith(text) for w in self.language):
                break
            n += 1
        return n

    def is_accepting(self) -> bool:
        return self.text in self.language


def toy_tokenize(text: str) -> list[int]:
    return [VOCAB.index(bytes([c])) for c in text.encode()]


def toy_engine(language: set[bytes], *, exact: bool = True, refuse: int | None = None) -> EngineUnderTest:
    def compile_(schema: Any) -> CompiledSchema:
        if schema == "boom":
            raise ValueError("unsupported keyword 'boom'\nsecond line")
        return CompiledSchema(lambda: ToyMatcher(language, refuse), exact, "toy")

    return EngineUnderTest("toy", compile_, toy_tokenize, len(VOCAB), (EOS,))


def test_subset_names() -> None:
    assert subset_of("BFCL_java_29.json") == "BFCL_java"
    assert subset_of("BFCL_parallel_multiple_3.json") == "BFCL_parallel_multiple"
    assert subset_of("Github_easy---o14461.json") == "Github_easy"
    assert subset_of("Kubernetes---kb_1002_Normalized.json") == "Kubernetes"
    assert subset_of("JME_12.json") == "JME"


def test_serialization_is_compact_and_keeps_unicode() -> None:
    assert serialize_instance({"a": [1, "é"]}) == '{"a":[1,"é"]}'


def test_bitmask_bits_map_to_token_ids() -> None:
    bitmask = allocate_bitmask(70)
    assert bitmask.shape == (1, 3)
    bitmask[0, 0] = np.int32(-(2**31))  # bit 31 of word 0
    bitmask[0, 2] = 1 << 5  # token 69
    assert allowed_token_ids(bitmask).tolist() == [31, 69]


def test_walk_accepts_a_member_and_rejects_non_members() -> None:
    language = {b'{"a":1}', b'{"a":12}'}
    bitmask = allocate_bitmask(len(VOCAB))
    ok = walk(ToyMatcher(language), toy_tokenize('{"a":12}'), bitmask, [EOS])
    assert ok.accepted and ok.inconsistency is None
    bad = walk(ToyMatcher(language), toy_tokenize('{"a":2}'), bitmask, [EOS])
    assert not bad.accepted and bad.rejected_at == 5 and bad.reason == "masked out"
    prefix = walk(ToyMatcher(language), toy_tokenize('{"a":'), bitmask, [EOS])
    assert not prefix.accepted and prefix.reason == "not accepting at the end"


def test_walk_flags_a_mask_that_disagrees_with_accept() -> None:
    refused = VOCAB.index(b"1")
    result = walk(ToyMatcher({b"1"}, refuse=refused), toy_tokenize("1"), allocate_bitmask(30), [EOS])
    assert not result.accepted and result.inconsistency is not None


def test_walk_notes_a_mask_stricter_than_the_parser_without_calling_it_an_error() -> None:
    hidden = VOCAB.index(b"a")
    result = walk(ToyMatcher({b'"a"'}, hide=hidden), toy_tokenize('"a"'), allocate_bitmask(30), [EOS])
    assert not result.accepted and result.rejected_at == 1
    assert result.mask_stricter and result.inconsistency is None


def test_score_counts_false_accepts_only_for_exact_handles() -> None:
    case = MaskbenchCase("T_1.json", "T", {}, (
        Instance("ok", True, {"a": 1}),
        Instance("wrongly in the language", False, {"a": 2}),
        Instance("rejected", False, {"a": 3}),
        Instance("valid but rejected", True, {"a": 4}),
    ))
    language = {b'{"a":1}', b'{"a":2}'}
    exact = score_case(toy_engine(language), case, time.perf_counter)
    assert [len(exact.false_accepts), len(exact.false_rejects), len(exact.relaxed_accepts)] == [1, 1, 0]
    assert not exact.passed
    relaxed = score_case(toy_engine(language, exact=False), case, time.perf_counter)
    assert [len(relaxed.false_accepts), len(relaxed.relaxed_accepts)] == [0, 1]
    broken = score_case(toy_engine(language), MaskbenchCase("T_2.json", "T", "boom", ()), time.perf_counter)  # type: ignore[arg-type]
    assert not broken.compiled and not broken.passed
    assert broken.compile_error == "ValueError: unsupported keyword 'boom'"
    rows = summarize([exact, relaxed, broken])
    assert [r.subset for r in rows] == ["T", "TOTAL"]
    total = rows[-1]
    assert (total.schemas, total.passes, total.compile_errors, total.false_accepts) == (3, 0, 1, 1)
    assert (total.relaxed, total.relaxed_accepts, total.false_rejects) == (1, 1, 2)
    table = format_table(rows)
    assert "FALSE_ACC" in table and "| **TOTAL** |" in table


def test_sample_takes_every_nth_per_subset() -> None:
    cases = [MaskbenchCase(f"{s}_{i}.json", s, {}, ()) for s in "AB" for i in range(5)]
    assert [c.name for c in sample_cases(cases, 2)] == [
        "A_0.json", "A_2.json", "A_4.json", "B_0.json", "B_2.json", "B_4.json"]


@pytest.mark.parametrize("seed", range(5))
def test_random_walks_stay_in_the_language(seed: int) -> None:
    language = {b'{"a":1}', b'{"a":12}', b'["b","c"]', b'"abc"'}
    walker = RandomWalker(VOCAB, [EOS], len(VOCAB), soft_cap=3, hard_cap=50)
    rng = np.random.default_rng(seed)
    for _ in range(20):
        sample = walker.walk(ToyMatcher(language), rng)
        assert sample.finished and sample.problem is None
        assert sample.text_bytes in language


def test_keys_are_reordered_like_the_schema_through_refs_and_combinators() -> None:
    schema = {
        "$defs": {"pt": {"properties": {"x": {}, "y": {}}}},
        "properties": {
            "b": {"type": "array", "items": {"$ref": "#/$defs/pt"}},
            "a": {"allOf": [{"properties": {"q": {}}}, {"properties": {"p": {}}}]},
        },
    }
    data = {"extra": 1, "a": {"p": 1, "q": 2}, "b": [{"y": 1, "x": 2}]}
    out = reorder_like_schema(data, schema)
    assert serialize_instance(out) == '{"b":[{"x":2,"y":1}],"a":{"q":2,"p":1},"extra":1}'
    assert out == data  # same content, only the order changed


def test_a_valid_instance_in_another_key_order_is_retried_in_schema_order() -> None:
    schema: dict[str, Any] = {"properties": {"a": {}, "b": {}}}
    case = MaskbenchCase("T_1.json", "T", schema, (Instance("b first", True, {"b": 1, "a": 2}),))
    score = score_case(toy_engine({b'{"a":2,"b":1}'}), case, time.perf_counter)
    assert score.passed and len(score.reordered) == 1 and not score.false_rejects
    wrong = score_case(toy_engine({b'{"a":3,"b":1}'}), case, time.perf_counter)
    assert not wrong.passed and len(wrong.false_rejects) == 1 and not wrong.reordered
