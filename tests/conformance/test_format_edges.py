"""String formats on exact handles agree with the format oracle on edge values.

Random walks rarely hit edge values (a leap day, an hour of 24), so these are checked directly:
each value is serialized, tokenized with SmolLM2's tokenizer and walked through the mask as in
MaskBench; the engine must accept it exactly when ``formats.FORMAT_CHECKER`` says it conforms.
Each backend is checked alone: llguidance on every format, outlines-core on the formats it claims
to enforce. Documented gaps are in ``known_gaps.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.engines import backend_cases, orchestrator_for
from tests.support.formats import FORMAT_CHECKER
from tests.support.known_gaps import xfail_if_known
from tests.support.maskbench import allocate_bitmask, walk


def _schema(fmt: str) -> dict[str, Any]:
    return {"type": "string", "format": fmt}


EDGES: list[tuple[str, str]] = [
    ("date", "2020-02-29"),
    ("date", "2021-02-28"),
    ("date", "2021-02-30"),
    ("date", "2021-04-31"),
    ("date", "2021-13-01"),
    ("date", "2021-1-01"),
    ("date", "2021-02-29"),
    ("date", "२०२१-01-01"),
    ("date", "0000-01-01"),
    ("date", "0004-02-29"),
    ("date", "2000-02-29"),
    ("date", "2100-02-29"),
    ("date", "2024-02-29"),
    ("date-time", "2100-02-29T00:00:00Z"),
    ("date-time", "2021-06-30T23:59:59.123+05:30"),
    ("date-time", "2021-06-30T24:00:00Z"),
    ("date-time", "2021-06-30T10:00:00"),
    ("date-time", "2021-06-31T10:00:00Z"),
    ("date-time", "2024-02-29t10:00:00z"),
    ("date-time", "2021-02-29T10:00:00+01:00"),
    ("date-time", "2000-02-29T10:00:00.5-08:00"),
    ("time", "00:00:00Z"),
    ("time", "23:59:60Z"),
    ("time", "24:00:00Z"),
    ("time", "12:60:00Z"),
    ("time", "12:00:00+24:00"),
    ("time", "10:00:00"),
    ("uuid", "123e4567-e89b-12d3-a456-426614174000"),
    ("uuid", "123E4567-E89B-12D3-A456-426614174000"),
    ("uuid", "123e4567e89b12d3a456426614174000"),
    ("uuid", "123e4567-e89b-12d3-a456-42661417400g"),
    ("ipv4", "192.168.0.1"),
    ("ipv4", "255.255.255.255"),
    ("ipv4", "256.0.0.1"),
    ("ipv4", "1.2.3"),
    ("ipv4", "01.2.3.4"),
    ("email", "a.b+c@example.org"),
    ("email", "no-at-sign"),
]


CASES = [
    (backend, fmt, value)
    for backend, fmt in backend_cases(sorted({f for f, _ in EDGES}), _schema)
    for f, value in EDGES
    if f == fmt
]


@pytest.mark.parametrize(("backend", "fmt", "value"), CASES)
def test_format_edges_match_the_oracle(
    backend: str,
    fmt: str,
    value: str,
    backend_orchestrators: dict[str, Any],
    smol: Any,
    smollm2_tokenize: Callable[[str], list[int]],
) -> None:
    orchestrator = orchestrator_for(backend_orchestrators, backend)
    handle = orchestrator.compile_json_schema(_schema(fmt), allow_relaxed=False)
    assert handle.exact and handle.backend == backend
    expected = FORMAT_CHECKER.conforms(value, fmt)
    result = walk(
        handle.matcher,
        smollm2_tokenize(json.dumps(value, ensure_ascii=False)),
        allocate_bitmask(smol.logits_width),
        smol.eos_token_ids,
    )
    assert result.inconsistency is None
    failures = []
    if result.accepted != expected:
        failures.append(
            f"{fmt} {value!r}: oracle says {'valid' if expected else 'invalid'}, "
            f"{backend} {'accepted' if result.accepted else 'rejected'} ({result.reason})"
        )
    xfail_if_known((backend, fmt, value), failures)
    assert failures == []
