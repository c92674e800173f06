"""Grammars and token sequences (text that matches them) shared by the CBISON tests."""

from __future__ import annotations

import json

from instructor_py.local import ConstraintSpec

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 30},
        "age": {"type": "integer", "minimum": 0},
        "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "bb", "ccc"]}},
        "address": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "zip": {"type": "string", "pattern": "^[0-9]{5}$"},
            },
            "required": ["city", "zip"],
        },
    },
    "required": ["name", "age", "tags", "address"],
    "additionalProperties": False,
}
PERSON_TEXT = json.dumps(
    {
        "name": "Ada Lovelace",
        "age": 36,
        "tags": ["bb", "a"],
        "address": {"city": "London", "zip": "12345"},
    },
    separators=(",", ":"),
)

#: (spec, the CBISON grammar type and text a C caller would send, matching text)
CASES = [
    (ConstraintSpec.json_schema(PERSON), "json_schema", json.dumps(PERSON), PERSON_TEXT),
    (
        ConstraintSpec.regex(r"\(\d{3}\) \d{3}-\d{4}"),
        "regex",
        r"\(\d{3}\) \d{3}-\d{4}",
        "(555) 123-4567",
    ),
    (
        ConstraintSpec.grammar('start: "I say " word\nword: /[a-z]+/'),
        "lark",
        'start: "I say " word\nword: /[a-z]+/',
        "I say hello",
    ),
]
CASE_IDS = ["json_schema", "regex", "lark"]
