"""Recipe: a document longer than the model's context, in chunks.

Split the text on paragraph boundaries into chunks that fit, extract from every chunk at once with
``batch()`` (results in input order, one error per failed chunk, never one for the whole batch),
then merge: here the people found in all chunks, each once, with the age where a chunk gives it.
A validator per chunk checks the name is in that chunk's text (a wrong name is fed back).
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, Field

from instructor_py import StructuredOutput


class Person(BaseModel):
    name: str = Field(max_length=40)
    age: int | None = Field(default=None, ge=0, le=120, description="null if not given")


DOCUMENT = """Anna Berg is 41 years old and runs the bakery on the corner.

Her neighbour, Tom Lund, is 67 and has lived on the street all his life.

On Sundays Anna Berg bakes bread for the whole street.

The youngest on the street is Lisa Holm, who is 9."""


def chunks(text: str, max_chars: int) -> list[str]:
    """Paragraphs packed into chunks of at most ``max_chars`` (a paragraph is never split)."""
    out: list[str] = []
    for paragraph in (p.strip() for p in text.split("\n\n")):
        if out and len(out[-1]) + len(paragraph) + 2 <= max_chars:
            out[-1] += "\n\n" + paragraph
        else:
            out.append(paragraph)
    return out


def named_in(text: str) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        if isinstance(value, Person) and value.name not in text:
            return f"{value.name!r} is not in the text; copy the person's full name from the text"
        return None

    return check


def main() -> None:
    parts = chunks(DOCUMENT, max_chars=80)
    print(f"{len(parts)} chunks")
    extract = StructuredOutput().using("local").with_(
        response_model=Person,
        system="Name the person in the text, and their age if the text gives it.",
        max_retries=1,
        options={"max_tokens": 80},
    )
    inputs = [{"messages": part, "validators": named_in(part)} for part in parts]
    people: dict[str, Person] = {}
    for result in extract.batch(inputs):
        if isinstance(result, Exception):
            print(f"a chunk failed: {type(result).__name__}")
            continue
        person = result.value
        known = people.get(person.name)
        if known is None or known.age is None:
            people[person.name] = person
    for person in sorted(people.values(), key=lambda p: p.name):
        print(f"person: {person.name}, {person.age if person.age is not None else 'age unknown'}")


if __name__ == "__main__":
    main()
