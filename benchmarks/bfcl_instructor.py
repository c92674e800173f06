"""The Python ``instructor`` column of ``benchmarks/bfcl.py``: instructor 1.17 over llama-cpp-python
in JSON_SCHEMA mode, run in the bench environment (``.venv-bench``), one case per stdin line.

Protocol: the first line is ``{"model_path": ..., "template": <jinja or null>}``; then one line per
case ``{"id": ...}``; each answer line is ``{"id", "answer", "error", "wall_s", "length"}``.
The response model is a pydantic model built from the case's JSON schema (instructor needs one).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Literal, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

import instructor
from bfcl_support import find_bfcl_dir, load_cases, raw_chat_handler
from llama_cpp import Llama
from pydantic import BaseModel, ConfigDict, Field, create_model

_SCALARS: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool}


def to_type(schema: dict[str, Any], name: str) -> Any:
    if "enum" in schema:
        return Literal[tuple(schema["enum"])]
    kind = schema.get("type")
    if kind in _SCALARS:
        return _SCALARS[kind]
    if kind == "array":
        return list[to_type(schema.get("items") or {}, name + "Item")]  # type: ignore[misc]
    if kind == "object":
        if schema.get("properties"):
            return to_model(schema, name)
        return dict[str, Any]
    return Any


def to_model(schema: dict[str, Any], name: str) -> type[BaseModel]:
    required = set(schema.get("required", []))
    fields: dict[str, Any] = {}
    for key, sub in schema.get("properties", {}).items():
        annotation = to_type(sub, name + key.title().replace("_", ""))
        desc = sub.get("description")
        if key in required:
            fields[key] = (annotation, Field(..., description=desc))
        else:
            fields[key] = (Optional[annotation], Field(None, description=desc))  # noqa: UP045
    model: type[BaseModel] = create_model(  # type: ignore[call-overload]
        name, __config__=ConfigDict(extra="forbid"), **fields
    )
    return model


def main() -> None:
    header = json.loads(sys.stdin.readline())
    cases = {c.id: c for c in load_cases(find_bfcl_dir(Path(__file__).resolve()) or Path())}
    llm = Llama(model_path=header["model_path"], n_ctx=4096, verbose=False)
    if header.get("template"):
        llm.chat_handler = raw_chat_handler(llm, header["template"])
    client = instructor.patch(
        create=llm.create_chat_completion_openai_v1, mode=instructor.Mode.JSON_SCHEMA
    )
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        case = cases[json.loads(line)["id"]]
        model = to_model(case.schema, "Arguments")
        answer: Any = None
        error = None
        t0 = time.perf_counter()
        try:
            value = client(  # type: ignore[operator]
                messages=case.messages(),
                response_model=model,
                max_retries=2,
                temperature=0.0,
                max_tokens=1024,
            )
            answer = value.model_dump(exclude_none=True)
        except Exception as exc:  # a failed case is data for the table
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
        wall = time.perf_counter() - t0
        print(json.dumps({"id": case.id, "answer": answer, "error": error, "wall_s": wall}), flush=True)


if __name__ == "__main__":
    main()
