"""Harnesses the tests (and ``benchmarks/``) share; no tests here.

- ``servers/``: loopback servers (``scripted``: scripted OpenAI / Anthropic answers and faults;
  ``llama``: llama-cpp-python's server with the embedded model; ``wire``: wire bodies and SSE;
  ``serve``: one canned reply from the command line; ``plugin``: their pytest fixtures);
- ``wire_formats``: the two wire formats as test parameters (a client and replies for each);
  ``streamed_replies``: clients, modes and streamed (SSE) answers of the streaming tests;
- ``scripted_provider``: an in-process provider answering from a script; ``batch_fakes``: the
  batch tests' provider and items; ``response_models``: response models several suites use;
- ``smollm2``: the embedded model's GGUF path and the ``needs_model`` mark; ``masks``: a synthetic
  tokenizer and mask walks; ``scripted_model``: a scripted model and sampler for
  ``StructuringEngine``; ``gguf_tokenizer``: a Hugging Face tokenizer built from a GGUF;
- ``maskbench``: MaskBench scoring; ``engines``: the engines it scores and the vocabularies they
  use; ``formats``, ``key_order``, ``known_gaps``, ``random_walk``: the conformance oracles;
- ``load``, ``load_local``, ``bad_models``: the reliability suite's load drivers and bad input;
- ``cbison/``: the C sources of the CBISON tests (``c/``), their build and driver, and cases.
"""
