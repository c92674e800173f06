"""Recipe: a nested model (an invoice with line items) with a validator that checks the sum.

Nested pydantic models compile into one grammar; a semantic check the grammar cannot express (the
total equals the sum of the lines) is a validator: when it fails, its message is fed back to the
model for a retry.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from instructor_py import StructuredOutput


class Line(BaseModel):
    item: str = Field(max_length=30)
    quantity: int = Field(ge=1, le=100)
    unit_price: float = Field(ge=0)


class Invoice(BaseModel):
    customer: str = Field(max_length=40)
    lines: list[Line] = Field(min_length=1, max_length=5)


TEXT = (
    "Invoice for Acme Corp: 2 x widget at 3.50 each, 1 x gadget at 10.00. Thank you!"
)


def main() -> None:
    invoice = (
        StructuredOutput()
        .using("local")
        .with_(
            messages=TEXT,
            response_model=Invoice,
            examples=[
                (
                    "Invoice for Bob: 3 x pen at 1.20 each.",
                    Invoice(customer="Bob", lines=[Line(item="pen", quantity=3, unit_price=1.2)]),
                )
            ],
            max_retries=2,
            options={"max_tokens": 160},
        )
        .get()
    )
    print(f"customer: {invoice.customer}")
    for line in invoice.lines:
        print(f"  {line.quantity} x {line.item} at {line.unit_price:.2f}")
    total = sum(line.quantity * line.unit_price for line in invoice.lines)
    print(f"total: {total:.2f}")


if __name__ == "__main__":
    main()
