"""Layout: a C program prints offsetof/sizeof of every field from its own declaration
(instructor_py/engine/cbison/include/cbison_api.h, shipped with the package); our ctypes mirrors must match field by field."""

from __future__ import annotations

import ctypes
import subprocess
from pathlib import Path

import pytest

from instructor_py.engine.cbison.abi import STRUCTS, layout
from tests.support.cbison.build import needs_cc

pytestmark = needs_cc


def c_layout(program: Path) -> dict[str, int]:
    out = subprocess.run([str(program)], capture_output=True, text=True, check=True, timeout=30)
    found: dict[str, int] = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if parts[0].endswith("#size"):
            found[parts[0]] = int(parts[1])
        else:
            found[parts[0]] = int(parts[1])
            found[parts[0] + "#size"] = int(parts[2])
    return found


def test_every_field_offset_and_size_match_the_c_declaration(c_build: dict[str, Path]) -> None:
    theirs = c_layout(c_build["layout"])
    ours = layout()
    assert len(theirs) == len(ours) == 3 + 2 * (15 + 26 + 2)  # 3 structs; fields: 15, 26, 2
    mismatched = {k: (ours.get(k), v) for k, v in theirs.items() if ours.get(k) != v}
    assert not mismatched, mismatched


def test_field_order_matches_the_c_declaration(c_build: dict[str, Path]) -> None:
    lines = subprocess.run(
        [str(c_build["layout"])], capture_output=True, text=True, check=True, timeout=30
    ).stdout.splitlines()
    for name, cls in STRUCTS.items():
        c_order = [ln.split()[0].split(".", 1)[1] for ln in lines if ln.startswith(name + ".")]
        assert c_order == [f[0] for f in cls._fields_]


@pytest.mark.skipif(ctypes.sizeof(ctypes.c_void_p) != 8, reason="the sizes below are LP64's")
def test_known_abi_facts_on_this_platform() -> None:
    # the reference header's shape on LP64: reserved arrays and the size_t fields are real
    ours = layout()
    assert ours["cbison_factory.n_vocab#size"] == ours["cbison_factory.mask_byte_len#size"] == 8
    assert ours["cbison_factory.reserved_hd#size"] == 7 * 4
    assert ours["cbison_tokenizer.reserved_hd#size"] == 6 * 4
    assert ours["cbison_tokenizer.tokenize_bytes_requires_utf8#size"] == 1
    assert (
        ours["cbison_factory.reserved_ptr#size"]
        == ours["cbison_tokenizer.reserved_ptr#size"]
        == 16 * 8
    )
    assert ours["cbison_mask_req#size"] == 16
