"""What a validation retry costs: prompt tokens per valid object when the first answer fails one
field in N (N = 5, 10, 20), side by side in one run:

- ours, ``retry_feedback="focused"`` (the default): the retry quotes the valid part once and names
  only the failing path, without the schema text again;
- ours, ``retry_feedback="full"`` (the feedback before this change: the whole conversation and the
  previous answer replayed), with the raw JSON-schema prompt as before and with the compact one;
- Python ``instructor`` 1.17 (run from ``.venv-bench``, ``make bench-env``), same answers.

Every client talks to the same scripted loopback server (``tests/support/servers/scripted.py``)
through the official openai client; for each object the server answers once with ``age`` = 12
(the model requires >= 18) and then with a valid object. The tokens are counted on the requests
the server received, the same way for every client, with the embedded model's tokenizer
(SmolLM2-135M): each message's text and tool-call arguments, plus the tool definitions or the
response format when sent.

Run: ``PYTHONPATH=. python benchmarks/retry_cost.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.results import Chart, Table, save
from benchmarks.retry_cost_instructor import model_of
from benchmarks.schema_prompts import _tokenizer
from instructor_py import StructuredOutput
from instructor_py.common.modes import OutputMode
from tests.support.servers import Reply, ScriptedServer
from tests.support.servers import wire as w

SIZES = (5, 10, 20)
OBJECTS = 5
BENCH_PYTHON = Path(__file__).resolve().parent.parent / ".venv-bench" / "bin" / "python"
FALLBACK_PYTHON = Path("/work/main/.venv-bench/bin/python")


def answers(size: int, mode: str) -> list[Reply]:
    good = {f"f{i}": f"value {i}" for i in range(size - 1)}
    out = []
    for age in (12, 30):
        body = json.dumps({**good, "age": age})
        if mode == "tools":
            out.append(Reply.json(w.openai_chat(tool_args=body, tool_name=f"Record{size}")))
        else:
            out.append(Reply.json(w.openai_chat(body)))
    return out


def request_tokens(body: dict[str, Any], count: Any) -> int:
    total = 0
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            total += count(content)
        elif isinstance(content, list):
            total += sum(count(p.get("text", "")) for p in content if isinstance(p, dict))
        for call in message.get("tool_calls") or ():
            total += count(call["function"]["arguments"])
    for key in ("tools", "response_format", "functions"):
        if body.get(key):
            total += count(json.dumps(body[key], separators=(",", ":")))
    return total


def run_ours(server: ScriptedServer, mode: str, size: int, **parts: Any) -> int:
    model = model_of(size)
    client = StructuredOutput().using(
        "openai", base_url=server.openai_url, api_key="sk-test", model="gpt-4o-mini"
    )
    for _ in range(OBJECTS):
        client.with_(
            messages="Extract the record from the text.",
            response_model=model,
            mode=OutputMode.TOOLS if mode == "tools" else OutputMode.JSON,
            max_retries=2,
            **parts,
        ).get()
    return OBJECTS


def run_instructor(server: ScriptedServer, mode: str, size: int) -> int | None:
    python = BENCH_PYTHON if BENCH_PYTHON.exists() else FALLBACK_PYTHON
    if not python.exists():
        return None
    job = {"base_url": server.openai_url, "mode": mode, "sizes": [size], "objects": OBJECTS}
    done = subprocess.run(
        [str(python), "-m", "benchmarks.retry_cost_instructor"],
        input=json.dumps(job), capture_output=True, text=True, timeout=300, check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        return None
    return int(json.loads(done.stdout.strip().splitlines()[-1])["valid"])


VARIANTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("json", "ours: focused + compact (default)", {}),
    ("json", "ours: full + compact", {"retry_feedback": "full"}),
    ("json", "ours before: full + raw schema", {"retry_feedback": "full", "schema_prompt": "raw"}),
    ("json", "instructor 1.17 (Mode.JSON)", None),
    ("tools", "ours (default: full replay in TOOLS)", {}),
    ("tools", "instructor 1.17 (Mode.TOOLS)", None),
]


def main() -> None:
    count = _tokenizer()
    rows: list[list[Any]] = []
    per: dict[tuple[str, str], dict[int, float]] = {}
    with ScriptedServer() as server:
        for mode, label, parts in VARIANTS:
            for size in SIZES:
                before = len(server.requests)
                server.script([r for _ in range(OBJECTS) for r in answers(size, mode)])
                if parts is None:
                    valid = run_instructor(server, mode, size)
                else:
                    valid = run_ours(server, mode, size, **parts)
                sent = server.requests[before:]
                if not valid:
                    rows.append([mode, label, size, "n/a", "n/a", "n/a"])
                    continue
                bodies = [r.json for r in sent]
                tokens = [request_tokens(b, count) for b in bodies]
                retry_tokens = sum(tokens[1::2]) / valid
                per[(mode, label)] = {**per.get((mode, label), {}), size: sum(tokens) / valid}
                rows.append([mode, label, size, len(sent) // valid, round(sum(tokens) / valid),
                             round(retry_tokens)])  # fmt: skip
    for row in rows:
        base = per.get((row[0], VARIANTS[0][1] if row[0] == "json" else VARIANTS[4][1]), {})
        ours = base.get(row[2])
        row.append(f"{row[4] / ours:.2f}" if ours and isinstance(row[4], int) else "n/a")
    table = Table(
        "Prompt tokens per valid object, first answer failing one field in N (SmolLM2 tokenizer)",
        ["mode", "client", "N fields", "requests/object", "prompt tokens/object",
         "retry request tokens", "vs ours (default)"],
        rows,
        [f"{OBJECTS} objects per cell; the same scripted answers for every client"],
    )  # fmt: skip
    labels = [f"{m} {label}" for m, label, _ in VARIANTS]
    chart = Chart(
        "retry_cost_tokens",
        "Prompt tokens per valid object (first answer fails 1 field in N)",
        "bar",
        [f"N={n}" for n in SIZES],
        {lab: [per.get((m, label), {}).get(n) for n in SIZES] for lab, (m, label, _) in zip(labels, VARIANTS, strict=True)},
        ylabel="prompt tokens per valid object",
    )
    print(table.title)
    print(" | ".join(table.columns))
    for row in rows:
        print(" | ".join(str(c) for c in row))
    save("retry_cost", [table], [chart])


if __name__ == "__main__":
    main()
