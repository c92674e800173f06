"""BFCL simple_python: loading the cases, their JSON schemas, the prompt, and the AST-checker score.

Shared by ``benchmarks/bfcl.py`` (and its instructor subprocess) and the tests of the scorer. Stdlib
only, so the bench environment (which has Python ``instructor``, not this package) can import it.

Scoring follows BFCL's AST checker for these cases (see ``shared/bfcl/README.md``): the answer is
the argument object; it is correct when it has no argument outside the ground truth, every
ground-truth argument it gives has a value among the allowed ones, and every argument it leaves out
has ``""`` among its allowed values. Strings compare after lower-casing and removing spaces and the
punctuation ``,./-_*^`` and quotes; an int is accepted where a float is allowed (not the reverse);
lists and objects compare element by element.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_TYPES = {"dict": "object", "float": "number", "tuple": "array"}
_STRIP = re.compile(r"[ ,./\-_*^'\"]")


@dataclass(frozen=True)
class BfclCase:
    id: str
    question: str
    name: str
    description: str
    parameters: dict[str, Any]  # BFCL's own spelling
    ground_truth: dict[str, list[Any]]

    @property
    def schema(self) -> dict[str, Any]:
        return to_json_schema(self.parameters)

    def messages(self) -> list[dict[str, str]]:
        """The prompt every column gets: the function's name and description, then the question."""
        return [
            {"role": "system", "content": f"Function: {self.name}\n{self.description}"},
            {"role": "user", "content": self.question},
        ]


def raw_chat_handler(llm: Any, template: str) -> Any:
    """llama-cpp-python's Jinja2 chat handler for ``template`` with the model's own BOS/EOS texts
    (an empty EOS text would be an empty stop string: every answer would stop at once). Used by
    both environments (llama_cpp is imported here, on call)."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    def text(token: int) -> str:
        return str(llm.detokenize([token], special=True).decode("utf-8", "replace"))

    return Jinja2ChatFormatter(
        template=template,
        eos_token=text(llm.token_eos()),
        bos_token=text(llm.token_bos()),
        stop_token_ids=[llm.token_eos()],
    ).to_chat_handler()


def find_bfcl_dir(start: Path) -> Path | None:
    for parent in [start, *start.parents]:
        candidate = parent / "shared" / "bfcl"
        if (candidate / "simple_python.jsonl").is_file():
            return candidate
    return None


def load_cases(directory: Path) -> list[BfclCase]:
    answers = {}
    for line in (directory / "simple_python_answers.jsonl").read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            answers[row["id"]] = row["ground_truth"][0]
    cases = []
    for line in (directory / "simple_python.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        function = row["function"][0]
        question = [m for m in row["question"][0] if m["role"] == "user"][-1]["content"]
        truth = answers[row["id"]]
        cases.append(
            BfclCase(
                id=row["id"],
                question=question,
                name=function["name"],
                description=function.get("description", ""),
                parameters=function["parameters"],
                ground_truth=next(iter(truth.values())),
            )
        )
    return cases


def to_json_schema(node: Any) -> Any:
    """BFCL's parameter schema as JSON Schema: dict->object, float->number, tuple->array,
    any->no type; BFCL-only keys (``optional``) dropped."""
    if isinstance(node, list):
        return [to_json_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "type":
            if value == "any":
                continue
            out["type"] = _TYPES.get(value, value)
        elif key == "properties":
            out["properties"] = {k: to_json_schema(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = to_json_schema(value)
        elif key == "optional":
            continue
        else:
            out[key] = value
    if out.get("type") == "array" and "items" not in out:
        out["items"] = {}
    if out.get("type") == "number" and "default" in out and isinstance(out["default"], str):
        out.pop("default")  # BFCL writes some defaults as text; a schema default is informational
    return out


def _norm(value: str) -> str:
    return _STRIP.sub("", value.lower())


def value_matches(value: Any, allowed: Any) -> bool:
    """One given value against one allowed value, BFCL-style."""
    if isinstance(allowed, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(allowed, bool) and value == allowed
    if isinstance(allowed, float):
        return isinstance(value, int | float) and float(value) == allowed
    if isinstance(allowed, int):
        return isinstance(value, int) and value == allowed
    if isinstance(allowed, str):
        return isinstance(value, str) and _norm(value) == _norm(allowed)
    if isinstance(allowed, list):
        return (
            isinstance(value, list)
            and len(value) == len(allowed)
            and all(value_matches(v, a) for v, a in zip(value, allowed, strict=True))
        )
    if isinstance(allowed, dict):
        if not isinstance(value, dict):
            return False
        return _object_matches(value, {k: v if isinstance(v, list) else [v] for k, v in allowed.items()})
    return bool(value == allowed)


def _object_matches(answer: dict[str, Any], truth: dict[str, list[Any]]) -> bool:
    if any(key not in truth for key in answer):
        return False
    for key, allowed in truth.items():
        if key in answer:
            if not any(value_matches(answer[key], a) for a in allowed if a != ""):
                return False
        elif "" not in allowed:
            return False
    return True


def score(answer: Any, ground_truth: dict[str, list[Any]]) -> bool:
    """Whether ``answer`` (the argument object, or None when nothing parsed) is correct."""
    return isinstance(answer, dict) and _object_matches(answer, ground_truth)
