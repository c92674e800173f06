"""The drivers' side of the schema preflight: the request with its wire schema checked (and
rewritten where a rewrite keeps the meaning) for the driver's target, before any request.

The rules are the pure functions of :mod:`instructor_py.schema.preflight_rules`; this module only
puts the wire schema where the driver reads it (``request.tool.parameters`` in TOOLS mode,
``request.response_schema`` otherwise). The pipeline validates the answer against the response
model's own schema, never this one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from instructor_py.common.modes import OutputMode
from instructor_py.providers.base import InferenceRequest
from instructor_py.schema.preflight import PreflightReport, preflight

__all__ = ["preflight_request", "wire_schema_of", "with_wire_schema"]


def wire_schema_of(request: InferenceRequest) -> Mapping[str, Any]:
    """The schema the driver puts on the wire for this request's mode."""
    if request.mode is OutputMode.TOOLS and request.tool is not None:
        return request.tool.parameters
    return request.response_schema


def with_wire_schema(request: InferenceRequest, schema: Mapping[str, Any]) -> InferenceRequest:
    if request.mode is OutputMode.TOOLS and request.tool is not None:
        return replace(request, tool=replace(request.tool, parameters=schema))
    return replace(request, response_schema=schema)


def preflight_request(
    request: InferenceRequest, target: str, *, refuse: bool = True
) -> tuple[InferenceRequest, PreflightReport]:
    """``(request with the wire schema, report)``. With ``refuse`` (the default) a schema the
    target refuses raises :class:`~instructor_py.common.errors.SchemaPreflightError` before any
    request; without it the caller decides (OpenAI turns strict off)."""
    report = preflight(wire_schema_of(request), target)
    if refuse:
        report.raise_if_refused()
    if report.outcome == "rewritten":
        return with_wire_schema(request, report.schema), report
    return request, report
