"""StructuringEngine in an existing llama-cpp-python program: two extra arguments.

The embedded SmolLM2-135M-Instruct model, llama-cpp-python's own ``create_completion``, and our
engine as its ``logits_processor`` / ``stopping_criteria``. Then the same engine in a hand-written
loop (``process_logits`` + ``sample``) with free text allowed before a fenced JSON block.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from instructor_py.local import StructuringEngine, embedded_model_path


class Person(BaseModel):
    name: str = Field(max_length=40)
    age: int = Field(ge=0, le=120)


def chat(text: str) -> str:
    return (
        "<|im_start|>system\nExtract the person as JSON.<|im_end|>\n"
        f"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n"
    )


def main() -> None:
    import llama_cpp

    llama = llama_cpp.Llama(model_path=str(embedded_model_path()), n_ctx=2048, verbose=False)
    engine = StructuringEngine(llama)
    engine.configure(Person)

    # 1. llama-cpp-python samples; the engine masks and follows the tokens it chose
    out = llama.create_completion(
        chat("Jason is 25 years old."),
        max_tokens=60,
        temperature=0,
        logits_processor=engine.llama_logits_processor(),
        stopping_criteria=engine.llama_stopping_criteria(),
    )
    print("create_completion:", Person.model_validate_json(out["choices"][0]["text"]))

    # 2. our own loop: the engine samples, forced tokens come back together (one forward pass)
    engine = StructuringEngine(llama, multi_token_sampling=True)
    engine.configure(Person, delimiters=("```json\n", "\n```"), buffer_length=0)
    ids = list(llama.tokenize(chat("Maria is 31.").encode(), add_bos=False, special=True))
    llama.reset()
    llama.eval(ids)
    while not engine.is_terminated:
        logits = np.ctypeslib.as_array(
            llama_cpp.llama_get_logits_ith(llama.ctx, -1), shape=(llama.n_vocab(),)
        )
        new = [int(t) for t in engine.sample(engine.process_logits(None, logits), np.argmax)]
        if engine.is_terminated or len(engine.steppers[0].token_ids) > 80:
            break
        llama.eval(new)
    for label, value in engine.get_stateful_structured_output(Person):
        print(f"{label}: {value!r}")


if __name__ == "__main__":
    main()
