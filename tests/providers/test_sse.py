from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from instructor_py.providers.sse import SSEDecoder, SSEEvent

STREAM = (
    "event: a\ndata: {\"x\": \"é🎉\\u00e9\"}\n\n"
    ": comment\r\ndata: line1\r\ndata: line2\r\n\r\n"
    "data: [DONE]\n\n"
).encode()
EXPECTED = [
    SSEEvent("a", '{"x": "é🎉\\u00e9"}'),
    SSEEvent("message", "line1\nline2"),
    SSEEvent("message", "[DONE]"),
]


@given(st.lists(st.integers(min_value=1, max_value=len(STREAM)), max_size=20))
def test_any_split_gives_the_same_events(cuts: list[int]) -> None:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    at = 0
    for cut in sorted(set(cuts)):
        events += decoder.feed(STREAM[at:cut])
        at = cut
    events += decoder.feed(STREAM[at:])
    events += decoder.close()
    assert events == EXPECTED


def test_close_flushes_an_unterminated_event() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x") == []
    assert decoder.close() == [SSEEvent("message", "x")]
