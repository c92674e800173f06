"""Collect raw answers of the embedded SmolLM2-135M run WITHOUT a grammar, for the messy-answer
corpus (benchmarks/data/messy_answers.jsonl; the answers are hand-labelled afterwards).

Each task is an extraction prompt with a JSON schema, asked in two prompt styles: ``json`` (the
system prompt asks for JSON matching the schema, as instructor's JSON mode does) and ``md_json``
(the answer inside a ```json fence, as MD_JSON mode does); greedy and sampled (seeded).

    PYTHONPATH=. .venv/bin/python benchmarks/collect_messy_answers.py [STYLE ...] > raw.jsonl
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import llama_cpp

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


def main() -> None:
    llm = llama_cpp.Llama(model_path=str(embedded_model_path()), n_ctx=2048, n_threads=2, verbose=False)
    styles = sys.argv[1:] or list(STYLES)
    first = int(os.environ.get("FIRST_TASK", "0"))
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


if __name__ == "__main__":
    main()
