"""The tolerant, schema-aligned parser: read what the model meant, refuse what is ambiguous.

:func:`parse_tolerant` finds the candidate values in an answer (:mod:`.candidates`), reads each
with a forgiving JSON reader that records its repairs (:mod:`.syntax`), fits it to the JSON
schema with the coercions that have exactly one reading (:mod:`.coerce`, :mod:`.scalars`), and
returns the best fit as a :class:`ParseResult` (``value`` and ``repairs``), or a
:class:`ParseFailure` saying what was ambiguous or unreadable. :func:`parse_partial` applies the
same rules to a streaming prefix. Strict JSON that fits the schema is returned unchanged.
"""

from __future__ import annotations

from instructor_py.pipeline.tolerant.candidates import parse_partial, parse_tolerant
from instructor_py.pipeline.tolerant.records import ParseFailure, ParseResult, Repair

__all__ = ["ParseFailure", "ParseResult", "Repair", "parse_partial", "parse_tolerant"]
