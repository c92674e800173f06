"""Run as a child process by the kill-and-resume tests: submit a batch job against the loopback
batch API and hang in the create call until the parent kills this process.

usage: python -m tests.support.batch_submit_child VENDOR BASE_URL STORE N_ITEMS
(the key is the parent's test key, passed as an override, never stored)."""

from __future__ import annotations

import sys

from instructor_py import StructuredOutput
from tests.support.batch_models import Person


def main() -> None:
    vendor, base_url, store, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    builder = (
        StructuredOutput()
        .using(vendor, api_key="sk-child-key-0123456789", base_url=base_url)
        .with_(response_model=Person, max_retries=1)
    )
    inputs = [f"Person{chr(97 + i % 26)} is {20 + i}".capitalize() for i in range(count)]
    builder.submit_batch(inputs, store=store)  # the server holds the create: killed in here
    print("submitted without being killed", file=sys.stderr)
    sys.exit(3)


if __name__ == "__main__":
    main()
