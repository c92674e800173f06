"""The engine's enums (names from the orchestrator seed): constraint kinds and backend types.

Both are string enums, so ``spec.kind == "json_schema"`` and ``handle.backend == "llguidance"``
keep working next to ``ConstraintType.JSON_SCHEMA`` / ``StructuredOutputBackendType.LLGUIDANCE``.
"""

from __future__ import annotations

from enum import StrEnum


class ConstraintType(StrEnum):
    """What a :class:`~instructor_py.local.ConstraintSpec` constrains the output to.

    The first four are *simple* (one JSON value, one regex, one grammar, one of some strings);
    the others are *composite*: ``literal`` and ``text`` are the pieces, ``sequence`` and
    ``any_of`` combine specs, ``template`` is a Guidance-style template.
    """

    JSON_SCHEMA = "json_schema"
    REGEX = "regex"
    GRAMMAR = "grammar"
    CHOICE = "choice"
    LITERAL = "literal"
    TEXT = "text"
    SEQUENCE = "sequence"
    ANY_OF = "any_of"
    TEMPLATE = "template"


#: Kinds that only compile through llguidance's Lark dialect (with named captures).
COMPOSITE_TYPES = frozenset(
    {
        ConstraintType.LITERAL,
        ConstraintType.TEXT,
        ConstraintType.SEQUENCE,
        ConstraintType.ANY_OF,
        ConstraintType.TEMPLATE,
    }
)


class StructuredOutputBackendType(StrEnum):
    """The backends the engine ships (the value is the backend's ``name``)."""

    LLGUIDANCE = "llguidance"
    OUTLINES = "outlines"
    GUIDANCE = "guidance"
