"""Recipe: our constraint engine from C, through CBISON.

CBISON is a C binary interface for grammar engines: a C inference loop that speaks it can use any
engine. ``export_factory`` hands our orchestrator to C as a ``cbison_factory``; the C side
(``cbison_walk.c``, compiled here with ``cc`` against the ``cbison_api.h`` the package ships)
computes masks and consumes tokens. A valid answer walks to the end; an invalid one stops at
the first token the grammar refuses. Needs a C compiler.
"""

from __future__ import annotations

import ctypes
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from instructor_py.local import StructuredOutputOrchestrator, TokenizerInfo, embedded_model_path
from instructor_py.local.cbison import export_factory, include_dir

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}


def main() -> int:
    cc = shutil.which("cc")
    if cc is None:
        print("This recipe compiles C: install a C compiler (cc).")
        return 0
    import llama_cpp

    llama = llama_cpp.Llama(model_path=str(embedded_model_path()), vocab_only=True, verbose=False)
    info = TokenizerInfo.from_llama(llama)
    exported = export_factory(StructuredOutputOrchestrator(info))
    with tempfile.TemporaryDirectory() as tmp:
        lib_path = Path(tmp) / "libwalk.so"
        source = Path(__file__).with_name("cbison_walk.c")
        subprocess.run([cc, "-O2", "-shared", "-fPIC", f"-I{include_dir()}", "-o", str(lib_path),
                        str(source)], check=True)  # fmt: skip
        lib = ctypes.CDLL(str(lib_path))
        lib.walk.restype = ctypes.c_int
        lib.walk.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint32),
                             ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]  # fmt: skip
        for answer in ('{"name":"Ada","age":36}', '{"name":"Ada","age":"36"}'):
            tokens = info.tokenize(answer)
            array = (ctypes.c_uint32 * len(tokens))(*tokens)
            report = ctypes.create_string_buffer(200)
            lib.walk(exported.address, json.dumps(SCHEMA).encode(), array, len(tokens), report, 200)
            print(f"{answer}: {report.value.decode()}")
    exported.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
