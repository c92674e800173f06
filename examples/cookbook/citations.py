"""Recipe: answers that cite the source text, word for word.

Each fact carries the sentence of the source it comes from. The quote's type is a ``Literal`` of
the source's own sentences, so on a local model the grammar lets the model write only a real
sentence of the source (valid by construction); on a hosted model the same schema is an enum the
provider enforces or validation checks (a made-up quote is fed back for a retry).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from instructor_py import StructuredOutput

SOURCE = (
    "The Rhine is 1,230 km long. It rises in the Swiss Alps. It flows into the North Sea. "
    "Basel, Cologne and Rotterdam lie on its banks."
)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]


def answer_model(source: str) -> type[BaseModel]:
    """``{"quote": <one sentence of the source>, "answer": str}``: the evidence first."""
    quote: Any = Literal[tuple(sentences(source))]  # type: ignore[valid-type]
    return create_model(
        "Answer",
        quote=(quote, Field(description="the sentence of the source that answers the question")),
        answer=(str, Field(max_length=60)),
    )


def ask(question: str, model: type[BaseModel]) -> Any:
    return (
        StructuredOutput()
        .using("local")
        .with_(
            messages=f"Source: {SOURCE}\n\nQuestion: {question}",
            response_model=model,
            system="Copy the sentence of the source that answers the question, then answer in a few words.",
            max_retries=2,
            options={"max_tokens": 80},
        )
        .get()
    )


def main() -> None:
    model = answer_model(SOURCE)
    for question in ("How long is the Rhine?", "Where does the Rhine rise?"):
        answer = ask(question, model)
        print(f"question: {question}")
        print(f"  answer: {answer.answer}")
        print(f"  quote:  {answer.quote!r} (in the source: {answer.quote in SOURCE})")


if __name__ == "__main__":
    main()
