"""Stream partial objects from Anthropic (needs ANTHROPIC_API_KEY; exits cleanly without it).

    ANTHROPIC_API_KEY=... python examples/anthropic_streaming.py
"""

from __future__ import annotations

import os
import sys

from pydantic import BaseModel

from instructor_py import StructuredOutput


class Task(BaseModel):
    title: str
    owner: str
    due: str


class Plan(BaseModel):
    goal: str
    tasks: list[Task]


def main() -> int:
    if not os.environ.get("ANTHROPIC_API_KEY"):
        print("This example needs an Anthropic API key: set ANTHROPIC_API_KEY and run it again.")
        return 0
    stream = (
        StructuredOutput()
        .using("anthropic")
        .with_(
            messages="Plan a team offsite: venue by Ana (May 2), agenda by Bo (May 9), "
            "travel by Cy (May 12).",
            response_model=Plan,
        )
        .stream()
    )
    for partial in stream.partials():
        print(partial)
    print("final:", stream.final_value())
    return 0


if __name__ == "__main__":
    sys.exit(main())
