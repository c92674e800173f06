"""StructuringEngine with torch tensors and transformers' generate (skipped without torch).

torch is optional and not in the default install (it is large); these tests run where it is.
"""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import BaseModel

from instructor_py.local import StructuringEngine, TokenizerInfo
from tests.support.scripted_model import ScriptedModel

torch = pytest.importorskip("torch", reason="torch is not installed (optional; not in the default extras)")


class Flags(BaseModel):
    ok: bool
    level: Literal[1, 2, 3]  # bounded: a random model must still finish


def test_process_logits_and_sample_on_tensors(tok: TokenizerInfo) -> None:
    engine = StructuringEngine(tok)
    engine.configure(Flags)
    model = ScriptedModel(tok, '{"ok":true,"level":3}')
    ids = torch.tensor([[1, 2, 3]])
    for _ in range(40):
        scores = torch.from_numpy(model.logits([engine.steppers[0].output_bytes]))
        out = engine.process_logits(ids, scores)
        assert out is scores  # masked in place
        assert torch.isinf(out[0, tok.vocab_size :]).all()
        new = engine.sample(out, lambda x: torch.argmax(x, dim=-1))
        assert isinstance(new, torch.Tensor) and new.dtype == torch.long
        ids = torch.cat([ids, new.view(1, -1)], dim=1)
        if engine.is_terminated:
            break
    assert engine.get_structured_output(Flags) == Flags(ok=True, level=3)


def test_one_dimensional_tensor_scores(tok: TokenizerInfo) -> None:
    engine = StructuringEngine(tok)
    engine.configure(Flags)
    scores = torch.zeros(tok.logits_width, dtype=torch.float16)
    out = engine.process_logits(None, scores)
    allowed = torch.isfinite(out).nonzero().view(-1).tolist()
    assert allowed and all(tok.token_bytes[t].startswith(b"{") for t in allowed)


def test_hf_generate_with_the_adapters(tok: TokenizerInfo) -> None:
    transformers = pytest.importorskip("transformers", reason="transformers is not installed")
    config = transformers.GPT2Config(
        vocab_size=tok.logits_width, n_positions=128, n_embd=32, n_layer=1, n_head=2
    )
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(config).eval()
    engine = StructuringEngine(tok)
    engine.configure(Flags)
    prompt = torch.tensor([[1, 2, 3], [4, 5, 6]])
    out = model.generate(
        prompt,
        attention_mask=torch.ones_like(prompt),
        max_new_tokens=60,
        do_sample=False,
        logits_processor=engine.hf_logits_processor(),
        stopping_criteria=engine.hf_stopping_criteria(),
        pad_token_id=tok.eos_token_ids[0],
        eos_token_id=list(tok.eos_token_ids),
    )
    assert len(engine.steppers) == 2
    for i, st in enumerate(engine.steppers):
        assert st.is_accepting(), st
        value: Any = engine.get_structured_output(Flags, raise_on_error=True, index=i)
        assert isinstance(value, Flags)
        generated = [t for t in out[i, 3:].tolist() if t not in tok.special_token_ids]
        assert tok.decode(generated).decode() == st.text
