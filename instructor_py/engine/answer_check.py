"""A byte-level matcher for answers written elsewhere (a remote model's stream), from the engine.

:func:`checking_grammar` compiles a JSON schema into a Lark grammar (llguidance dialect) that
accepts **every** JSON document the schema validates, in any key order and any spelling
(whitespace, escapes, number forms), and rejects a prefix as soon as no continuation can be
valid for one of these reasons:

- a value of a type the schema does not allow there (``"25"`` where an integer goes);
- a key that ``additionalProperties: false`` forbids;
- a string that no option of an ``enum``/``const`` can complete;
- a string longer than ``maxLength``, an array longer than ``maxItems``.

Everything else (required keys, formats, patterns, numeric bounds, ``allOf`` intersections,
``not``, conditionals, duplicate keys) is left to the response pipeline: the grammar is a
superset of the schema, so checking never cuts a valid answer.

:class:`AnswerMatcher` runs it over a 256-byte tokenizer (one token per byte) through the
engine's :class:`~instructor_py.engine.orchestrator.StructuredOutputOrchestrator` (llguidance
backend; compiled grammars cached) and reports the offset of the first byte that cannot be
part of a valid answer. The SDK reaches it through the small interface in
:mod:`instructor_py.streaming.check`, so it imports without this extra.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from instructor_py.constraints.spec import ConstraintSpec
from instructor_py.engine.backends.llguidance_backend import LLGuidanceBackend
from instructor_py.engine.handle import CompiledGrammarHandle
from instructor_py.engine.orchestrator import StructuredOutputOrchestrator
from instructor_py.engine.tokenizer import TokenizerInfo

__all__ = ["AnswerMatcher", "byte_orchestrator", "checking_grammar"]

MAX_BOUNDED_LENGTH = 256
"""``maxLength`` up to this is enforced in the grammar (a bounded repetition per string)."""
MAX_BOUNDED_ITEMS = 64
"""``maxItems`` up to this is enforced."""

_COMMON = r"""
%ignore /[ \t\n\r]+/
any: obj_any | arr_any | STRING | NUMBER | "true" | "false" | "null"
obj_any: "{" (STRING ":" any ("," STRING ":" any)*)? "}"
arr_any: "[" (any ("," any)*)? "]"
STRING: /"(\\(["\\\/bfnrt]|u[0-9a-fA-F]{4})|[^"\\\x00-\x1F])*"/
ESCAPED: STRING & /"[^"]*\\.*/
NUMBER: /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/
"""
_CHAR = r'(\\(["\\\/bfnrt]|u[0-9a-fA-F]{4})|[^"\\\x00-\x1F])'


def _literal(value: Any) -> str:
    """A Lark string literal matching the JSON encoding of ``value`` exactly."""
    return json.dumps(json.dumps(value, ensure_ascii=False), ensure_ascii=False)


def _spellings(value: str) -> list[str]:
    """The literals of a JSON string's common encodings (escaped variants: :data:`ESCAPED`)."""
    return list(dict.fromkeys((_literal(value), json.dumps(json.dumps(value)))))


class _Compiler:
    def __init__(self, root: Any) -> None:
        self.root = root
        self.rules: list[str] = []
        self.names: dict[int, str] = {}
        self.terminals = 0

    def rule(self, body: str) -> str:
        name = f"n{len(self.rules)}"
        self.rules.append(f"{name}: {body}")
        return name

    def terminal(self, body: str) -> str:
        self.terminals += 1
        name = f"T{self.terminals}"
        self.rules.append(f"{name}: {body}")
        return name

    def node(self, schema: Any) -> str:
        """The rule name for ``schema`` (one rule per schema object; recursion through $ref)."""
        if not isinstance(schema, Mapping):
            return "any"  # true / false / junk: the pipeline decides
        key = id(schema)
        if key in self.names:
            return self.names[key]
        index = len(self.rules)
        name = self.names[key] = f"n{index}"
        self.rules.append("")  # reserved: filled below (a $ref may come back here)
        self.rules[index] = f"{name}: {self.body(schema)}"
        return name

    def body(self, schema: Mapping[str, Any]) -> str:
        ref = schema.get("$ref")
        if isinstance(ref, str):
            target = self.resolve(ref)
            return self.node(target) if target is not None else "any"
        for combinator in ("anyOf", "oneOf"):
            options = schema.get(combinator)
            if isinstance(options, list) and options:
                return " | ".join(self.node(option) for option in options)
        all_of = schema.get("allOf")
        if isinstance(all_of, list) and all_of and not _has_own_keywords(schema):
            return self.node(all_of[0])  # one conjunct: a superset of the intersection
        if "const" in schema:
            return self.enum([schema["const"]])
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self.enum(schema["enum"])
        types = schema.get("type")
        if isinstance(types, str):
            types = [types]
        if not isinstance(types, list):
            types = ["object", "array", "string", "number", "boolean", "null"]
        return " | ".join(dict.fromkeys(self.typed(t, schema) for t in types))

    def typed(self, kind: Any, schema: Mapping[str, Any]) -> str:
        if kind == "object":
            return self.object(schema)
        if kind == "array":
            return self.array(schema)
        if kind == "string":
            limit = schema.get("maxLength")
            if isinstance(limit, int) and 0 <= limit <= MAX_BOUNDED_LENGTH:
                return self.terminal(f'/"{_CHAR}{{0,{limit}}}"/')
            return "STRING"
        if kind in ("number", "integer"):
            return "NUMBER"
        if kind == "boolean":
            return '"true" | "false"'
        if kind == "null":
            return '"null"'
        return "any"

    def enum(self, options: list[Any]) -> str:
        alternatives: list[str] = []
        for option in options:
            if isinstance(option, str):
                alternatives.extend(_spellings(option))
                alternatives.append("ESCAPED")
            elif isinstance(option, bool) or option is None:
                alternatives.append(_literal(option))
            elif isinstance(option, int | float):
                alternatives.append("NUMBER")  # 1, 1.0 and 1e0 are the same number
            elif isinstance(option, dict):
                alternatives.append("obj_any")
            else:
                alternatives.append("arr_any")
        return " | ".join(dict.fromkeys(alternatives))

    def object(self, schema: Mapping[str, Any]) -> str:
        properties = schema.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        extra = schema.get("additionalProperties", True)
        members: list[str] = []
        literals: list[str] = []
        for name, sub in properties.items():
            value = self.node(sub)
            for spelling in _spellings(str(name)):
                literals.append(spelling)
                members.append(f"{spelling} \":\" {value}")
        members.append('ESCAPED ":" any')  # an escaped key may spell any name
        if extra is not False or schema.get("patternProperties"):
            other = self.terminal(
                f"STRING & ~({' | '.join(literals)})" if literals else "STRING"
            )
            value = self.node(extra) if isinstance(extra, Mapping) else "any"
            members.append(f'{other} ":" {value}')
        member = self.rule(" | ".join(members))
        return f'"{{" ({member} ("," {member})*)? "}}"'

    def array(self, schema: Mapping[str, Any]) -> str:
        items = schema.get("items")
        item = self.node(items) if isinstance(items, Mapping) and "prefixItems" not in schema else "any"
        limit = schema.get("maxItems")
        if isinstance(limit, int) and 1 <= limit <= MAX_BOUNDED_ITEMS:
            more = f'("," {item}){{0,{limit - 1}}}' if limit > 1 else ""
            return f'"[" ({item} {more})? "]"'
        if limit == 0:
            return '"[" "]"'
        return f'"[" ({item} ("," {item})*)? "]"'

    def resolve(self, ref: str) -> Any:
        """A local JSON pointer (``#/$defs/X``); ``None`` for anything else."""
        if not ref.startswith("#"):
            return None
        target: Any = self.root
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(target, Mapping) and part in target:
                target = target[part]
            elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                target = target[int(part)]
            else:
                return None
        return target


def _has_own_keywords(schema: Mapping[str, Any]) -> bool:
    structural = {"type", "properties", "items", "enum", "const", "additionalProperties"}
    return bool(structural & schema.keys())


def checking_grammar(schema: Mapping[str, Any]) -> str:
    """The Lark grammar accepting every instance of ``schema`` (see the module docstring)."""
    compiler = _Compiler(schema)
    start = compiler.node(schema)
    return "\n".join([f"start: {start}", *compiler.rules, _COMMON])


_BYTES: TokenizerInfo | None = None
_ORCHESTRATOR: StructuredOutputOrchestrator | None = None
_LOCK = threading.Lock()


def byte_orchestrator() -> StructuredOutputOrchestrator:
    """The process-wide orchestrator over a 256-byte tokenizer (token ``i`` is byte ``i``; 256 is
    the end of sequence), llguidance first; its LRU keeps the compiled checking grammars."""
    global _BYTES, _ORCHESTRATOR
    with _LOCK:
        if _ORCHESTRATOR is None:
            _BYTES = TokenizerInfo.from_token_bytes(
                [bytes([i]) for i in range(256)] + [b""], eos_token_ids=256, name="bytes"
            )
            _ORCHESTRATOR = StructuredOutputOrchestrator(
                _BYTES, backends=[LLGuidanceBackend(_BYTES)], cache_size=128
            )
        return _ORCHESTRATOR


class AnswerMatcher:
    """Feeds answer bytes to the checking grammar of one schema.

    :meth:`feed` returns ``None`` while the bytes so far can still begin a valid answer (or the
    answer is complete: later bytes are not part of it), else the offset of the first byte that
    cannot; ``error`` holds the matcher's own description.
    """

    __slots__ = ("_handle", "_matcher", "_raw", "consumed", "error")

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self._start(
            byte_orchestrator().compile(ConstraintSpec.grammar(checking_grammar(schema)))
        )

    def _start(self, handle: CompiledGrammarHandle) -> None:
        self._handle = handle
        self._matcher = handle.matcher
        # one native pass per batch: llguidance's try_consume_tokens takes the bytes up to the
        # first it refuses (the generic Matcher protocol would need validate + accept)
        inner = getattr(handle.matcher, "inner", handle.matcher)
        self._raw: Any = getattr(inner, "raw", None)
        self.consumed = 0
        self.error: str | None = None

    def fresh(self) -> AnswerMatcher:
        """A matcher of the same grammar at the start (no recompilation)."""
        new = AnswerMatcher.__new__(AnswerMatcher)
        new._start(self._handle.fresh())
        return new

    @property
    def exact(self) -> bool:
        """Whether the grammar compiled as written (a relaxed compile is never used to cut)."""
        return self._handle.exact

    def feed(self, data: bytes) -> int | None:
        tokens = list(data)
        if self._raw is not None:
            accepted = int(self._raw.try_consume_tokens(tokens))
            accepting = bool(self._raw.is_accepting())
        else:
            accepted = self._matcher.validate_tokens(tokens)
            if accepted:
                self._matcher.accept_tokens(tokens[:accepted])
            accepting = self._matcher.is_accepting()
        if accepted == len(tokens) or accepting:
            self.consumed += accepted
            return None
        offset = self.consumed + accepted
        self.consumed = offset
        self.error = f"byte {data[accepted:accepted + 1]!r} cannot continue a valid answer"
        return offset
