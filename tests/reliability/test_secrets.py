"""Secrets, as a property: random API keys and header values never appear in events, logs (every
logger at DEBUG, the openai SDK's and httpx's included), reprs, exception messages or
``attempts``, for every provider preset and every fault of the load suite, plus error bodies that
echo the key back (as real APIs do for a wrong key)."""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from instructor_py import StructuredOutput
from instructor_py.common.errors import InstructorError, StructuredOutputRetryError
from instructor_py.providers.presets import PRESETS
from instructor_py.run.transport import TransportRetryPolicy
from tests.support.load import FAULTS, SLOW_REPLY_S
from tests.support.servers import Reply, ScriptedServer
from tests.support.servers import wire as w

pytestmark = pytest.mark.timeout(600)

# every remote preset on the OpenAI or Anthropic wire (the Azure, Gemini, Vertex AI and Bedrock
# drivers: tests/reliability/test_vendor_secrets.py, against their own wire doubles)
REMOTE_PRESETS = sorted(name for name, p in PRESETS.items() if p.driver in ("openai", "anthropic"))
ECHO_FAULTS = ("401_echo", "403_echo", "400_echo", "404_echo", "500_echo", "429_echo")

secret_chars = st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="\\\"'")
# a marker prefix, so a shrunk example cannot coincide with ordinary output ("Anthropic...")
api_keys = st.text(secret_chars, min_size=12, max_size=48).map(lambda s: "Ksec-" + s)
header_values = st.text(secret_chars, min_size=12, max_size=48).map(lambda s: "Hsec-" + s)


class User(BaseModel):
    name: str
    age: int


def _is_anthropic(preset: str) -> bool:
    return PRESETS[preset].driver == "anthropic"


def _good(preset: str, stream: bool) -> Reply:
    args = json.dumps({"name": "Ann", "age": 30})
    if _is_anthropic(preset):
        if stream:
            return Reply.sse(w.anthropic_stream(tool_json=args, tool_name="User"))
        return Reply.json(w.anthropic_message(tool_input={"name": "Ann", "age": 30}, tool_name="User"))
    if stream:
        return Reply.sse(w.openai_stream(tool_args=args, tool_name="User"))
    return Reply.json(w.openai_chat(tool_args=args, tool_name="User"))


def _bad_answer(preset: str, text: str) -> Reply:
    if _is_anthropic(preset):
        return Reply.json(w.anthropic_message(tool_input={"name": text, "age": "x"}, tool_name="User"))
    return Reply.json(w.openai_chat(tool_args=text, tool_name="User"))


def _fault(preset: str, fault: str, stream: bool, key: str, header: str) -> Reply:
    echo = f"Incorrect API key provided: {key}. Bearer {key} x-api-key: {key} X-Tenant: {header}"
    if fault.endswith("_echo"):
        return Reply.error(int(fault[:3]), echo, kind="invalid_request_error")
    if fault == "429_retry_after":
        return Reply.error(429, echo, headers={"Retry-After": "0"})
    if fault in ("429", "500", "502", "503"):
        return Reply.error(int(fault), echo)
    if fault == "reset":
        return Reply.connection_reset()
    good = _good(preset, stream)
    if fault == "read_timeout":
        return Reply(good.status, good.body, good.headers, good.content_type, good.chunked, good.chunk_sizes, delay=SLOW_REPLY_S)
    if fault == "stream_cut":
        return Reply(good.status, good.body, good.headers, good.content_type, good.chunked, good.chunk_sizes, cut_after=len(good.body) // 2)
    if fault == "invalid_json":  # (the model's answers hold no secret: they are not ours to hide)
        return _bad_answer(preset, '{"name": "An')
    if fault == "invalid_value":
        return _bad_answer(preset, json.dumps({"name": "Ann", "age": "thirty"}))
    if fault == "truncated":
        return Reply.json(w.openai_chat(tool_args='{"name": "A', tool_name="User", finish="length")) if not _is_anthropic(preset) else _bad_answer(preset, "{")
    raise AssertionError(fault)


def _texts(value: Any) -> list[str]:
    return [str(value), repr(value)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    key=api_keys,
    header=header_values,
    preset=st.sampled_from(REMOTE_PRESETS),
    fault=st.sampled_from([*FAULTS, *ECHO_FAULTS]),
    stream=st.booleans(),
)
def test_secrets_never_leak(
    scripted_server: ScriptedServer, caplog: pytest.LogCaptureFixture, key: str, header: str, preset: str, fault: str, stream: bool
) -> None:
    check_no_leak(scripted_server, caplog, key, header, preset, fault, stream)


@pytest.mark.parametrize("stream", [False, True], ids=["response", "stream"])
@pytest.mark.parametrize("fault", [*FAULTS, *ECHO_FAULTS])
@pytest.mark.parametrize("preset", ["openai", "anthropic"])
def test_every_fault_on_both_wires_leaks_nothing(
    scripted_server: ScriptedServer, caplog: pytest.LogCaptureFixture, preset: str, fault: str, stream: bool
) -> None:
    check_no_leak(scripted_server, caplog, "sk-live-Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5", "tenant-token-8f3a9c1e77d2", preset, fault, stream)


def test_the_local_provider_refuses_keys_without_showing_them() -> None:
    secret = "sk-local-should-never-show-0123456789"
    with pytest.raises(InstructorError) as info:
        StructuredOutput().using("local", api_key=secret).resolve_provider()
    assert "api_key" in str(info.value) and secret not in str(info.value)
    assert secret not in repr(StructuredOutput().using("local", api_key=secret))


def check_no_leak(
    scripted_server: ScriptedServer, caplog: pytest.LogCaptureFixture, key: str, header: str, preset: str, fault: str, stream: bool
) -> None:
    caplog.clear()
    scripted_server.clear_requests()
    scripted_server.script([_fault(preset, fault, stream, key, header)], default=_good(preset, stream))
    base_url = scripted_server.url if _is_anthropic(preset) else scripted_server.openai_url
    seen: list[Any] = []
    so = (
        StructuredOutput()
        .using(preset, api_key=key, base_url=base_url, model=w.MODEL, timeout=0.5, headers={"X-Tenant": header})
        .with_transport_retry_policy(TransportRetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.002))
        .with_(messages="Ann is 30", response_model=User, max_retries=1)
        .wiretap(seen.append)
    )
    texts = [*_texts(so), *_texts(so.resolve_provider())]
    with caplog.at_level(logging.DEBUG):  # the root logger: ours, openai's, httpx's, httpcore's
        try:
            if stream:
                handle = so.stream()
                texts += _texts(handle)
                for partial in handle.partials():
                    texts += _texts(partial)
                response = handle.final_response()
            else:
                response = so.response()
        except InstructorError as exc:
            texts += _texts(exc)
            # what a traceback (logging.exception, error trackers) shows: our error, and any
            # chained exception it does not suppress
            texts.append("".join(traceback.format_exception(exc)))
            if isinstance(exc, StructuredOutputRetryError):
                texts += [repr(a) for a in exc.attempts]
        else:
            texts += [*_texts(response), *(repr(a) for a in response.attempts)]
    texts += [repr(e) for e in seen] + [str(e) for e in seen]
    texts += [r.getMessage() for r in caplog.records] + [repr(r.args) for r in caplog.records]
    assert caplog.records, "nothing was logged at DEBUG: the log check would be vacuous"
    assert any(r.headers.get("authorization", r.headers.get("x-api-key", "")).endswith(key) for r in scripted_server.requests)
    for text in texts:
        assert key not in text, f"{preset}/{fault}: the API key leaked: {text[:300]}"
        assert header not in text, f"{preset}/{fault}: the header value leaked: {text[:300]}"
