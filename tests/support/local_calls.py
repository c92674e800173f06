"""One call on the embedded model through the public API, as a function call's arguments: the
system message names a function, the user message asks; returns the value and the local
provider's :class:`~instructor_py.providers.local.LocalGeneration` record."""

from __future__ import annotations

from typing import Any

from instructor_py import StructuredOutput
from instructor_py.providers.local import LocalGeneration

LOOKUP = "Function: lookup\nLook something up."


def ask_local(
    text: str, schema: dict[str, Any], system: str = LOOKUP, **options: Any
) -> tuple[Any, LocalGeneration]:
    """``text`` asked under ``schema`` with the local provider's ``options``."""
    messages = [{"role": "system", "content": system}, {"role": "user", "content": text}]
    response = (
        StructuredOutput()
        .with_options(**options)
        .with_(messages=messages, response_model=schema)
        .create()
        .response()
    )
    raw = response.raw_response
    assert isinstance(raw, LocalGeneration)
    return response.value, raw
