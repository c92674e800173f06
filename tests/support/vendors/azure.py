"""What an Azure OpenAI data-plane request looks like, checked on the loopback server.

Azure OpenAI REST reference (data plane, "Chat completions - Create"):

    POST {endpoint}/openai/deployments/{deployment-id}/chat/completions?api-version=2024-10-21
    Request header: "api-key: <key>" -- or, with Microsoft Entra ID,
    "Authorization: Bearer <token>"

The body and the answer are the OpenAI chat-completions format (``tests/support/servers/wire.py`` builds
the answers), so only the URL and the credential header are Azure's own.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.support.vendors import RecordedRequest


def check_azure_request(
    request: RecordedRequest,
    *,
    deployment: str,
    api_version: str,
    api_key: str | None = None,
    token: str | None = None,
) -> None:
    """Assert the request is an Azure chat-completions call for ``deployment`` with exactly one
    credential: ``api-key`` (``api_key``) or ``Authorization: Bearer`` (``token``)."""
    url = urlsplit(request.path)
    assert request.method == "POST"
    assert url.path == f"/openai/deployments/{deployment}/chat/completions", url.path
    assert parse_qs(url.query) == {"api-version": [api_version]}, url.query
    if api_key is not None:
        assert request.headers.get("api-key") == api_key
        assert "authorization" not in request.headers
    if token is not None:
        assert request.headers.get("authorization") == f"Bearer {token}"
        assert "api-key" not in request.headers
    body = request.json
    assert body["model"] == deployment  # the SDK sends the deployment as the model
    assert isinstance(body["messages"], list) and body["messages"]
