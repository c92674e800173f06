"""Recipe: show a result while it is being written.

``stream().partials()`` yields a growing snapshot of the object as tokens arrive (fields that are
not written yet are missing); ``final_value()`` is the fully validated object.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from instructor_py import StructuredOutput


class Profile(BaseModel):
    name: str = Field(max_length=40)
    job: str = Field(max_length=40)
    city: str = Field(max_length=40)


def main() -> None:
    stream = (
        StructuredOutput()
        .using("local")
        .with_(
            messages="Maria Lopez works as a dentist in Seville.",
            response_model=Profile,
            options={"max_tokens": 60},
        )
        .stream()
    )
    for seen, partial in enumerate(stream.partials(), start=1):
        print(f"partial {seen}: {partial!r}")
    print(f"final: {stream.final_value()!r}")


if __name__ == "__main__":
    main()
