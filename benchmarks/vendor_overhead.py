"""Client-side CPU time per call of the Bedrock and Gemini drivers vs the code a user writes by hand
with the vendor's own client (boto3 ``converse`` / ``converse_stream``; an httpx POST to
``generateContent``) plus ``model_validate``, side by side.

Both sides call the same loopback double (tests/support/vendors), served from a separate process
so that its CPU time is not counted, answering a forced tool call / JSON with a valid ``User``.
We measure ``time.process_time()`` of the client over many calls after a warm-up, in alternating
rounds, and report the median per-call CPU time and the ratio (instructor_py / by hand). What the
extra time buys: the schema in the request, the preflight, retries with feedback, typed errors,
usage, events; and when streaming, the partial objects and the check of the answer as it arrives.

    PYTHONPATH=. .venv/bin/python benchmarks/vendor_overhead.py [--calls 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pydantic import BaseModel  # noqa: E402

ANSWER = {"name": "Jason", "age": 25, "city": "Paris"}
PROMPT = "Extract: Jason is 25 years old and lives in Paris."
MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"


class User(BaseModel):
    name: str
    age: int
    city: str


def serve(kind: str) -> None:
    """The double, forever (until stdin closes): ``PORT <n>`` when ready."""
    from tests.support.vendors import ScriptedServer
    from tests.support.vendors import bedrock as b
    from tests.support.vendors import gemini as g

    if kind == "bedrock":
        reply: Any = b.answer(b.converse(tool=("User", ANSWER)))
    else:
        reply = g.answer(g.response(json.dumps(ANSWER)))
    server = ScriptedServer().script([], default=reply)
    server.start()
    print(f"PORT {server.port}", flush=True)
    try:
        sys.stdin.read()
    finally:
        server.stop()


def start(kind: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        raise SystemExit(f"the {kind} double did not start: {line!r}")
    return proc, f"http://127.0.0.1:{line.split()[1]}"


def per_call(fn: Callable[[], Any], calls: int) -> float:
    start_cpu = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - start_cpu) / calls


def bedrock_cases(url: str) -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    import boto3
    from botocore.config import Config

    from instructor_py import StructuredOutput

    keys = {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "secret"}
    ours = StructuredOutput().using(f"bedrock/{MODEL}", region="us-east-1", base_url=url, **keys)
    whole = ours.with_(messages=PROMPT, response_model=User, check_stream=False)
    streamed = ours.with_(messages=PROMPT, response_model=User)
    client = boto3.client(
        "bedrock-runtime", region_name="us-east-1", endpoint_url=url,
        config=Config(retries={"total_max_attempts": 1}), **keys,
    )  # fmt: skip
    tool = {
        "tools": [{"toolSpec": {"name": "User", "description": "A user", "inputSchema": {"json": User.model_json_schema()}}}],
        "toolChoice": {"tool": {"name": "User"}},
    }
    messages = [{"role": "user", "content": [{"text": PROMPT}]}]

    def by_hand() -> User:
        out = client.converse(modelId=MODEL, messages=messages, toolConfig=tool)
        use = next(b["toolUse"] for b in out["output"]["message"]["content"] if "toolUse" in b)
        return User.model_validate(use["input"])

    def by_hand_stream() -> User:
        pieces: list[str] = []
        for event in client.converse_stream(modelId=MODEL, messages=messages, toolConfig=tool)["stream"]:
            delta = event.get("contentBlockDelta", {}).get("delta", {})
            if "toolUse" in delta:
                pieces.append(delta["toolUse"]["input"])
        return User.model_validate_json("".join(pieces))

    return {
        "Bedrock Converse (whole answer)": (whole.get, by_hand),
        "Bedrock ConverseStream (get() default)": (streamed.get, by_hand_stream),
    }


def gemini_cases(url: str) -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    import httpx

    from instructor_py import StructuredOutput

    ours = StructuredOutput().using("gemini", api_key="AIza-bench", base_url=f"{url}/v1beta")
    whole = ours.with_(messages=PROMPT, response_model=User, check_stream=False)
    streamed = ours.with_(messages=PROMPT, response_model=User)
    client = httpx.Client(base_url=f"{url}/v1beta", headers={"x-goog-api-key": "AIza-bench"})
    body = {
        "contents": [{"role": "user", "parts": [{"text": PROMPT}]}],
        "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": User.model_json_schema()},
    }

    def by_hand() -> User:
        out = client.post("/models/gemini-2.5-flash:generateContent", json=body).json()
        return User.model_validate_json(out["candidates"][0]["content"]["parts"][0]["text"])

    def by_hand_stream() -> User:
        text: list[str] = []
        with client.stream("POST", "/models/gemini-2.5-flash:streamGenerateContent", params={"alt": "sse"}, json=body) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    chunk = json.loads(line[6:])
                    text.extend(p.get("text", "") for p in chunk["candidates"][0]["content"]["parts"])
        return User.model_validate_json("".join(text))

    return {
        "Gemini generateContent (whole answer)": (whole.get, by_hand),
        "Gemini streamGenerateContent (get() default)": (streamed.get, by_hand_stream),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", choices=["bedrock", "gemini"])
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    rows: list[tuple[str, float, float]] = []
    for kind, cases in (("bedrock", bedrock_cases), ("gemini", gemini_cases)):
        proc, url = start(kind)
        try:
            for name, (ours, by_hand) in cases(url).items():
                assert ours() == by_hand() == User(**ANSWER)
                per_call(ours, 20), per_call(by_hand, 20)  # warm-up
                ours_t: list[float] = []
                hand_t: list[float] = []
                for _ in range(args.rounds):
                    ours_t.append(per_call(ours, args.calls))
                    hand_t.append(per_call(by_hand, args.calls))
                rows.append((name, statistics.median(ours_t), statistics.median(hand_t)))
        finally:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(timeout=10)
    print(f"calls per round: {args.calls}, rounds: {args.rounds} (median of rounds; client CPU per call)")
    print("| call | instructor_py | by hand (vendor client + model_validate) | ratio |")
    print("|---|---|---|---|")
    for name, ours_s, hand_s in rows:
        print(f"| {name} | {ours_s * 1e3:.2f} ms | {hand_s * 1e3:.2f} ms | {ours_s / hand_s:.2f}x |")


if __name__ == "__main__":
    main()
