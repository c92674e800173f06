"""The preflight rules per target, as pure functions ``(schema, variant) -> PreflightReport``.

Sources (each rule quotes its vendor's documented subset):

- OpenAI "Structured Outputs" -> "Supported schemas": types string/number/boolean/integer/object/
  array/enum/anyOf; string ``pattern`` and ``format`` (date-time, time, date, duration, email,
  hostname, ipv4, ipv6, uuid); number ``multipleOf``/``maximum``/``exclusiveMaximum``/``minimum``/
  ``exclusiveMinimum``; array ``minItems``/``maxItems``; the root an object, not ``anyOf``; every
  field required (optional = a union with null); ``additionalProperties: false`` on every object;
  ``$defs``/``$ref`` (recursion included); at most 5000 properties, 10 levels of nesting and 1000
  enum values.
- Gemini ``responseSchema``: an OpenAPI 3.0 Schema subset (type, format, title, description,
  nullable, enum of strings, items, min/maxItems, properties, required, min/maxProperties,
  min/maxLength, pattern, anyOf, propertyOrdering, default, minimum, maximum); no ``$ref``.
  ``responseJsonSchema`` takes JSON Schema ($defs/$ref, anyOf/oneOf, prefixItems,
  additionalProperties, enum, const...).
- Anthropic / Bedrock tools: ``input_schema`` / ``inputSchema.json`` is JSON Schema whose root is
  ``"type": "object"``.
- llama.cpp ``json-schema-to-grammar``: local ``$ref``, anyOf/oneOf/allOf, enum/const, min/max
  items and length, integer bounds, ``pattern`` only as ``^...$`` without lookaround or
  backreferences; other keywords are ignored (not enforced).
"""

from __future__ import annotations

from instructor_py.schema.preflight_rules.gemini import (
    gemini_response_json_schema,
    gemini_response_schema,
)
from instructor_py.schema.preflight_rules.llama_cpp import llama_cpp_server
from instructor_py.schema.preflight_rules.openai import openai_strict
from instructor_py.schema.preflight_rules.tools import anthropic_tools, bedrock_tools

__all__ = [
    "anthropic_tools",
    "bedrock_tools",
    "gemini_response_json_schema",
    "gemini_response_schema",
    "llama_cpp_server",
    "openai_strict",
]
