"""instructor_py.integrations.ray on a local Ray instance (``ray.init(num_cpus=2)``) against the
loopback OpenAI server of :mod:`tests.support.batch_api` (live chat completions, streamed as the
openai preset asks). Skipped when Ray Data is not installed (the optional ``ray`` extra)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray", reason="the optional 'ray' extra (Ray Data) is not installed")
pytest.importorskip("ray.data", reason="the optional 'ray' extra (Ray Data) is not installed")

from instructor_py import ConfigurationError, InvalidArgumentError, StructuredOutput  # noqa: E402
from instructor_py.integrations.ray import RESULT_COLUMNS, Extractor, extract_dataset  # noqa: E402
from tests.support.batch_api import BatchAPIServer  # noqa: E402
from tests.support.batch_models import Person  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
NAMES = ["Ann", "Bob", "Cid", "Dee", "Eve", "Fay", "Gus", "Hal", "Ivy", "Jon", "Kay", "Lou"]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}},
    )
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture
def server() -> Iterator[BatchAPIServer]:
    with BatchAPIServer(lifetime=300) as running:
        yield running


def texts(count: int) -> list[str]:
    out = []
    for i in range(count):
        name = NAMES[i % len(NAMES)]
        out.append(f"{name} is {20 + i}" + (" JUNK" if i % 7 == 3 else ""))
    return out


def rows_of(dataset: Any) -> list[dict[str, Any]]:
    return sorted(dataset.take_all(), key=lambda row: int(row["id"]))


def test_same_answers_as_batch_on_one_machine(local_ray: None, server: BatchAPIServer) -> None:
    builder = StructuredOutput().using("openai", api_key="sk-ray-test-0123456789", base_url=server.base_url + "/v1").with_(
        response_model=Person, max_retries=1
    )
    inputs = texts(30)
    dataset = ray.data.from_items([{"id": i, "text": t} for i, t in enumerate(inputs)], override_num_blocks=4)
    rows = rows_of(extract_dataset(dataset, builder, workers=2, concurrency=4, batch_size=8))

    assert [r["id"] for r in rows] == list(range(30))  # none dropped, none twice
    assert all(set(RESULT_COLUMNS) <= set(r) for r in rows)
    local = builder.batch(inputs, concurrency=4)
    for row, result in zip(rows, local, strict=True):
        if isinstance(result, Exception):
            assert row["value"] is None
            assert row["error"] == str(result) and row["error_type"] == type(result).__name__
        else:
            assert json.loads(row["value"]) == result.value.model_dump()
            assert row["error"] is None
        assert row["attempts"] == len(getattr(result, "attempts", ()))
    junk = [r for r in rows if "JUNK" in r["text"]]
    assert junk and all(r["error_type"] == "StructuredOutputRetryError" and r["attempts"] == 2 for r in junk)
    assert rows[0]["input_tokens"] == 11 and rows[0]["output_tokens"] == 7


def test_a_worker_that_dies_mid_block_loses_and_repeats_no_row(
    local_ray: None, server: BatchAPIServer, tmp_path: Path
) -> None:
    marker = tmp_path / "died"

    def die_once(person: Person) -> None:
        """Kill the Ray worker the first time it validates Kay (other rows of the block are in
        flight or done): Ray restarts the actor and runs the block again."""
        if person.name == "Kay" and not marker.exists():
            marker.write_text(str(os.getpid()))
            os._exit(1)

    builder = (
        StructuredOutput()
        .using("openai", api_key="sk-ray-test-0123456789", base_url=server.base_url + "/v1")
        .with_(response_model=Person)
        .with_validator(die_once)
    )
    inputs = [f"{NAMES[i % len(NAMES)]} is {20 + i}" for i in range(24)]
    dataset = ray.data.from_items([{"id": i, "text": t} for i, t in enumerate(inputs)], override_num_blocks=3)
    rows = rows_of(extract_dataset(dataset, builder, workers=2, concurrency=4, batch_size=8))

    assert marker.exists()  # a worker did die
    assert [r["id"] for r in rows] == list(range(24))
    assert all(r["error"] is None for r in rows), [r["error"] for r in rows if r["error"]]
    assert [json.loads(r["value"])["age"] for r in rows] == [20 + i for i in range(24)]
    assert server.count("openai.live") > 24  # the dead block's rows were asked again


def test_extractor_as_a_map_batches_class_with_pandas_batches(local_ray: None, server: BatchAPIServer) -> None:
    builder = StructuredOutput().using("openai", api_key="sk-ray-test-0123456789", base_url=server.base_url + "/v1").with_(
        response_model=Person
    )
    dataset = ray.data.from_items([{"id": i, "body": f"Ann is {i}"} for i in range(6)])
    out = dataset.map_batches(
        Extractor,
        fn_constructor_kwargs={"builder": builder, "column": "body", "concurrency": 2},
        compute=ray.data.ActorPoolStrategy(size=1),
        batch_format="pandas",
        batch_size=3,
    )
    rows = rows_of(out)
    assert [json.loads(r["value"]) for r in rows] == [{"name": "Ann", "age": i} for i in range(6)]


def test_bad_arguments_fail_before_ray_runs_anything(local_ray: None, server: BatchAPIServer) -> None:
    builder = StructuredOutput().using("openai", api_key="sk-x", base_url=server.base_url + "/v1").with_(response_model=Person)
    with pytest.raises(InvalidArgumentError, match="concurrency"):
        Extractor(builder, concurrency=0)
    with pytest.raises(InvalidArgumentError, match="StructuredOutput"):
        Extractor("not a builder")  # type: ignore[arg-type]
    with pytest.raises(Exception, match="no column 'text'"):
        Extractor(builder)({"body": ["Ann is 3"]})
    import threading

    lock = threading.Lock()
    unpicklable = builder.with_validator(lambda person: lock.locked() and None)
    with pytest.raises(ConfigurationError, match="cannot be sent to Ray workers"):
        extract_dataset(ray.data.from_items([{"text": "Ann is 3"}]), unpicklable)
    assert server.calls == {}
