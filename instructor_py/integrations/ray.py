"""Extraction over a Ray Dataset: past one machine with the same builder (``pip install
'instructor_py[ray]'``; ``docs/ray.md``).

.. code-block:: python

    import ray
    from instructor_py import StructuredOutput
    from instructor_py.integrations.ray import Extractor, extract_dataset

    builder = StructuredOutput().using("vllm", base_url="http://vllm:8000/v1").with_(response_model=User)
    ds = ray.data.read_json("docs.jsonl")                      # a "text" column
    out = extract_dataset(ds, builder, column="text", workers=4, concurrency=16)
    # or, the Ray Data way:
    out = ds.map_batches(Extractor, fn_constructor_kwargs={"builder": builder},
                         compute=ray.data.ActorPoolStrategy(size=4), batch_size=64)

Each worker (a Ray actor) runs :meth:`~instructor_py.client.structured_output.StructuredOutput.batch`
over its block of rows, ``concurrency`` calls at a time, and adds the result columns to the rows it
was given: ``value`` (the value as JSON text, ``None`` on error), ``error`` and ``error_type``
(``None`` on success), ``attempts`` (calls made for the row) and ``input_tokens`` /
``output_tokens`` (usage over the attempts). A row that fails keeps its place with its error: rows
are never dropped, and a block whose worker dies is run again by Ray (its actor restarted, its task
retried) and its rows are output once. The builder is pickled to the workers with its preset and
overrides (an ``api_key`` override travels with it: prefer the preset's environment variable on
the workers); its provider is created again in each worker.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic_core import to_jsonable_python

from instructor_py.client.batch import BatchResult
from instructor_py.client.structured_output import StructuredOutput
from instructor_py.common.errors import ConfigurationError, InvalidArgumentError

__all__ = ["RESULT_COLUMNS", "Extractor", "extract_dataset", "result_columns"]

RESULT_COLUMNS = ("value", "error", "error_type", "attempts", "input_tokens", "output_tokens")
"""The columns added to every row."""

DEFAULT_CONCURRENCY = 8
DEFAULT_BATCH_SIZE = 64


class Extractor:
    """A callable class for ``Dataset.map_batches`` (module docstring): one instance per Ray
    actor; each call extracts one batch of rows (``batch_format="numpy"`` or ``"pandas"``)."""

    def __init__(
        self,
        builder: StructuredOutput[Any],
        *,
        column: str = "text",
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        if not isinstance(builder, StructuredOutput):
            raise InvalidArgumentError(
                f"Extractor needs a StructuredOutput builder, got {type(builder).__name__}"
            )
        if not isinstance(column, str) or not column:
            raise InvalidArgumentError(f"column must be a column name (str), got {column!r}")
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise InvalidArgumentError(f"concurrency must be an int >= 1, got {concurrency!r}")
        self._builder = builder
        self._column = column
        self._concurrency = concurrency

    def __call__(self, batch: Any) -> Any:
        columns = _columns(batch)
        if self._column not in columns:
            raise ConfigurationError(
                f"the dataset has no column {self._column!r} (it has {sorted(columns)}); pass "
                "column=... to name the column holding the text"
            )
        clash = sorted(set(RESULT_COLUMNS) & set(columns))
        if clash:
            raise ConfigurationError(
                f"the dataset already has the result column(s) {clash}; rename them first "
                "(dataset.rename_columns(...))"
            )
        inputs = [_input(v) for v in columns[self._column]]
        results = self._builder.batch(inputs, concurrency=self._concurrency)
        added = result_columns(results)
        if _is_pandas(batch):
            out = batch.copy()
            for name, values in added.items():
                out[name] = values
            return out
        import numpy as np

        new = {name: np.asarray(values, dtype=object) for name, values in added.items()}
        for name in ("attempts", "input_tokens", "output_tokens"):
            new[name] = np.asarray(added[name], dtype=np.int64)
        return {**dict(batch), **new}


def result_columns(results: list[BatchResult[Any]]) -> dict[str, list[Any]]:
    """The result columns (:data:`RESULT_COLUMNS`) of ``batch()`` results, in their order."""
    out: dict[str, list[Any]] = {name: [] for name in RESULT_COLUMNS}
    for result in results:
        if isinstance(result, Exception):
            attempts = getattr(result, "attempts", ()) or ()
            usage = getattr(result, "usage", None)
            out["value"].append(None)
            out["error"].append(str(result))
            out["error_type"].append(type(result).__name__)
            out["attempts"].append(len(attempts))
        else:
            usage = result.usage
            out["value"].append(json.dumps(to_jsonable_python(result.value, fallback=str), ensure_ascii=False))
            out["error"].append(None)
            out["error_type"].append(None)
            out["attempts"].append(len(result.attempts))
        out["input_tokens"].append(int(getattr(usage, "input_tokens", 0) or 0))
        out["output_tokens"].append(int(getattr(usage, "output_tokens", 0) or 0))
    return out


def extract_dataset(
    dataset: Any,
    builder: StructuredOutput[Any],
    *,
    column: str = "text",
    concurrency: int = DEFAULT_CONCURRENCY,
    workers: int = 1,
    batch_size: int = DEFAULT_BATCH_SIZE,
    **map_batches_args: Any,
) -> Any:
    """``dataset`` with the result columns added to every row (module docstring): ``workers``
    Ray actors, each extracting ``batch_size`` rows at a time with ``concurrency`` calls in
    flight. Lazy, like every Ray Data transform: nothing runs before the result is consumed.
    Other keyword arguments go to ``Dataset.map_batches`` (``num_cpus``, ``max_restarts``...)."""
    try:
        from ray.data import ActorPoolStrategy
    except ImportError:  # pragma: no cover - the ray extra is absent
        raise ConfigurationError(
            "instructor_py.integrations.ray needs Ray Data: pip install 'instructor_py[ray]'"
        ) from None
    Extractor(builder, column=column, concurrency=concurrency)  # bad arguments fail here
    _check_portable(builder)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidArgumentError(f"workers must be an int >= 1, got {workers!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidArgumentError(f"batch_size must be an int >= 1, got {batch_size!r}")
    map_batches_args.setdefault("num_cpus", 0.5)  # the work is waiting on the API, not CPU
    return dataset.map_batches(
        Extractor,
        fn_constructor_kwargs={"builder": builder, "column": column, "concurrency": concurrency},
        compute=ActorPoolStrategy(size=workers),
        batch_size=batch_size,
        batch_format="numpy",
        **map_batches_args,
    )


def _check_portable(builder: StructuredOutput[Any]) -> None:
    """The builder must pickle to reach the workers; say why when it does not (before Ray
    fails somewhere in its scheduler)."""
    from ray import cloudpickle

    try:
        cloudpickle.dumps(builder)  # type: ignore[no-untyped-call]
    except Exception as err:
        raise ConfigurationError(
            f"the builder cannot be sent to Ray workers ({type(err).__name__}: {err}); build it "
            "with using(preset, ...) rather than with_provider(obj), and keep validators and "
            "transformers free of locks, clients and open files"
        ) from None


def _columns(batch: Any) -> Mapping[str, Any]:
    if _is_pandas(batch):
        return {str(name): batch[name].tolist() for name in batch.columns}
    if isinstance(batch, Mapping):
        return batch
    raise InvalidArgumentError(
        f"Extractor takes batches as dicts of arrays or pandas DataFrames (batch_format='numpy' "
        f"or 'pandas'), got {type(batch).__name__}"
    )


def _is_pandas(batch: Any) -> bool:
    return type(batch).__name__ == "DataFrame" and hasattr(batch, "columns")


def _input(value: Any) -> Any:
    """A cell as a ``batch()`` input: text as it is; a dict or list (messages, with_() parts)
    as it is; numpy scalars and anything else as text."""
    if isinstance(value, str | dict | list):
        return value
    if hasattr(value, "tolist"):
        value = value.tolist()
        if isinstance(value, str | dict | list):
            return value
    return str(value)
