"""Recipe: a provider batch job on OpenAI's Batch API (half the price of live calls): submit,
survive a restart, read the results in input order.

Needs OPENAI_API_KEY (without it this script says so and exits; the test suite runs it against a
loopback server implementing the Files and Batches endpoints). The job is kept in
~/.cache/instructor_py/jobs.sqlite (or $INSTRUCTOR_PY_JOBS): run the script again with the
printed job id to resume it from another process instead of submitting again:

    python examples/cookbook/batch_job.py            # submits, prints the job id, waits
    python examples/cookbook/batch_job.py ipj3f0c... # resumes that job
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
            ["Jason is 25 years old", "Sarah is 31 and works in Lisbon", "Ben is 40 since last week"],
            repair=True,  # answers that fail validation are re-asked live, errors fed back
        )
        print(f"submitted {job.id} (resume with: python {sys.argv[0]} {job.id})")
    # batches can take up to 24 hours: check every 30 s (BATCH_POLL_SECONDS to change it)
    status = job.wait(poll_interval=float(os.environ.get("BATCH_POLL_SECONDS", "30")))
    print(f"{status.state}: {status.succeeded} answered, {status.errored} failed")
    for detail in job.details():
        repaired = " (repaired)" if detail.repaired else ""
        print(f"{detail.index}: {detail.value if detail.ok else detail.error}{repaired}")


if __name__ == "__main__":
    main()
