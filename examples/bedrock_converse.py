"""Extract a typed object with Amazon Bedrock's Converse API, streaming the partial object
(needs boto3 -- pip install 'instructor_py[bedrock]' --, AWS_REGION and AWS credentials with
access to the model; exits cleanly without them).

    AWS_REGION=us-east-1 AWS_PROFILE=... python examples/bedrock_converse.py
    BEDROCK_MODEL=us.anthropic.claude-3-5-haiku-20241022-v1:0 python examples/bedrock_converse.py
"""

from __future__ import annotations

import os
import sys

from pydantic import BaseModel

from instructor_py import StructuredOutput


class Ticket(BaseModel):
    product: str
    severity: int
    summary: str


def main() -> int:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        print("This example needs Amazon Bedrock: set AWS_REGION (and AWS credentials: "
              "aws configure, AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and run it "
              "again.")
        return 0
    try:
        import boto3
    except ImportError:
        print("This example needs boto3: pip install 'instructor_py[bedrock]'.")
        return 0
    if boto3.Session(region_name=region).get_credentials() is None:
        print("No AWS credentials found: run aws configure (or set AWS_PROFILE) and run it again.")
        return 0
    model = os.environ.get("BEDROCK_MODEL", "us.anthropic.claude-3-5-haiku-20241022-v1:0")
    stream = (
        StructuredOutput()
        .using(f"bedrock/{model}", region=region)
        .with_(
            messages="The checkout page of ShopFront crashes for every user since the 9:00 deploy.",
            response_model=Ticket,
            max_retries=2,
        )
        .stream()
    )
    for partial in stream.partials():
        print(partial)
    print(stream.final_value().model_dump_json(indent=2))
    print(stream.final_response().usage)
    return 0


if __name__ == "__main__":
    sys.exit(main())
