"""Extract a typed object with OpenAI (needs OPENAI_API_KEY; exits cleanly without it).

    OPENAI_API_KEY=sk-... python examples/openai_extraction.py
"""

from __future__ import annotations

import os
import sys

from pydantic import BaseModel, Field

from instructor_py import OutputMode, StructuredOutput


class Address(BaseModel):
    city: str
    country: str


class Person(BaseModel):
    name: str
    age: int = Field(ge=0, le=150)
    address: Address


def main() -> int:
    if not os.environ.get("OPENAI_API_KEY"):
        print("This example needs an OpenAI API key: set OPENAI_API_KEY and run it again.")
        return 0
    person = (
        StructuredOutput()
        .using("openai", model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))
        .with_(
            messages="Maria Lopez, 34, lives in Valencia, Spain.",
            response_model=Person,
            mode=OutputMode.TOOLS,
            max_retries=2,
        )
        .get()
    )
    print(person.model_dump_json(indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
