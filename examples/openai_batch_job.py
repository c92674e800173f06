"""A provider batch job on OpenAI's Batch API: submit, survive a restart, read the results.

Needs OPENAI_API_KEY (without it this script says so and exits). The job is kept in
~/.cache/instructor_py/jobs.sqlite: run the script again with the printed job id to resume it
from another process instead of submitting again:

    python examples/openai_batch_job.py            # submits, prints the job id, waits
    python examples/openai_batch_job.py ipj3f0c... # resumes that job
"""

from __future__ import annotations

import os
import sys

from pydantic import BaseModel

from instructor_py import BatchJob, StructuredOutput


class Person(BaseModel):
    name: str
    age: int


def main() -> None:
    if not os.environ.get("OPENAI_API_KEY"):
        print("This example calls OpenAI's Batch API: set OPENAI_API_KEY to run it.")
        return
    if len(sys.argv) > 1:
        job = BatchJob.resume(sys.argv[1])
    else:
        builder = StructuredOutput().using("openai").with_(response_model=Person, max_retries=1)
        job = builder.submit_batch(
            ["Jason is 25 years old", "Sarah, 31, works in Lisbon", "Ben turned 40 last week"],
            repair=True,  # answers that fail validation are re-asked live, errors fed back
        )
        print(f"submitted {job.id} (resume with: python {sys.argv[0]} {job.id})")
    status = job.wait(progress=True, poll_interval=30)  # batches can take up to 24 hours
    print(f"{status.state}: {status.succeeded} answered, {status.errored} failed")
    for detail in job.details():
        print(detail.index, detail.value if detail.ok else detail.error, "(repaired)" if detail.repaired else "")


if __name__ == "__main__":
    main()
