"""Preflight rules: Anthropic / Bedrock tools."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from instructor_py.schema.preflight_report import PreflightReport
from instructor_py.schema.preflight_rules.walk import (
    Pass,
    remote_refs,
    root_object,
)

# --- Anthropic / Bedrock tools -----------------------------------------------------------------


def anthropic_tools(schema: Mapping[str, Any], variant: str = "tools") -> PreflightReport:
    """Anthropic Messages ``tools[].input_schema``: JSON Schema with an object root."""
    p = Pass("anthropic", variant, schema)
    remote_refs(p)
    root_object(p, "Anthropic's tool input_schema")
    return p.report(schema)


def bedrock_tools(schema: Mapping[str, Any], variant: str = "tools") -> PreflightReport:
    """Bedrock Converse ``toolSpec.inputSchema.json``: JSON Schema with an object root."""
    p = Pass("bedrock", variant, schema)
    remote_refs(p)
    root_object(p, "Bedrock's toolSpec inputSchema")
    return p.report(schema)
