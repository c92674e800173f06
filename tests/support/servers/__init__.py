"""Loopback test servers: :class:`ScriptedServer` (scripted OpenAI / Anthropic wire answers and
faults) and the llama-cpp-python OpenAI-compatible server with the embedded SmolLM2 model."""

from tests.support.servers.scripted import RecordedRequest, Reply, ScriptedServer

__all__ = ["RecordedRequest", "Reply", "ScriptedServer"]
