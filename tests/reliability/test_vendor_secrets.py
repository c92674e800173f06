"""Secrets of the Azure OpenAI, Gemini, Vertex AI and Bedrock drivers (API keys, OAuth tokens, AWS
secret keys and session tokens) never appear in reprs, errors, tracebacks, events, attempts or logs,
whatever the fault -- including servers that echo the credential back in their error message."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from instructor_py import StructuredOutput
from instructor_py.common.errors import InstructorError, StructuredOutputRetryError
from instructor_py.run.transport import TransportRetryPolicy
from tests.support.servers import wire as w
from tests.support.vendors import Reply, ScriptedServer
from tests.support.vendors import bedrock as b
from tests.support.vendors import gemini as g

GEMINI_KEY = "AIzaSyA-gemini-SECRET-5b2f0c9d8e7a6b"
AZURE_KEY = "azure-SECRET-0c1d2e3f4a5b6c7d8e9f"
VERTEX_TOKEN = "ya29.vertex-SECRET-token-1a2b3c4d5e"
AWS_TOKEN = "IQoJb3JpZ2luX2VjSESSION-SECRET-token"
FAULTS = ("401", "403", "400", "429", "500", "stream_cut", "invalid_value")


class User(BaseModel):
    name: str
    age: int


GOOD = {"name": "Ann", "age": 30}
BAD = {"name": "Ann", "age": "thirty"}


def echo(secret: str) -> str:
    return f"Incorrect API key provided: {secret}. Bearer {secret} x-goog-api-key: {secret} api-key: {secret}"


def gemini_reply(fault: str, secret: str) -> Reply:
    if fault == "stream_cut":
        full = g.sse(g.stream_chunks(json.dumps(GOOD)))
        return g.sse(g.stream_chunks(json.dumps(GOOD)), cut_after=len(full.body) // 2)
    if fault == "invalid_value":
        return g.answer(g.response(json.dumps(BAD)))
    status = {"401": "UNAUTHENTICATED", "403": "PERMISSION_DENIED", "400": "INVALID_ARGUMENT", "429": "RESOURCE_EXHAUSTED", "500": "INTERNAL"}[fault]
    return g.error(int(fault), status, echo(secret), retry_delay="0s")


def azure_reply(fault: str, secret: str) -> Reply:
    if fault == "stream_cut":
        full = Reply.sse(w.openai_stream(tool_args=json.dumps(GOOD), tool_name="User"))
        return Reply.sse(w.openai_stream(tool_args=json.dumps(GOOD), tool_name="User"), cut_after=len(full.body) // 2)
    if fault == "invalid_value":
        return Reply.json(w.openai_chat(tool_args=json.dumps(BAD), tool_name="User"))
    return Reply.error(int(fault), echo(secret), headers={"Retry-After": "0"})


def bedrock_reply(fault: str, secret: str) -> Reply:
    if fault == "stream_cut":
        return b.answer(b.converse(tool=("User", GOOD)), stream_cut=0.5)
    if fault == "invalid_value":
        return b.answer(b.converse(tool=("User", BAD)))
    kind = {"401": "UnrecognizedClientException", "403": "AccessDeniedException", "400": "ValidationException", "429": "ThrottlingException", "500": "InternalServerException"}[fault]
    return b.error(int(fault), kind, echo(secret), headers={"Retry-After": "0"})


Setup = Callable[[ScriptedServer], StructuredOutput[Any]]
CASES: dict[str, tuple[tuple[str, ...], Setup, Callable[[str, str], Reply], Reply]] = {
    "gemini": (
        (GEMINI_KEY,),
        lambda s: StructuredOutput().using("gemini", api_key=GEMINI_KEY, base_url=f"{s.url}/v1beta", mode="tools"),
        gemini_reply,
        g.answer(g.response(call=("User", GOOD))),
    ),
    "vertex": (
        (VERTEX_TOKEN,),
        lambda s: StructuredOutput().using("vertex", project="p", access_token=VERTEX_TOKEN, base_url=f"{s.url}/v1", mode="tools"),
        gemini_reply,
        g.answer(g.response(call=("User", GOOD))),
    ),
    "azure": (
        (AZURE_KEY,),
        lambda s: StructuredOutput().using("azure", endpoint=s.url, deployment="d", api_key=AZURE_KEY),
        azure_reply,
        Reply.json(w.openai_chat(tool_args=json.dumps(GOOD), tool_name="User")),
    ),
    "bedrock": (
        (b.SECRET_KEY, AWS_TOKEN),
        lambda s: StructuredOutput().using(
            "bedrock/m",
            region=b.REGION,
            base_url=s.url,
            aws_access_key_id=b.ACCESS_KEY,
            aws_secret_access_key=b.SECRET_KEY,
            aws_session_token=AWS_TOKEN,
        ),
        bedrock_reply,
        b.answer(b.converse(tool=("User", GOOD))),
    ),
}


def _texts(value: Any) -> list[str]:
    return [str(value), repr(value)]


@pytest.mark.parametrize("stream", [False, True], ids=["get", "stream"])
@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("provider", sorted(CASES))
def test_no_secret_leaks(scripted_server: ScriptedServer, caplog: pytest.LogCaptureFixture, provider: str, fault: str, stream: bool) -> None:
    if provider == "bedrock":
        pytest.importorskip("boto3", reason="the optional 'bedrock' extra (boto3) is not installed")
    secrets, setup, reply, good = CASES[provider]
    scripted_server.script([reply(fault, secrets[0])], default=good)
    seen: list[Any] = []
    so = (
        setup(scripted_server)
        .with_transport_retry_policy(TransportRetryPolicy(max_retries=1, initial_delay=0.001, max_delay=0.002))
        .with_(messages="Ann is 30", response_model=User, max_retries=1)
        .wiretap(seen.append)
    )
    texts = [*_texts(so), *_texts(so.resolve_provider())]
    with caplog.at_level(logging.DEBUG):
        try:
            if stream:
                handle = so.stream()
                texts += [str(p) for p in handle.partials()]
                response = handle.final_response()
            else:
                response = so.response()
        except InstructorError as exc:
            texts += [*_texts(exc), "".join(traceback.format_exception(exc))]
            if isinstance(exc, StructuredOutputRetryError):
                texts += [repr(a) for a in exc.attempts]
        else:
            texts += [*_texts(response), *(repr(a) for a in response.attempts)]
    texts += [repr(e) for e in seen] + [r.getMessage() for r in caplog.records] + [repr(r.args) for r in caplog.records]
    assert scripted_server.requests, "no request was sent: the check would be vacuous"
    assert caplog.records, "nothing was logged at DEBUG: the log check would be vacuous"
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"{provider}/{fault}: a secret leaked: {text[:300]}"
