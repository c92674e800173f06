"""Loopback doubles of vendor APIs (Azure OpenAI, AWS Bedrock, Gemini / Vertex AI), each following
the vendor's documented wire format; served by the scripted loopback server."""

from __future__ import annotations

try:  # the mirrored test layout (tests/support/servers) or the older tests/servers
    from tests.support.servers import RecordedRequest, Reply, ScriptedServer
except ImportError:  # pragma: no cover - depends on which layout this branch sits on
    from tests.servers import RecordedRequest, Reply, ScriptedServer

__all__ = ["RecordedRequest", "Reply", "ScriptedServer"]
