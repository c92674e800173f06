"""Loop detection on output text (no model needed): what counts as a degenerate loop, what does
not, and the field it names."""

from __future__ import annotations

import pytest

from instructor_py.runtime.repetition import RepetitionDetector, json_path_at


def feed_in_chunks(detector: RepetitionDetector, text: str, size: int = 3) -> int | None:
    """Feed ``text`` a few characters at a time; the offset after which a loop was reported."""
    for i in range(0, len(text), size):
        if detector.feed(text[i : i + size]) is not None:
            return i + size
    return None


def test_a_repeated_sentence_is_stopped_within_a_few_repeats() -> None:
    text = '{"message":"' + "The user is fine. " * 40
    detector = RepetitionDetector()
    stop = feed_in_chunks(detector, text)
    assert stop is not None and stop < 12 + 18 * 6  # within 6 units of the loop's start
    found = detector.found
    assert found is not None and found.unit.strip() in ("The user is fine.", "user is fine. The")
    assert "$.message" in found.describe(text[:stop])


def test_a_repeated_character_and_a_repeated_list_item_are_loops() -> None:
    text = '{"customer":"#/#/Customer-' + "#" * 200
    detector = RepetitionDetector()
    assert feed_in_chunks(detector, text) is not None
    assert detector.found is not None and detector.found.unit == "#"
    items = '{"names":["Apple","Microsoft"' + ',"Microsoft"' * 30
    detector = RepetitionDetector()
    stop = feed_in_chunks(detector, items)
    assert stop is not None and stop < len(items) // 2
    assert detector.found is not None
    assert "$.names[" in detector.found.describe(items[:stop])


def test_a_list_counting_on_is_a_loop_of_shape() -> None:
    text = '{"group1":[' + ",".join(str(i) for i in range(3, 300))
    detector = RepetitionDetector(prompt="Compare 3, 4, 5, 6, 4 with 7, 8, 9, 8, 7")
    stop = feed_in_chunks(detector, text)
    assert stop is not None and stop < 160
    assert detector.found is not None and detector.found.shape
    assert "$.group1[" in detector.found.describe(text[:stop])


@pytest.mark.parametrize(
    "text",
    [
        '{"phone":"1000000","zeros":[0,0,0,0,0],"s":"aaaaaaaaaaaa","n":1111111111}',
        '{"items":[{"name":"a","qty":1},{"name":"b","qty":2},{"name":"c","qty":3}]}',
        '{"text":"The quick brown fox jumps over the lazy dog. She sells sea shells by the sea shore."}',
        '{"matrix":[[1,0,0],[0,1,0],[0,0,1]],"flags":[true,false,true,false]}',
    ],
)
def test_ordinary_values_pass(text: str) -> None:
    detector = RepetitionDetector()
    assert feed_in_chunks(detector, text) is None
    assert detector.found is None


def test_a_span_the_prompt_contains_is_copied_not_looped() -> None:
    numbers = ", ".join(str(10 + i * 7 % 90) for i in range(60))  # two digits each
    answer = '{"data":[' + numbers.replace(" ", "") + "]}"
    assert feed_in_chunks(RepetitionDetector(prompt=f"The data: {numbers}."), answer) is None
    assert feed_in_chunks(RepetitionDetector(), answer) is not None  # same text, no prompt: a loop
    echo = "ha " * 12
    within = '{"text":"' + echo.strip() + '"}'
    assert feed_in_chunks(RepetitionDetector(prompt=f"Copy exactly: {echo}"), within) is None
    beyond = '{"text":"' + "ha " * 40
    assert feed_in_chunks(RepetitionDetector(prompt=f"Copy exactly: {echo}"), beyond) is not None


def test_once_found_it_stays_found() -> None:
    detector = RepetitionDetector()
    first = detector.feed("x" * 100)
    assert first is not None
    assert detector.feed("something else entirely") is first


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="max_period"):
        RepetitionDetector(max_period=0)


@pytest.mark.parametrize(
    ("prefix", "path"),
    [
        ('{"a":1,"b":"', "$.b"),
        ('{"a":{"b":[1,2,{"c":"x\\"y', "$.a.b[2].c"),
        ('{"a":[[1],[2,', "$.a[1][1]"),
        ('{"k,":"v","m', "$.k,"),  # the key being written is not yet the member
        ('["x', "$[0]"),
        ("", "$"),
    ],
)
def test_json_path_at(prefix: str, path: str) -> None:
    assert json_path_at(prefix) == path


def test_a_list_repeating_a_whole_object_item_is_a_loop() -> None:
    # seen on the embedded model: an invoice's line item (~90 characters) repeated to max_tokens
    item = '{"description": "10 hours of consulting at 95/hour", "quantity": 10, "unit_price": 95}, '
    assert len(item) > 64
    prompt = "Bill no. 7781 to Globex Ltd. Items: 10 hours of consulting at 95/hour. Total due 950."
    text = '{"invoice_number": "7781", "customer": "Globex Ltd.", "items": [' + item * 6
    detector = RepetitionDetector(prompt=prompt)
    offset = feed_in_chunks(detector, text)
    assert offset is not None and offset < len(text) - len(item)  # within a few items, not at the end
    found = detector.found
    assert found is not None and found.unit in item + item and len(found.unit) == len(item)
    assert "$.items" in (detector.describe() or "")
    distinct = "".join(
        f'{{"description": "item number {w} of the order", "quantity": {q}, "unit_price": {p}}}, '
        for w, q, p in [("one", 2, 12.5), ("two", 1, 8.99), ("three", 5, 49), ("four", 3, 3.2)]
    )
    assert feed_in_chunks(RepetitionDetector(prompt=prompt), '{"items": [' + distinct) is None
