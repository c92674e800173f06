"""CBISON: the C binary interface for structured-output engines, both ways.

- Consuming any C engine: :class:`CbisonFactory` (a ``cbison_factory`` address),
  :class:`CbisonMatcher`, :func:`load_factory` (a shared library's
  ``<prefix>_cbison_new_factory``), :class:`CbisonBackend` (an orchestrator backend);
  :class:`CbisonTokenizer` reads an inference system's ``cbison_tokenizer``.
- Exporting ours to any C inference system: :func:`export_tokenizer` (a ``cbison_tokenizer``
  over a TokenizerInfo) and :func:`export_factory` (a ``cbison_factory`` over an orchestrator).
- :mod:`~instructor_py.engine.cbison.abi`: the ctypes mirrors of the structs.
"""

from __future__ import annotations

from pathlib import Path

from instructor_py.engine.cbison.abi import (
    FACTORY_MAGIC,
    TOKENIZER_MAGIC,
    CbisonFactoryStruct,
    CbisonMaskReq,
    CbisonTokenizerStruct,
)
from instructor_py.engine.cbison.backend import CbisonBackend, CbisonBackendMatcher
from instructor_py.engine.cbison.consume import CbisonFactory, CbisonMatcher
from instructor_py.engine.cbison.export import ExportedFactory, export_factory
from instructor_py.engine.cbison.grammar_types import grammar_for_spec, spec_for_grammar
from instructor_py.engine.cbison.loader import load_factory
from instructor_py.engine.cbison.tokenizer import (
    CbisonTokenizer,
    ExportedTokenizer,
    export_tokenizer,
)


def include_dir() -> Path:
    """The folder holding ``cbison_api.h``, our declaration of the CBISON binary interface, for
    C code that uses :func:`export_factory` / :func:`export_tokenizer` (``cc -I<include_dir>``)."""
    return Path(__file__).resolve().parent / "include"


__all__ = [
    "FACTORY_MAGIC",
    "TOKENIZER_MAGIC",
    "CbisonBackend",
    "CbisonBackendMatcher",
    "CbisonFactory",
    "CbisonFactoryStruct",
    "CbisonMaskReq",
    "CbisonMatcher",
    "CbisonTokenizer",
    "CbisonTokenizerStruct",
    "ExportedFactory",
    "ExportedTokenizer",
    "export_factory",
    "export_tokenizer",
    "grammar_for_spec",
    "include_dir",
    "load_factory",
    "spec_for_grammar",
]
