"""The relaxed tier's schema is a relaxation: on MaskBench, every instance a schema accepts (per
``jsonschema``, formats checked) is also accepted by ``relax_schema`` of it.

This checks the schema transformation alone, independent of any backend; the MaskBench
conformance test checks the compiled relaxed handles on the same instances.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from instructor_py.engine.relax import relax_schema
from tests.support.formats import FORMAT_CHECKER
from tests.support.maskbench import MaskbenchCase

pytestmark = pytest.mark.timeout(120)


def _validator(schema: Any) -> Any:
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema, format_checker=FORMAT_CHECKER)


def test_relaxed_schemas_accept_every_instance_their_schema_accepts(
    maskbench_cases: list[MaskbenchCase],
) -> None:
    checked = changed = 0
    problems: list[str] = []
    for case in maskbench_cases:
        loose = relax_schema(case.schema)
        if loose == case.schema:
            continue
        changed += 1
        strict, relaxed = _validator(case.schema), _validator(loose)
        for i, instance in enumerate(case.instances):
            try:
                if not strict.is_valid(instance.data):
                    continue
            except jsonschema.exceptions.SchemaError:  # pragma: no cover - sample is valid
                continue
            checked += 1
            if not relaxed.is_valid(instance.data):
                error = next(iter(relaxed.iter_errors(instance.data)))
                problems.append(f"{case.name} #{i}: {error.message[:160]}")
    assert problems == []
    # not vacuous: many schemas are relaxed and their valid instances were checked
    assert changed >= 150, changed  # 171 of 638 on the sample
    assert checked >= 120, checked  # 132 valid instances
