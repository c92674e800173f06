"""Guidance-style templates, thinking and composite constraints on the embedded SmolLM2 model.

- ``with_template``: the answer is a filled-in template; the local model is constrained to it
  token by token (``{{gen}}`` with a regex, ``{{select}}``, ``{{json}}`` of a pydantic model);
- ``with_thinking(N)``: up to N tokens of free text before the JSON, kept in ``raw_text``;
- the engine directly: a composite ``ConstraintSpec`` (a choice, then a JSON object) whose labeled
  parts come back from the matcher's captures.

    PYTHONPATH=. python examples/templates.py
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from instructor_py import StructuredOutput
from instructor_py.local import ConstraintSpec, DecodeOptions, load_model, session_for


class Place(BaseModel):  # bounded strings: a 135M model may otherwise ramble inside one
    city: str = Field(max_length=20)
    country: str = Field(max_length=20)


class Person(BaseModel):
    name: str = Field(max_length=30)
    age: int = Field(ge=0, le=120)


TEXT = "Maria Lopez is 31 years old. She lives in Madrid, Spain, and feels happy today."
TEMPLATE = """Name: {{gen 'name' regex='[A-Z][a-z]+ [A-Z][a-z]+'}}
Age: {{gen 'age' regex='[0-9]{1,3}'}}
Mood: {{select 'mood' options=['happy', 'sad']}}
Home: {{json 'home' schema=Place}}"""


def main() -> None:
    answer = StructuredOutput().with_(messages=TEXT).with_template(TEMPLATE, {"Place": Place})
    response = answer.response()
    print("template output:")
    print(response.raw_text)
    print("variables:", response.value)

    person = StructuredOutput().with_(messages=TEXT, response_model=Person).with_thinking(24)
    thought = person.response()
    print("\nwith thinking, raw text:", repr(thought.raw_text))
    print("value:", thought.value)

    session = session_for(load_model())  # the model's runtime: render, compile, generate
    spec = ConstraintSpec.sequence(
        ConstraintSpec.choice(["lookup", "answer"]).labeled("action"),
        " ",
        ConstraintSpec.json_schema(Person.model_json_schema()).labeled("args"),
    )
    handle = session.compile(spec)
    prompt = session.render([{"role": "user", "content": f"Answer about: {TEXT}"}])
    text = "".join(c.text for c in session.generate(prompt, handle, DecodeOptions(max_tokens=60)))
    print("\ncomposite output:", repr(text))
    print("segments:", handle.segments())


if __name__ == "__main__":
    main()
