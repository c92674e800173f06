"""Response models: every kind of thing a caller can ask for, behind one abstraction."""

from __future__ import annotations

from instructor_py.response_models.base import ResponseModel
from instructor_py.response_models.factory import SUPPORTED, to_response_model
from instructor_py.response_models.maybe import Maybe, MaybeResult
from instructor_py.response_models.sequence import Sequence

__all__ = ["SUPPORTED", "Maybe", "MaybeResult", "ResponseModel", "Sequence", "to_response_model"]
