"""Adapters between the local engine and other runtimes: Hugging Face tokenizers, llama-cpp-python's
``logits_processor`` / ``stopping_criteria`` hooks and transformers' ``generate``."""
