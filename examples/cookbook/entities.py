"""Recipe: extract a list of entities, each one as soon as it is complete.

``Sequence.of(Model)`` asks for a list; ``stream().sequence()`` yields every item the moment it is
complete and valid, while the model is still writing the next one.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from instructor_py import Sequence, StructuredOutput


class City(BaseModel):
    name: str = Field(max_length=30)
    country: str = Field(max_length=30)


TEXT = "Our offices: Paris in France, Tokyo in Japan and Lima in Peru."


def main() -> None:
    stream = (
        StructuredOutput()
        .using("local")
        .with_(
            messages=TEXT,
            response_model=Sequence.of(City),
            system="List every city named in the text with its country.",
            examples=[
                (
                    "We visited Rome in Italy and Cairo in Egypt.",
                    [City(name="Rome", country="Italy"), City(name="Cairo", country="Egypt")],
                )
            ],
            max_retries=0,
            options={"max_tokens": 120},
        )
        .stream()
    )
    for city in stream.sequence():
        print(f"city: {city.name}, {city.country}")


if __name__ == "__main__":
    main()
