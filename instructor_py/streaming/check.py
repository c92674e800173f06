"""Streaming constraint checking of remote answers: the small interface between the SDK and the
engine's byte-level matcher.

While an answer streams, the JSON document the locator found is fed, byte by byte, to a matcher
built from the response schema (:mod:`instructor_py.engine.answer_check`: an order-free grammar
that accepts every valid instance, compiled by the engine over a 256-byte tokenizer). As soon as
no continuation can be valid -- a wrong type, a key ``additionalProperties: false`` forbids, an
enum value no option can complete, a string over ``maxLength`` -- the session stops the stream
(the HTTP response is closed), and the attempt fails with a precise error (JSON path, the bytes
around the first impossible one, what the schema allows there) that the retry feeds back.

When it applies (:func:`check_for`): ``check_stream`` is not ``False``; the mode is JSON,
JSON_SCHEMA, TOOLS or MD_JSON; the provider does not enforce the schema itself (the local
provider decodes under the constraint: ``enforces_schema = True``); the engine extra (llguidance)
is installed -- without it the SDK works unchecked; and the schema compiles exactly. ``stream()``
and ``astream()`` are checked by default, and so are ``get()`` and ``aget()`` when the provider
streams its answers without losing anything a whole answer gives (``streams_answers``: the
OpenAI-compatible and Anthropic drivers on presets whose streams report usage): they stream so
that a bad answer is cut early and retried with the precise error
(:func:`instructor_py.client.pending._observer`). ``check_stream=True`` makes ``get()`` stream and check
on any provider; ``check_stream=False`` turns checking off and ``get()`` asks for the answer
whole.

Bytes are checked in batches of :data:`BATCH` (one native call each), so an invalid answer is
cut within :data:`BATCH` bytes of the first impossible one; the batch that completes the
document is left to the pipeline (nothing is left to cut: a short answer that arrives whole costs
no matcher time).
The first :data:`CHECKED_BYTES` of each document are checked (every byte of a typical answer):
the matcher costs about 0.5-0.7 µs a byte, and past that point a cut saves little of what was
already received; the response pipeline validates the whole answer at the end in any case.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from instructor_py.common.modes import OutputMode
from instructor_py.pipeline.failures import FieldError, StageFailure, json_path
from instructor_py.run.plan import ExecutionPlan
from instructor_py.streaming.json_parser import IncrementalJsonParser, JsonStreamError

__all__ = ["BATCH", "CHECKED_BYTES", "CHECKED_MODES", "AnswerCheck", "DocumentCheck", "check_for"]

CHECKED_MODES = frozenset(
    {OutputMode.JSON, OutputMode.JSON_SCHEMA, OutputMode.TOOLS, OutputMode.MD_JSON}
)
BATCH = 256
CHECKED_BYTES = 8192


class AnswerCheck(Protocol):
    """A byte-level matcher of one answer: ``feed`` returns ``None`` while the bytes so far can
    still begin a valid answer (or it is complete), else the offset of the first byte that
    cannot."""

    def feed(self, data: bytes) -> int | None: ...


def check_for(
    plan: ExecutionPlan, *, streamed: bool, tolerant: Mapping[str, Any] | None = None
) -> Callable[[], DocumentCheck] | None:
    """A factory of checks for the documents of ``plan``'s answers, or ``None`` when checking
    does not apply (module docstring). ``tolerant``: the schema the answer is read with by the
    tolerant parser (None: strict parsing), see :class:`DocumentCheck`."""
    wanted = plan.spec.check_stream
    if wanted is False:
        return None
    if wanted is None and not streamed and not getattr(plan.provider, "streams_answers", False):
        return None
    if plan.request.mode not in CHECKED_MODES or getattr(plan.provider, "enforces_schema", False):
        return None
    schema = plan.request.response_schema
    make = _engine_matchers(schema)
    if make is None:
        return None
    return lambda: DocumentCheck(make(), schema, tolerant)


_FACTORIES: OrderedDict[int, tuple[Mapping[str, Any], Callable[[], AnswerCheck] | None]] = (
    OrderedDict()
)
_FACTORIES_SIZE = 64
_FACTORIES_LOCK = threading.Lock()


def _engine_matchers(schema: Mapping[str, Any]) -> Callable[[], AnswerCheck] | None:
    """The matcher factory of ``schema``, kept per schema object (a builder's calls share their
    response model's schema, so ``get()`` does not rebuild the checking grammar each time)."""
    key = id(schema)
    with _FACTORIES_LOCK:
        kept = _FACTORIES.get(key)
        if kept is not None and kept[0] is schema:
            _FACTORIES.move_to_end(key)
            return kept[1]
    made = _compile_matchers(schema)
    with _FACTORIES_LOCK:
        _FACTORIES[key] = (schema, made)  # the entry keeps the schema alive: its id stays its own
        while len(_FACTORIES) > _FACTORIES_SIZE:
            _FACTORIES.popitem(last=False)
    return made


def _compile_matchers(schema: Mapping[str, Any]) -> Callable[[], AnswerCheck] | None:
    try:
        from instructor_py.engine.answer_check import AnswerMatcher
    except ImportError:  # no local extra: answers are validated at the end only
        return None
    try:
        prototype = AnswerMatcher(schema)
    except Exception:  # a schema the engine cannot compile: never cut on a guess
        return None
    if not prototype.exact:
        return None
    return prototype.fresh


class DocumentCheck:
    """Checks one located document as its text arrives; :attr:`failure` is set once it can no
    longer be valid.

    The matcher reads strict JSON. With tolerant parsing (``tolerant``: the schema the tolerant
    parser reads the answer with), a value the matcher refuses is first watched until it ends:
    when the tolerant parser reads it (``"25"`` where an integer goes, ``"Active"`` for the enum
    value ``active``), the document is not checked further (the pipeline judges the complete
    answer); when the tolerant parser refuses the text, or the value is still not read
    :data:`BATCH` bytes after the refused byte (no number or enum value is that long), the
    document is cut as without tolerance."""

    __slots__ = (
        "_matcher",
        "_off",
        "_pending",
        "_schema",
        "_size",
        "_suspect",
        "_text",
        "_tolerant",
        "failure",
        "received",
    )

    def __init__(
        self,
        matcher: AnswerCheck,
        schema: Mapping[str, Any],
        tolerant: Mapping[str, Any] | None = None,
    ) -> None:
        self._matcher = matcher
        self._schema = schema
        self._tolerant = tolerant
        self._off = False
        self._suspect: tuple[int, tuple[Any, ...]] | None = None  # refused byte, its value's path
        self._pending: list[str] = []
        self._size = 0
        self._text: list[str] = []
        self.failure: StageFailure | None = None
        self.received = 0  # bytes of the document checked so far

    def feed(self, text: str, *, done: bool) -> StageFailure | None:
        """Take the document's next text (``done``: the document is complete). The bytes that
        complete a document are not checked: nothing is left to cut, and the pipeline judges a
        complete answer as precisely (``$.age: '25' is not of type 'integer'``)."""
        if self.failure is not None or self._off:
            return self.failure
        if self._suspect is not None:
            self._text.append(text)
            return None if done else self._settle()
        if self.received >= CHECKED_BYTES or done:
            return None
        self._pending.append(text)
        self._size += len(text)
        if self._size < BATCH:
            return None
        chunk = "".join(self._pending)
        self._pending.clear()
        self._size = 0
        self._text.append(chunk)
        data = chunk.encode("utf-8", "surrogatepass")[: CHECKED_BYTES - self.received]
        offset = self._matcher.feed(data)
        if offset is None:
            self.received += len(data)
            return None
        if self._tolerant is not None:
            document = "".join(self._text).encode("utf-8", "surrogatepass")
            refused = document[:offset].decode("utf-8", "replace")
            self._suspect = (offset, _position(refused)[0])
            return self._settle()
        return self._cut(offset)

    def _cut(self, offset: int) -> StageFailure:
        self.received = offset
        self.failure = self._describe(offset)
        return self.failure

    def _settle(self) -> StageFailure | None:
        """A refused value under tolerant parsing: read (stop checking), unreadable (cut), or
        not ended yet (wait)."""
        from instructor_py.pipeline.tolerant import ParseResult, parse_partial

        assert self._suspect is not None and self._tolerant is not None
        offset, path = self._suspect
        text = "".join(self._text)
        result = parse_partial(text, self._tolerant)
        if isinstance(result, ParseResult) and _holds(result.value, path):
            self._off = True
            return None
        if not isinstance(result, ParseResult) or len(text.encode("utf-8")) - offset > BATCH:
            return self._cut(offset)
        return None

    def _describe(self, offset: int) -> StageFailure:
        document = "".join(self._text).encode("utf-8", "surrogatepass")
        prefix = document[: offset + 1].decode("utf-8", "replace")
        path, in_key = _position(prefix[:-1])
        allowed = describe(_schema_at(self._schema, path), in_key)
        where = prefix[-24:]
        message = (
            f"the answer stopped fitting the schema at {where!r} (byte {offset} of the JSON); "
            f"{allowed}"
        )
        return StageFailure("schema", (FieldError(json_path(path), message),))


def _holds(value: Any, path: tuple[Any, ...]) -> bool:
    """Whether ``value`` has something at ``path`` (keys and list indexes)."""
    for step in path:
        if (isinstance(value, dict) and step in value) or (
            isinstance(value, list) and isinstance(step, int) and 0 <= step < len(value)
        ):
            value = value[step]
        else:
            return False
    return True


def _position(text: str) -> tuple[tuple[Any, ...], bool]:
    parser = IncrementalJsonParser(snapshots=False)
    try:
        parser.feed(text)
    except JsonStreamError:
        return (), False
    return parser.position()


def _schema_at(schema: Any, path: tuple[Any, ...]) -> Any:
    """The sub-schema for ``path`` (first matching branch of a combinator; ``{}`` if unknown)."""
    root = schema
    node = _resolved(root, schema)
    for part in path:
        node = _branch(root, node, part)
        if node is None:
            return {}
    return node


def _resolved(root: Any, node: Any) -> Any:
    for _ in range(32):
        if not isinstance(node, Mapping) or not isinstance(node.get("$ref"), str):
            return node
        target: Any = root
        for piece in [p for p in node["$ref"].lstrip("#").split("/") if p]:
            target = target.get(piece) if isinstance(target, Mapping) else None
        node = target
    return node


def _branch(root: Any, node: Any, part: Any) -> Any:
    node = _resolved(root, node)
    if not isinstance(node, Mapping):
        return None
    for combinator in ("anyOf", "oneOf", "allOf"):
        for option in node.get(combinator) or ():
            found = _branch(root, option, part)
            if found is not None:
                return found
    if isinstance(part, int):
        items = node.get("items")
        return _resolved(root, items) if isinstance(items, Mapping) else None
    properties = node.get("properties")
    if isinstance(properties, Mapping) and part in properties:
        return _resolved(root, properties[part])
    extra = node.get("additionalProperties")
    return _resolved(root, extra) if isinstance(extra, Mapping) else None


def describe(schema: Any, in_key: bool) -> str:
    """What ``schema`` allows, in words the model can act on."""
    if not isinstance(schema, Mapping):
        return "the value does not fit the schema here"
    properties = schema.get("properties")
    if in_key and isinstance(properties, Mapping):
        return f"allowed keys here: {', '.join(map(repr, properties))}"
    options = schema.get("enum") if "const" not in schema else [schema["const"]]
    if isinstance(options, list):
        return f"the value must be one of {options!r}"
    parts: list[str] = []
    kinds = schema.get("type")
    if kinds is not None:
        parts.append(
            f"expected type {kinds!r}"
            if isinstance(kinds, str)
            else f"expected one of the types {kinds!r}"
        )
    for bound, words in (("maxLength", "characters"), ("maxItems", "items")):
        if isinstance(schema.get(bound), int):
            parts.append(f"at most {schema[bound]} {words}")
    branches = [b for c in ("anyOf", "oneOf") for b in schema.get(c) or ()]
    if branches and not parts:
        types = [b.get("type") for b in branches if isinstance(b, Mapping) and b.get("type")]
        if types:
            parts.append(f"expected one of the types {types!r}")
    return "; ".join(parts) or "the value does not fit the schema here"
