"""Preflight rules: llama.cpp server."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from instructor_py.schema.preflight_report import PreflightReport
from instructor_py.schema.preflight_rules.walk import (
    CHECKED_AFTER,
    Node,
    Pass,
    Path,
    remote_refs,
    walk,
)

# --- llama.cpp server ------------------------------------------------------------------------

_LLAMA_IGNORED = frozenset({"not", "if", "then", "else", "dependentRequired", "dependentSchemas",
                            "contains", "minContains", "maxContains", "uniqueItems",
                            "patternProperties", "propertyNames", "multipleOf",
                            "unevaluatedProperties", "minProperties", "maxProperties"})
_LOOKAROUND = re.compile(r"\(\?[=!<]|\\[1-9]|\\k<|\(\?P[=<]")


def llama_cpp_server(schema: Mapping[str, Any], variant: str = "json_schema") -> PreflightReport:
    """llama.cpp server ``json_schema`` / ``response_format`` (json-schema-to-grammar)."""
    p = Pass("llama-cpp-server", variant, schema)
    remote_refs(p)

    def visit(node: Node, path: Path) -> Node:
        for key in sorted(set(node) & _LLAMA_IGNORED):
            node.pop(key)
            p.rewrite(path, key, "json-schema-to-grammar ignores it; " + CHECKED_AFTER)
        pattern = node.get("pattern")
        if isinstance(pattern, str):
            if _LOOKAROUND.search(pattern):
                node.pop("pattern")
                p.rewrite(path, "pattern", "lookaround/backreference the grammar cannot express; "
                          + CHECKED_AFTER)
            elif not (pattern.startswith("^") and pattern.endswith("$")):
                head = "" if pattern.startswith("^") else ".*"
                tail = "" if pattern.endswith("$") and not pattern.endswith("\\$") else ".*"
                body = pattern.removeprefix("^")
                if tail == "":
                    body = body.removesuffix("$")
                node["pattern"] = f"^{head}({body}){tail}$"
                p.rewrite(path, "pattern", "anchored as ^...$ (the grammar needs anchors; same "
                          "meaning as the unanchored search)")
        return node

    p.root = walk(p.root, (), visit)
    return p.report(schema)
