"""Property: every random walk through an exact handle's mask is valid JSON that satisfies the schema.

For each schema below, 25 seeded walks sample uniformly among the tokens the mask allows (SmolLM2's
49k vocabulary), preferring closing tokens once a walk is long (see ``random_walk.py``), until EOS.
Each finished output must decode as UTF-8, parse with ``json.loads`` and validate with
``jsonschema`` (formats checked). The claim is made only for handles marked ``exact``; the schemas
in ``MUST_BE_EXACT`` must get exact handles from llguidance (so the test cannot pass by relaxing
everything). Each backend runs alone (an orchestrator with only that backend); outlines-core is
checked on the schemas whose keywords it enforces, and must compile those exactly. Documented gaps
are in ``known_gaps.py``.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import numpy as np
import pytest

from tests.support.engines import backend_cases, compile_exact_or_skip, orchestrator_for
from tests.support.formats import FORMAT_CHECKER
from tests.support.known_gaps import xfail_if_known
from tests.support.random_walk import RandomWalker, WalkSample

pytestmark = pytest.mark.timeout(180)

WALKS_PER_SCHEMA = 25
MIN_FINISHED = 0.8  # share of walks that must reach EOS within the hard cap

SCHEMAS: dict[str, dict[str, Any]] = {
    "object_required_optional": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 12},
            "age": {"type": "integer", "minimum": 0, "maximum": 130},
            "nickname": {"type": "string"},
            "active": {"type": "boolean"},
        },
        "required": ["name", "age"],
        "additionalProperties": False,
    },
    "enums_and_const": {
        "type": "object",
        "properties": {
            "color": {"enum": ["red", "green", "blue"]},
            "size": {"type": "string", "enum": ["S", "M", "L", "XL"]},
            "mixed": {"enum": [1, "one", None, True]},
            "kind": {"const": "shirt"},
        },
        "required": ["color", "size", "mixed", "kind"],
        "additionalProperties": False,
    },
    "outlines_friendly": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 8},
            "tags": {
                "type": "array",
                "items": {"enum": ["a", "b", "c"]},
                "minItems": 1,
                "maxItems": 3,
            },
            "flag": {"type": "boolean"},
            "id": {"type": "string", "format": "uuid"},
        },
        "required": ["name", "tags", "flag"],
        "additionalProperties": False,
    },
    "outlines_date": {
        "type": "object",
        "properties": {"day": {"type": "string", "format": "date"}},
        "required": ["day"],
        "additionalProperties": False,
    },
    "outlines_times": {
        "type": "object",
        "properties": {
            "when": {"type": "string", "format": "date-time"},
            "at": {"type": "string", "format": "time"},
            "leap": {"type": "string", "format": "date"},
        },
        "required": ["when", "at", "leap"],
        "additionalProperties": False,
    },
    "array_bounds": {
        "type": "array",
        "items": {"type": "integer", "minimum": -5, "maximum": 5},
        "minItems": 2,
        "maxItems": 4,
    },
    "nested": {
        "type": "object",
        "properties": {
            "order": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer", "minimum": 1},
                    "lines": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 3,
                        "items": {
                            "type": "object",
                            "properties": {
                                "sku": {"type": "string", "pattern": "^[A-Z]{2}[0-9]{3}$"},
                                "qty": {"type": "integer", "minimum": 1, "maximum": 9},
                            },
                            "required": ["sku", "qty"],
                            "additionalProperties": False,
                        },
                    },
                },
                "required": ["id", "lines"],
                "additionalProperties": False,
            }
        },
        "required": ["order"],
        "additionalProperties": False,
    },
    "number_bounds": {
        "type": "object",
        "properties": {
            "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1.5},
            "count": {"type": "integer", "minimum": 10, "maximum": 999},
            "temp": {"type": "number", "minimum": -40.5, "exclusiveMaximum": 60},
        },
        "required": ["ratio", "count", "temp"],
        "additionalProperties": False,
    },
    "string_pattern_and_lengths": {
        "type": "object",
        "properties": {
            "code": {"type": "string", "pattern": "^[A-Z]{3}-\\d{2,4}$"},
            "short": {"type": "string", "maxLength": 3},
            "word": {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[a-z]+$"},
        },
        "required": ["code", "short", "word"],
        "additionalProperties": False,
    },
    "formats": {
        "type": "object",
        "properties": {
            "day": {"type": "string", "format": "date"},
            "when": {"type": "string", "format": "date-time"},
            "at": {"type": "string", "format": "time"},
            "id": {"type": "string", "format": "uuid"},
            "mail": {"type": "string", "format": "email"},
            "ip": {"type": "string", "format": "ipv4"},
        },
        "required": ["day", "when", "at", "id", "mail", "ip"],
        "additionalProperties": False,
    },
    "any_of": {
        "anyOf": [
            {"type": "string", "maxLength": 5},
            {"type": "integer", "minimum": 100},
            {
                "type": "object",
                "properties": {"k": {"type": "boolean"}},
                "required": ["k"],
                "additionalProperties": False,
            },
        ]
    },
    "nullable_and_type_lists": {
        "type": "object",
        "properties": {
            "maybe": {"type": ["string", "null"], "maxLength": 4},
            "either": {"anyOf": [{"type": "number", "maximum": 0}, {"type": "null"}]},
        },
        "required": ["maybe", "either"],
        "additionalProperties": False,
    },
    "additional_properties_typed": {
        "type": "object",
        "properties": {"fixed": {"type": "integer"}},
        "required": ["fixed"],
        "additionalProperties": {"type": "integer", "minimum": 0},
    },
    "recursive_ref": {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "v": {"type": "integer"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 2},
                },
                "required": ["v"],
                "additionalProperties": False,
            }
        },
        "$ref": "#/$defs/node",
    },
    "pydantic_like": {
        "$defs": {
            "Address": {
                "properties": {
                    "street": {"title": "Street", "type": "string"},
                    "zip": {"title": "Zip", "type": "string", "pattern": "^[0-9]{5}$"},
                },
                "required": ["street", "zip"],
                "title": "Address",
                "type": "object",
            }
        },
        "properties": {
            "name": {"title": "Name", "type": "string"},
            "role": {"enum": ["admin", "user"], "title": "Role", "type": "string"},
            "address": {"anyOf": [{"$ref": "#/$defs/Address"}, {"type": "null"}], "default": None},
            "tags": {"items": {"type": "string"}, "title": "Tags", "type": "array", "maxItems": 3},
        },
        "required": ["name", "role"],
        "title": "User",
        "type": "object",
    },
}

MUST_BE_EXACT = set(SCHEMAS)  # for llguidance



def _check(schema: dict[str, Any], sample: WalkSample) -> str | None:
    """Why ``sample`` is not a valid instance of ``schema`` (None if it is)."""
    try:
        value = json.loads(sample.text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"not JSON: {exc}"
    validator_cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    errors = list(validator_cls(schema, format_checker=FORMAT_CHECKER).iter_errors(value))
    if errors:
        return "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors[:3])
    return None


@pytest.fixture(scope="module")
def walker(smol: Any) -> RandomWalker:
    return RandomWalker(
        smol.token_bytes, smol.eos_token_ids, smol.logits_width
    )


@pytest.mark.parametrize(("backend", "name"), backend_cases(sorted(SCHEMAS), SCHEMAS.__getitem__))
def test_random_walks_through_the_mask_satisfy_the_schema(
    backend: str, name: str, backend_orchestrators: dict[str, Any], walker: RandomWalker
) -> None:
    schema = SCHEMAS[name]
    orchestrator = orchestrator_for(backend_orchestrators, backend)
    if backend == "llguidance" and name not in MUST_BE_EXACT:
        handle = orchestrator.compile_json_schema(schema)
        if not handle.exact:
            pytest.skip(f"{name}: llguidance compiles it relaxed only ({handle.relaxed_reason})")
    elif backend == "llguidance":  # must compile exactly: an error here fails the test
        handle = orchestrator.compile_json_schema(schema, allow_relaxed=False)
    else:  # outlines-core may still decline (e.g. a regex too large for its index): say why
        handle = compile_exact_or_skip(orchestrator, schema, (backend, name))
    assert handle.exact and handle.backend == backend
    rng = np.random.default_rng(sorted(SCHEMAS).index(name))
    failures: list[str] = []
    finished = 0
    for i in range(WALKS_PER_SCHEMA):
        sample = walker.walk(handle.fresh().matcher, rng)
        if sample.problem is not None:
            failures.append(f"walk {i}: {sample.problem}; output so far {sample.text_bytes[:200]!r}")
            continue
        if not sample.finished:
            continue
        finished += 1
        why = _check(schema, sample)
        if why is not None:
            failures.append(f"walk {i}: {sample.text_bytes[:300]!r}: {why}")
    xfail_if_known((backend, name), failures)
    assert failures == []
    assert finished >= MIN_FINISHED * WALKS_PER_SCHEMA, f"only {finished} walks reached EOS"
