"""Extract a typed object with an Azure OpenAI deployment (needs AZURE_OPENAI_ENDPOINT, a
deployment name and a key or Entra ID; exits cleanly without them).

    AZURE_OPENAI_ENDPOINT=https://my-resource.openai.azure.com \\
    AZURE_OPENAI_API_KEY=... AZURE_OPENAI_DEPLOYMENT=gpt-4o-mini python examples/azure_openai.py

Without AZURE_OPENAI_API_KEY the example signs in with Microsoft Entra ID when ``azure-identity``
is installed (``DefaultAzureCredential``: az login, a managed identity, ...).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from pydantic import BaseModel

from instructor_py import OutputMode, StructuredOutput


class Invoice(BaseModel):
    vendor: str
    total: float
    currency: str


def entra_token_provider() -> Callable[[], str] | None:
    try:
        from azure.identity import DefaultAzureCredential, get_bearer_token_provider
    except ImportError:
        return None
    scope = "https://cognitiveservices.azure.com/.default"
    provider: Callable[[], str] = get_bearer_token_provider(DefaultAzureCredential(), scope)
    return provider


def main() -> int:
    endpoint = os.environ.get("AZURE_OPENAI_ENDPOINT")
    if not endpoint:
        print("This example needs an Azure OpenAI resource: set AZURE_OPENAI_ENDPOINT (and "
              "AZURE_OPENAI_API_KEY, AZURE_OPENAI_DEPLOYMENT) and run it again.")
        return 0
    credential: dict[str, object] = {}
    if not os.environ.get("AZURE_OPENAI_API_KEY"):
        token_provider = entra_token_provider()
        if token_provider is None:
            print("No AZURE_OPENAI_API_KEY and azure-identity is not installed: set the key "
                  "(or pip install azure-identity and az login) and run it again.")
            return 0
        credential["azure_ad_token_provider"] = token_provider
    invoice = (
        StructuredOutput()
        .using(
            "azure",
            endpoint=endpoint,
            deployment=os.environ.get("AZURE_OPENAI_DEPLOYMENT", "gpt-4o-mini"),
            api_version=os.environ.get("OPENAI_API_VERSION", "2024-10-21"),
            **credential,
        )
        .with_(
            messages="Invoice from Contoso Ltd: 3 licences, total due EUR 1,249.50.",
            response_model=Invoice,
            mode=OutputMode.JSON_SCHEMA,
            max_retries=2,
        )
        .get()
    )
    print(invoice.model_dump_json(indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
