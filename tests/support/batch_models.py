"""Response models for the batch job tests, importable by path (``tests.support.batch_models:Person``)
so that a job resumed in another process gets instances of them back."""

from __future__ import annotations

from pydantic import BaseModel


class Person(BaseModel):
    name: str
    age: int
