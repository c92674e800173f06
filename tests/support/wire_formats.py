"""The two wire formats the scripted e2e tests run against, behind one small interface: how to
point ``StructuredOutput`` at the scripted server, and how to build its replies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from instructor_py import StructuredOutput
from instructor_py.common.modes import OutputMode
from instructor_py.run.transport import TransportRetryPolicy
from tests.support.servers import Reply, ScriptedServer
from tests.support.servers import wire as w

API_KEY = "sk-e2e-SECRET-key-0123456789abcdef"
FAST_TRANSPORT = TransportRetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.05, jitter=False)


@dataclass(frozen=True)
class Wire:
    preset: str
    key_env: str
    modes: tuple[OutputMode, ...]

    def client(self, server: ScriptedServer, **overrides: Any) -> StructuredOutput:
        base_url = server.url if self.preset == "anthropic" else server.openai_url
        options = {"api_key": API_KEY, "base_url": base_url, "model": w.MODEL, **overrides}
        return (
            StructuredOutput()
            .using(self.preset, **options)
            .with_transport_retry_policy(FAST_TRANSPORT)
        )

    def answer(
        self,
        value: Any,
        mode: OutputMode,
        usage: tuple[int, int] = (10, 5),
        tool_name: str = "User",
    ) -> Reply:
        """The model answering ``value`` (an object, or raw text outside TOOLS mode)."""
        if mode is OutputMode.TOOLS:
            if self.preset == "anthropic":
                body = w.anthropic_message(tool_input=value, usage=usage, tool_name=tool_name)
                return Reply.json(body)
            args = value if isinstance(value, str) else json.dumps(value)
            return Reply.json(w.openai_chat(tool_args=args, usage=usage, tool_name=tool_name))
        text = value if isinstance(value, str) else json.dumps(value)
        if mode is OutputMode.MD_JSON and not isinstance(value, str):
            text = f"Here you go:\n```json\n{text}\n```"
        if self.preset == "anthropic":
            return Reply.json(w.anthropic_message(text, usage=usage))
        return Reply.json(w.openai_chat(text, usage=usage))

    def text(self, text: str, usage: tuple[int, int] = (10, 5)) -> Reply:
        if self.preset == "anthropic":
            return Reply.json(w.anthropic_message(text, usage=usage))
        return Reply.json(w.openai_chat(text, usage=usage))


OPENAI = Wire(
    "openai",
    "OPENAI_API_KEY",
    (OutputMode.TOOLS, OutputMode.JSON_SCHEMA, OutputMode.JSON, OutputMode.MD_JSON),
)
ANTHROPIC = Wire(
    "anthropic", "ANTHROPIC_API_KEY", (OutputMode.TOOLS, OutputMode.JSON, OutputMode.MD_JSON)
)
WIRES = (OPENAI, ANTHROPIC)
