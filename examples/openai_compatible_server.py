"""Use any OpenAI-compatible server (Ollama, vLLM, llama.cpp's server, LM Studio...).

Needs a running server; set INSTRUCTOR_PY_BASE_URL (e.g. http://127.0.0.1:11434/v1 for Ollama)
and INSTRUCTOR_PY_MODEL. Exits cleanly when INSTRUCTOR_PY_BASE_URL is not set.

    INSTRUCTOR_PY_BASE_URL=http://127.0.0.1:8000/v1 INSTRUCTOR_PY_MODEL=smollm2 \
        python examples/openai_compatible_server.py
"""

from __future__ import annotations

import os
import sys

from pydantic import BaseModel

from instructor_py import OutputMode, Sequence, StructuredOutput


class City(BaseModel):
    name: str
    country: str


def main() -> int:
    base_url = os.environ.get("INSTRUCTOR_PY_BASE_URL")
    if not base_url:
        print(
            "This example needs an OpenAI-compatible server: set INSTRUCTOR_PY_BASE_URL "
            "(and INSTRUCTOR_PY_MODEL) and run it again."
        )
        return 0
    cities = (
        StructuredOutput()
        .using(
            "llamacpp-server",
            base_url=base_url,
            model=os.environ.get("INSTRUCTOR_PY_MODEL", "local-model"),
        )
        .with_(
            messages="Paris is in France and Rome is in Italy.",
            response_model=Sequence.of(City),
            mode=OutputMode.JSON_SCHEMA,
        )
        .get()
    )
    for city in cities:
        print(city)
    return 0


if __name__ == "__main__":
    sys.exit(main())
