"""`load_factory`: open a grammar engine's shared library and build its CBISON factory."""

from __future__ import annotations

import ctypes
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from instructor_py.common.errors import CbisonError
from instructor_py.engine.cbison.abi import NewFactoryFn
from instructor_py.engine.cbison.consume import CbisonFactory
from instructor_py.engine.cbison.tokenizer import export_tokenizer
from instructor_py.engine.tokenizer import TokenizerInfo


def load_factory(
    library_path: str | Path,
    prefix: str,
    tokenizer: Any,
    options: Mapping[str, Any] | str | None = None,
) -> CbisonFactory:
    """Open a grammar engine's shared library and build its factory for ``tokenizer``.

    Calls ``<prefix>_cbison_new_factory(tokenizer, options_json, err, errlen)``. ``tokenizer`` is
    a :class:`~instructor_py.engine.tokenizer.TokenizerInfo` (exported for the call; the engine
    keeps its own reference), an exported or consumed CBISON tokenizer (anything with
    ``.address``) or a raw ``cbison_tokenizer`` address. ``options`` is a dict (sent as JSON) or
    JSON text. The engine's error text is raised on failure.
    """
    try:
        lib = ctypes.CDLL(str(library_path))
    except OSError as exc:
        raise CbisonError(
            f"could not open the CBISON engine library {library_path}: {exc}"
        ) from exc
    symbol = f"{prefix}_cbison_new_factory"
    try:
        raw = getattr(lib, symbol)
    except AttributeError:
        raise CbisonError(
            f"{library_path} does not export {symbol}; check the engine's prefix."
        ) from None
    new_factory = NewFactoryFn(ctypes.cast(raw, ctypes.c_void_p).value or 0)
    exported = export_tokenizer(tokenizer) if isinstance(tokenizer, TokenizerInfo) else None
    address = exported.address if exported is not None else getattr(tokenizer, "address", tokenizer)
    if not isinstance(address, int) or not address:
        raise CbisonError(
            "load_factory: tokenizer must be a TokenizerInfo, a CBISON tokenizer or its address."
        )
    if isinstance(options, Mapping):
        options = json.dumps(dict(options))
    err = ctypes.create_string_buffer(4096)
    try:
        ptr = new_factory(
            address, None if options is None else options.encode("utf-8"), err, len(err)
        )
    finally:
        if exported is not None:
            exported.close()  # the engine took its own reference if it kept the tokenizer
    if not ptr:
        msg = err.value.decode("utf-8", "replace") or "no error message"
        raise CbisonError(f"{symbol} failed: {msg}")
    return CbisonFactory(int(ptr), owned=True, keepalive=lib)
