"""Loopback doubles of vendor APIs (Azure OpenAI, AWS Bedrock, Gemini / Vertex AI), each following
the vendor's documented wire format; served by the scripted loopback server."""

from __future__ import annotations

from tests.support.servers import RecordedRequest, Reply, ScriptedServer

__all__ = ["RecordedRequest", "Reply", "ScriptedServer"]
