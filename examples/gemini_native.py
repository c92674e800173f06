"""Extract a typed object with Gemini's native API (generateContent), from text and, if you pass
one, an image or a PDF; with a thinking budget (needs GEMINI_API_KEY; exits cleanly without it).

    GEMINI_API_KEY=... python examples/gemini_native.py [receipt.png|invoice.pdf]

On Vertex AI the same call is ``using("vertex", project=..., location=...)`` (Google application
default credentials through google-auth, or ``token_provider=``).
"""

from __future__ import annotations

import os
import sys

from pydantic import BaseModel

from instructor_py import PDF, Image, StructuredOutput


class LineItem(BaseModel):
    description: str
    amount: float


class Receipt(BaseModel):
    merchant: str
    items: list[LineItem]
    total: float


def main(argv: list[str]) -> int:
    if not os.environ.get("GEMINI_API_KEY"):
        print("This example needs a Gemini API key: set GEMINI_API_KEY (from "
              "https://aistudio.google.com/apikey) and run it again.")
        return 0
    messages: list[object] = ["Extract the receipt."]
    if argv:
        path = argv[0]
        messages.append(PDF.from_path(path) if path.lower().endswith(".pdf") else Image.from_path(path))
    else:
        messages.append("Blue Bottle Coffee: 2 lattes 9.00, 1 croissant 4.25. Total 13.25.")
    response = (
        StructuredOutput()
        .using(f"gemini/{os.environ.get('GEMINI_MODEL', 'gemini-2.5-flash')}")
        .with_(messages=messages, response_model=Receipt, max_retries=2)
        .with_thinking(512)  # thinkingConfig.thinkingBudget
        .response()
    )
    print(response.value.model_dump_json(indent=2))
    print(response.usage)  # reasoning_tokens: Gemini's thoughtsTokenCount
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
