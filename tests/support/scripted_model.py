"""Helpers for the StructuringEngine tests: a scripted "model" that wants to write a given text,
counting samplers, and a plain generation loop over process_logits + sample."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from instructor_py.local import StructuringEngine, TokenizerInfo


class ScriptedModel:
    """Logits that favour the tokens spelling ``target`` after what was generated so far.

    A token whose bytes continue the target scores 10 + its length (so greedy picks the longest
    one); every other token gets a small seeded random score; columns past the vocabulary get a
    huge score (the engine must mask them). Once the target is written, EOS scores highest.
    """

    def __init__(self, info: TokenizerInfo, target: str | list[str], seed: int = 0) -> None:
        self.info = info
        self.targets = [target] if isinstance(target, str) else list(target)
        self.rng = np.random.default_rng(seed)
        self.lengths = np.array([len(t) for t in info.token_bytes], dtype=np.float32)

    def logits(self, generated: list[bytes]) -> np.ndarray:
        rows = [self._row(self.targets[i].encode(), generated[i]) for i in range(len(generated))]
        return np.stack(rows)

    def _row(self, target: bytes, done: bytes) -> np.ndarray:
        info = self.info
        row = self.rng.normal(0.0, 1.0, info.logits_width).astype(np.float32)
        row[info.vocab_size :] = 1e6
        rest = target[len(done) :] if target.startswith(done) else b""
        if not rest:
            row[list(info.eos_token_ids)] = 50.0
            return row
        for tid, tok in enumerate(info.token_bytes):
            if tok and tid not in info.special_token_ids and rest.startswith(tok):
                row[tid] = 10.0 + len(tok)
        return row


class CountingSampler:
    """argmax (greedy) over the last axis, counting calls; ``bad`` tokens are returned first."""

    def __init__(self, bad: list[int] | None = None, always_bad: bool = False) -> None:
        self.calls = 0
        self.bad = bad or []
        self.always_bad = always_bad
        self.seen: list[Any] = []
        self._pending: list[int] = []

    def __call__(self, x: Any) -> Any:
        self.calls += 1
        self.seen.append(np.array(x, copy=True))
        if self.always_bad:
            return np.full(x.shape[:-1], self.bad[0]) if x.ndim > 1 else np.int64(self.bad[0])
        return np.argmax(x, axis=-1)


def generate(
    engine: StructuringEngine,
    model: ScriptedModel,
    sampler: Callable[[Any], Any],
    batch: int = 1,
    max_steps: int = 200,
    use_process_logits: bool = True,
    on_step: Callable[[], None] | None = None,
) -> list[list[int]]:
    """Run process_logits + sample until every row is done; returns the tokens of each row."""
    prompt = [1, 2, 3]
    ids = [list(prompt) for _ in range(batch)]
    for _ in range(max_steps):
        generated = (
            [st.output_bytes for st in engine.steppers] if engine.steppers else [b""] * batch
        )
        if len(generated) != batch:
            generated = [b""] * batch
        scores = model.logits(generated)
        if use_process_logits:
            scores = engine.process_logits(np.array(ids), scores)
        out = engine.sample(scores, sampler)
        rows = out if isinstance(out, list) else [out[i : i + 1] for i in range(batch)]
        for r, new in zip(ids, rows, strict=True):
            r.extend(int(t) for t in np.atleast_1d(new))
        if on_step is not None:
            on_step()
        if engine.is_terminated:
            break
    return [r[len(prompt) :] for r in ids]
