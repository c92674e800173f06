"""An answer that falls into a loop keeps its valid part: where it is cut and closed (no model),
and, through the public API on the embedded model, a looped answer resumed within its attempt
(not when streamed, not with ``resume_loops=False``), the grammar continuing from the cut."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from instructor_py import StructuredOutput, StructuredOutputRetryError
from instructor_py.providers.local import LocalGeneration
from instructor_py.providers.local_resume import resume_point
from instructor_py.runtime.generation import DecodeOptions
from instructor_py.runtime.repetition import Repetition, RepetitionDetector
from instructor_py.runtime.session import session_for
from tests.support.smollm2 import needs_model


def loop_in(text: str) -> Repetition:
    detector = RepetitionDetector()
    for ch in text:
        detector.feed(ch)
    found = detector.found
    assert found is not None, text
    return found


def test_a_looping_string_is_cut_after_its_first_unit_and_closed() -> None:
    text = '{"name": "Bob", "notes": "' + "The user is fine. " * 6
    point = resume_point(text, loop_in(text))
    assert point is not None
    assert point.text == '{"name": "Bob", "notes": "The user is fine."'


def test_a_looping_list_keeps_its_whole_items_and_is_closed() -> None:
    text = '{"items": ["apple", "pear", ' + '"apple", "pear", ' * 5
    point = resume_point(text, loop_in(text))
    assert point is not None and point.text == '{"items": ["apple", "pear"]'
    nested = '{"a": {"xs": [{"k": 1}, ' + '{"k": 2}, {"k": 3}, ' * 6
    point = resume_point(nested, loop_in(nested))
    assert point is not None and point.text.endswith("]")
    assert point.text.startswith('{"a": {"xs": [{"k": 1}')


def test_no_cut_in_a_key_a_number_or_a_bare_value() -> None:
    in_key = '{"' + "ab" * 40
    assert resume_point(in_key, loop_in(in_key)) is None
    number = '{"n": 1' + "2" * 60  # in a number: no boundary to close at
    assert resume_point(number, loop_in(number)) is None
    inner = '{"xs": [[' + "0, " * 30  # the innermost list is the one closed
    point = resume_point(inner, loop_in(inner))
    assert point is not None and point.text == '{"xs": [[0]'
    bare = '"' + "la " * 30  # not inside an object or list: nothing to close into
    assert resume_point(bare, loop_in(bare)) is None


ECHO_PROMPT = "Copy this text exactly: " + "ha " * 12


class Echo(BaseModel):
    text: str


def generation(raw: object) -> LocalGeneration:
    assert isinstance(raw, LocalGeneration)
    return raw


@needs_model
@pytest.mark.timeout(300)
def test_a_looped_answer_resumes_from_its_valid_part_within_the_attempt() -> None:
    response = (
        StructuredOutput().with_(messages=ECHO_PROMPT, response_model=Echo).create().response()
    )
    assert len(response.attempts) == 1  # no retry paid for the loop
    raw = generation(response.raw_response)
    assert raw.finish_reason == "stop" and raw.resumed_after_loop
    assert raw.dropped_tokens > 0
    assert response.usage is not None
    assert response.usage.output_tokens == len(raw.token_ids) + raw.dropped_tokens
    assert 0 < len(response.value.text) < len("ha " * 12)
    assert "ha" in response.value.text.lower()


@needs_model
@pytest.mark.timeout(300)
def test_streamed_or_opted_out_a_loop_still_ends_the_attempt() -> None:
    def first_attempt(call: StructuredOutput) -> LocalGeneration:
        try:
            attempts = call.create().response().attempts
        except StructuredOutputRetryError as exc:
            attempts = exc.attempts
        return generation(attempts[0].raw_response)

    base = StructuredOutput().with_(messages=ECHO_PROMPT, response_model=Echo, max_retries=0)
    opted_out = first_attempt(base.with_options(resume_loops=False))
    assert opted_out.finish_reason == "repetition" and not opted_out.resumed_after_loop
    streamed = base.stream()
    with pytest.raises(StructuredOutputRetryError) as caught:
        for _ in streamed.partials():
            pass
    raw = generation(caught.value.attempts[0].raw_response)
    assert raw.finish_reason == "repetition" and not raw.resumed_after_loop


@needs_model
@pytest.mark.timeout(300)
def test_a_prefix_the_grammar_refuses_is_a_clear_error() -> None:
    from instructor_py.common.errors import LocalModelError
    from instructor_py.local import ConstraintSpec, load_model

    model = load_model()  # the embedded model
    session = session_for(model)
    handle = session.compile(ConstraintSpec.regex("(yes|no)"))
    prompt = model.tokenize(session.render_text([{"role": "user", "content": "Yes or no?"}]))
    options = DecodeOptions(max_tokens=8, prefix=tuple(model.tokenize_bytes(b"maybe")))
    with pytest.raises(LocalModelError, match="refuses the answer's prefix"):
        list(session.generate(prompt, handle, options))
    accepted = DecodeOptions(max_tokens=8, prefix=tuple(model.tokenize_bytes(b"ye")))
    again = session.compile(ConstraintSpec.regex("(yes|no)"))
    text = "".join(c.text for c in session.generate(prompt, again, accepted))
    assert text == "yes"  # the prefix is part of the answer, the grammar finished it
