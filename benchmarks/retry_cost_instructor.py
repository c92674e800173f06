"""Python ``instructor`` 1.17's side of ``benchmarks/retry_cost.py``, run in the environment that has
it (``.venv-bench``): the same models and the same scripted answers, through the official openai
client pointed at the parent's loopback server. Reads one JSON job on stdin
(``{"base_url", "mode", "sizes", "objects"}``) and prints how many objects came back valid."""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import Field, create_model


def model_of(size: int) -> Any:
    fields: dict[str, Any] = {
        f"f{i}": (str, Field(description=f"Field number {i}.")) for i in range(size - 1)
    }
    fields["age"] = (int, Field(ge=18, description="The person's age."))
    return create_model(f"Record{size}", **fields)


def main() -> None:
    import instructor  # only in .venv-bench
    import openai

    job = json.loads(sys.stdin.read())
    raw = openai.OpenAI(base_url=job["base_url"], api_key="sk-test", max_retries=0, timeout=30)
    mode = instructor.Mode.TOOLS if job["mode"] == "tools" else instructor.Mode.JSON
    client = instructor.from_openai(raw, mode=mode)
    valid = 0
    for size in job["sizes"]:
        model = model_of(size)
        for _ in range(job["objects"]):
            client.chat.completions.create(
                model="gpt-4o-mini",
                response_model=model,
                max_retries=2,
                messages=[{"role": "user", "content": "Extract the record from the text."}],
            )
            valid += 1
    print(json.dumps({"valid": valid}))


if __name__ == "__main__":
    main()
