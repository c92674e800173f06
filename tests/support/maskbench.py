"""MaskBench-style scoring of a token-mask engine, independent of instructor_py.

The scoring follows ``shared/maskbench/README.md`` (and llguidance's MaskBench runner): compile the
schema once; for each test instance serialize ``data`` as compact JSON (``separators=(",", ":")``,
``ensure_ascii=False``), tokenize it without special tokens, then walk the tokens through a *fresh*
matcher: before each token the mask is computed and the token must be allowed by it and then accepted
by the matcher. After the last token the matcher must be accepting and the mask must allow an
end-of-sequence token. An instance that passes all of this is *accepted*; one that fails anywhere is
*rejected*.

Outcomes per instance:

- valid and accepted, invalid and rejected: pass;
- valid and rejected: false reject (the engine would block output the schema allows);
- invalid and accepted by an exact handle: false accept (the worst outcome: a model could be steered
  into output that fails validation);
- invalid and accepted by a relaxed handle (``exact=False``): expected, counted as ``relaxed_accepts``
  (the SDK validates and retries for such handles);
- the mask allowing a token that ``accept_token`` then refuses, or a matcher that is accepting while
  its mask allows no end-of-sequence token: an inconsistency, always an error;
- a valid instance rejected as serialized but accepted with its object keys in the schema's
  ``properties`` order (llguidance's property order; MaskBench reordered its instances the same
  way): accepted, and counted as ``reordered`` (see ``key_order.py``);
- a token refused by the mask that ``validate_tokens`` would accept: counted as ``mask_stricter``
  (information, not an error: llguidance deliberately masks out non-canonical tokens that are a
  strict prefix of forced bytes, e.g. ``":`` when ``":"`` is forced; a mask stricter than the
  parser is safe, and the instance is still scored by the mask, as MaskBench does).

A schema the engine cannot compile is a compile error, never a pass. A schema passes when it
compiled and all its instances passed.

Everything engine-specific comes in through :class:`EngineUnderTest` (a compile function and the
tokenizer), so the same code scores the orchestrator, raw llguidance or any other engine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from tests.support.key_order import reorder_like_schema

JsonSchema = dict[str, Any] | bool


class MaskMatcher(Protocol):
    """The part of a CBISON-shaped matcher that scoring needs."""

    def fill_next_token_bitmask(self, bitmask: Any, index: int = 0) -> None: ...

    def accept_token(self, token_id: int) -> bool: ...

    def is_accepting(self) -> bool: ...


@dataclass(frozen=True)
class CompiledSchema:
    """What an engine returns for one schema: a factory of fresh matchers and its exactness."""

    new_matcher: Callable[[], MaskMatcher]
    exact: bool
    backend: str
    note: str = ""  # e.g. why the engine compiled a relaxed constraint


@dataclass(frozen=True)
class EngineUnderTest:
    """An engine to score: ``compile`` raises any exception to signal a compile error."""

    name: str
    compile: Callable[[JsonSchema], CompiledSchema]
    tokenize: Callable[[str], list[int]]
    vocab_size: int
    eos_token_ids: tuple[int, ...]


@dataclass(frozen=True)
class Instance:
    description: str
    valid: bool
    data: Any


@dataclass(frozen=True)
class MaskbenchCase:
    name: str
    subset: str
    schema: JsonSchema
    instances: tuple[Instance, ...]


_NUMBERED = re.compile(r"^(?P<subset>.+?)_\d+\.json$")


def subset_of(file_name: str) -> str:
    """The subset a MaskBench file belongs to: the prefix before ``---``, else before ``_<n>``."""
    if "---" in file_name:
        return file_name.split("---", 1)[0]
    match = _NUMBERED.match(file_name)
    if match is not None:
        return match.group("subset")
    return file_name.removesuffix(".json")


def find_maskbench_dir(start: Path) -> Path | None:
    """``$MASKBENCH_DIR`` style lookup: ``<ancestor>/shared/maskbench`` for the nearest ancestor."""
    for parent in (start, *start.parents):
        candidate = parent / "shared" / "maskbench"
        if (candidate / "README.md").is_file():
            return candidate
    return None


def load_cases(directory: Path) -> list[MaskbenchCase]:
    """All ``*.json`` cases of a MaskBench folder, sorted by file name (deterministic)."""
    cases: list[MaskbenchCase] = []
    for path in sorted(directory.glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        instances = tuple(
            Instance(str(t.get("description", "")), bool(t["valid"]), t["data"])
            for t in raw.get("tests", [])
        )
        cases.append(MaskbenchCase(path.name, subset_of(path.name), raw["schema"], instances))
    return cases


def serialize_instance(data: Any) -> str:
    """Compact JSON, the serialization every whitespace policy must accept."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def allocate_bitmask(vocab_size: int) -> NDArray[np.int32]:
    return np.zeros((1, (vocab_size + 31) // 32), dtype=np.int32)


def token_allowed(bitmask: NDArray[np.int32], token_id: int, index: int = 0) -> bool:
    word = int(bitmask[index, token_id >> 5])
    return (word >> (token_id & 31)) & 1 == 1


def allowed_token_ids(bitmask: NDArray[np.int32], index: int = 0) -> NDArray[np.int64]:
    """Ids of the tokens allowed by row ``index`` (bit i of word w is token 32*w+i)."""
    bits = np.unpackbits(bitmask[index].view(np.uint8), bitorder="little")
    return np.flatnonzero(bits)


@dataclass(frozen=True)
class WalkResult:
    accepted: bool
    tokens: int
    rejected_at: int | None = None
    reason: str = ""
    inconsistency: str | None = None
    mask_stricter: bool = False


def walk(
    matcher: MaskMatcher,
    tokens: Sequence[int],
    bitmask: NDArray[np.int32],
    eos_token_ids: Iterable[int],
) -> WalkResult:
    """Feed ``tokens`` one by one, checking each against the mask; then check the end."""
    validate = getattr(matcher, "validate_tokens", None)
    for i, token in enumerate(tokens):
        bitmask.fill(0)
        matcher.fill_next_token_bitmask(bitmask, 0)
        if not token_allowed(bitmask, token):
            stricter = bool(callable(validate) and validate([token]) != 0)
            return WalkResult(False, i, i, "masked out", None, stricter)
        if not matcher.accept_token(token):
            return WalkResult(
                False, i, i, "refused", f"token {i} (id {token}) allowed by the mask but refused"
            )
    if not matcher.is_accepting():
        return WalkResult(False, len(tokens), len(tokens), "not accepting at the end")
    bitmask.fill(0)
    matcher.fill_next_token_bitmask(bitmask, 0)
    if not any(token_allowed(bitmask, eos) for eos in eos_token_ids):
        return WalkResult(
            False, len(tokens), len(tokens), "accepting but EOS masked out",
            "matcher is accepting but the mask allows no end-of-sequence token",
        )
    return WalkResult(True, len(tokens))


@dataclass(frozen=True)
class InstanceOutcome:
    case: str
    index: int
    valid: bool
    result: WalkResult
    reordered: bool = False  # accepted only with its keys in schema order (see key_order.py)

    @property
    def passed(self) -> bool:
        return self.result.inconsistency is None and self.result.accepted == self.valid


@dataclass(frozen=True)
class CaseScore:
    case: str
    subset: str
    compiled: bool
    exact: bool = False
    backend: str = ""
    compile_error: str | None = None
    compile_ms: float = 0.0
    outcomes: tuple[InstanceOutcome, ...] = ()
    note: str = ""

    @property
    def false_accepts(self) -> tuple[InstanceOutcome, ...]:
        return tuple(o for o in self.outcomes if self.exact and not o.valid and o.result.accepted)

    @property
    def relaxed_accepts(self) -> tuple[InstanceOutcome, ...]:
        return tuple(
            o for o in self.outcomes if not self.exact and not o.valid and o.result.accepted
        )

    @property
    def false_rejects(self) -> tuple[InstanceOutcome, ...]:
        return tuple(o for o in self.outcomes if o.valid and not o.result.accepted)

    @property
    def inconsistencies(self) -> tuple[InstanceOutcome, ...]:
        return tuple(o for o in self.outcomes if o.result.inconsistency is not None)

    @property
    def reordered(self) -> tuple[InstanceOutcome, ...]:
        return tuple(o for o in self.outcomes if o.reordered)

    @property
    def mask_stricter(self) -> tuple[InstanceOutcome, ...]:
        return tuple(o for o in self.outcomes if o.result.mask_stricter)

    @property
    def passed(self) -> bool:
        """Compiled, every valid instance accepted, every invalid one rejected (MaskBench's rule:
        a schema without test instances passes when it compiles)."""
        return self.compiled and all(o.passed for o in self.outcomes)

    @property
    def tokens(self) -> int:
        return sum(o.result.tokens for o in self.outcomes)


def score_case(engine: EngineUnderTest, case: MaskbenchCase, clock: Callable[[], float]) -> CaseScore:
    """Compile ``case.schema`` with ``engine`` and walk every instance through a fresh matcher."""
    start = clock()
    try:
        compiled = engine.compile(case.schema)
    except Exception as exc:  # any failure to compile is a compile error, by definition
        message = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        return CaseScore(case.name, case.subset, False, compile_error=message,
                         compile_ms=(clock() - start) * 1000)
    compile_ms = (clock() - start) * 1000
    bitmask = allocate_bitmask(engine.vocab_size)
    outcomes = []
    for i, instance in enumerate(case.instances):
        text = serialize_instance(instance.data)
        result = walk(compiled.new_matcher(), engine.tokenize(text), bitmask, engine.eos_token_ids)
        reordered = False
        if instance.valid and not result.accepted and result.inconsistency is None:
            text2 = serialize_instance(reorder_like_schema(instance.data, case.schema))
            if text2 != text:
                retry = walk(compiled.new_matcher(), engine.tokenize(text2), bitmask,
                             engine.eos_token_ids)
                if retry.accepted or retry.inconsistency is not None:
                    result, reordered = retry, retry.accepted
        outcomes.append(InstanceOutcome(case.name, i, instance.valid, result, reordered))
    return CaseScore(case.name, case.subset, True, compiled.exact, compiled.backend,
                     compile_ms=compile_ms, outcomes=tuple(outcomes), note=compiled.note)


@dataclass
class SubsetScore:
    subset: str
    schemas: int = 0
    passes: int = 0
    compile_errors: int = 0
    relaxed: int = 0
    untested: int = 0
    valid: int = 0
    valid_accepted: int = 0
    invalid: int = 0
    invalid_rejected: int = 0
    false_accepts: int = 0
    relaxed_accepts: int = 0
    false_rejects: int = 0
    inconsistencies: int = 0
    mask_stricter: int = 0
    reordered: int = 0
    tokens: int = 0
    backends: dict[str, int] = field(default_factory=dict)

    def add(self, score: CaseScore) -> None:
        self.schemas += 1
        self.passes += score.passed
        self.compile_errors += not score.compiled
        if not score.compiled:
            return
        self.backends[score.backend] = self.backends.get(score.backend, 0) + 1
        self.relaxed += not score.exact
        self.untested += not score.outcomes
        for o in score.outcomes:
            if o.valid:
                self.valid += 1
                self.valid_accepted += o.result.accepted
            else:
                self.invalid += 1
                self.invalid_rejected += not o.result.accepted
        self.false_accepts += len(score.false_accepts)
        self.relaxed_accepts += len(score.relaxed_accepts)
        self.false_rejects += len(score.false_rejects)
        self.inconsistencies += len(score.inconsistencies)
        self.mask_stricter += len(score.mask_stricter)
        self.reordered += len(score.reordered)
        self.tokens += score.tokens


def summarize(scores: Iterable[CaseScore]) -> list[SubsetScore]:
    """Per-subset totals (sorted by subset name) followed by a ``TOTAL`` row."""
    by_subset: dict[str, SubsetScore] = {}
    total = SubsetScore("TOTAL")
    for score in scores:
        by_subset.setdefault(score.subset, SubsetScore(score.subset)).add(score)
        total.add(score)
    return [*(by_subset[k] for k in sorted(by_subset)), total]


_COLUMNS = (
    ("subset", "subset"), ("schemas", "schemas"), ("passes", "pass"),
    ("compile_errors", "compile_err"), ("relaxed", "relaxed"), ("untested", "no_tests"),
    ("valid", "valid"),
    ("false_rejects", "false_rej"), ("reordered", "reordered"), ("invalid", "invalid"), ("false_accepts", "FALSE_ACC"),
    ("relaxed_accepts", "relaxed_acc"), ("inconsistencies", "incons"), ("mask_stricter", "mask<parser"),
    ("tokens", "tokens"),
)


def format_table(rows: Sequence[SubsetScore]) -> str:
    """A Markdown table of :func:`summarize` rows."""
    header = "| " + " | ".join(title for _, title in _COLUMNS) + " |"
    rule = "|" + "|".join("---" if i == 0 else "---:" for i in range(len(_COLUMNS))) + "|"
    lines = [header, rule]
    for row in rows:
        cells = [str(getattr(row, attr)) for attr, _ in _COLUMNS]
        if row.subset == "TOTAL":
            cells = [f"**{c}**" for c in cells]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def sample_cases(cases: Sequence[MaskbenchCase], every: int) -> list[MaskbenchCase]:
    """A deterministic sample: every ``every``-th case of each subset, in file-name order."""
    seen: dict[str, int] = {}
    picked = []
    for case in cases:
        n = seen.get(case.subset, 0)
        seen[case.subset] = n + 1
        if n % every == 0:
            picked.append(case)
    return picked
