"""Response models shared by the test suites."""

from __future__ import annotations

from pydantic import BaseModel, field_validator

__all__ = ["Adult"]


class Adult(BaseModel):
    """A person whose age must be at least 18: a validation failure the pipeline feeds back."""

    name: str
    age: int

    @field_validator("age")
    @classmethod
    def adult(cls, age: int) -> int:
        if age < 18:
            raise ValueError("age must be at least 18")
        return age
