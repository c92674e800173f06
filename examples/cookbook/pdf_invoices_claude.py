"""Recipe: extract a list of invoices from a PDF with Claude.

``PDF.from_path`` reads the file (its type is checked from the bytes); a message's content mixes
text and media, and the Anthropic driver sends the PDF as a ``document`` block. The answer is a
list of nested invoices, validated like any other. Needs ``ANTHROPIC_API_KEY`` (the test suite
runs it against a loopback server speaking the Messages API).

    python examples/cookbook/pdf_invoices_claude.py [invoices.pdf]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pydantic import BaseModel, Field

from instructor_py import PDF, StructuredOutput

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "invoices.pdf"


class Line(BaseModel):
    item: str
    quantity: int = Field(ge=1)
    unit_price: float = Field(ge=0)


class Invoice(BaseModel):
    number: str
    customer: str
    lines: list[Line]
    total: float


class Invoices(BaseModel):
    invoices: list[Invoice]


def main() -> int:
    if not os.environ.get("ANTHROPIC_API_KEY"):
        print("This recipe calls Claude: set ANTHROPIC_API_KEY to run it.")
        return 0
    pdf = PDF.from_path(sys.argv[1] if len(sys.argv) > 1 else SAMPLE)
    print(f"document: {pdf!r}")
    result = (
        StructuredOutput()
        .using("anthropic/claude-sonnet-4-5")
        .with_(
            messages=["Extract every invoice in this PDF.", pdf],
            response_model=Invoices,
            max_retries=2,
        )
        .get()
    )
    for invoice in result.invoices:
        lines = ", ".join(f"{x.quantity} x {x.item}" for x in invoice.lines)
        print(f"{invoice.number}: {invoice.customer}, {lines}, total {invoice.total:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
