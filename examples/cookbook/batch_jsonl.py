"""Recipe: a batch over a JSONL file, from the shell.

``instructor-py extract`` (also ``python -m instructor_py extract``) reads one input per line (a
JSON string, a message, or a dict of ``with_()`` parts), runs them concurrently and writes one
JSON line per input, in input order: ``{"index", "value", "usage", "attempts"}`` or
``{"index", "error"}``. This script writes the files and runs the command as a user would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "maxLength": 30},
        "country": {"type": "string", "maxLength": 30},
    },
    "required": ["city", "country"],
}
LINES = [
    "Paris is the capital of France.",
    "Berlin is the capital of Germany.",
    "Madrid is the capital of Spain.",
]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "city.json").write_text(json.dumps(SCHEMA))
        (folder / "cities.jsonl").write_text("".join(json.dumps(line) + "\n" for line in LINES))
        command = [
            sys.executable, "-m", "instructor_py", "extract",
            "--schema", str(folder / "city.json"),
            "--input", str(folder / "cities.jsonl"),
            "--output", str(folder / "out.jsonl"),
            "--preset", "local",
        ]  # fmt: skip
        print("$ instructor-py extract --schema city.json --input cities.jsonl --output out.jsonl")
        subprocess.run(command, check=True)
        for line in (folder / "out.jsonl").read_text().splitlines():
            row = json.loads(line)
            print(row["index"], row.get("value") or row.get("error"))


if __name__ == "__main__":
    main()
