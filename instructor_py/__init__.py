"""instructor_py: turn LLM output into validated Python objects."""

from __future__ import annotations

from instructor_py.attempts import Attempt
from instructor_py.errors import (
    AuthenticationError,
    ConfigurationError,
    InstructorError,
    ProviderError,
    StructuredOutputRetryError,
    TransportError,
    UnsupportedModeError,
    UnsupportedResponseModelError,
)
from instructor_py.modes import OutputMode
from instructor_py.usage import Usage

__all__ = [
    "Attempt",
    "AuthenticationError",
    "ConfigurationError",
    "InstructorError",
    "OutputMode",
    "ProviderError",
    "StructuredOutputRetryError",
    "TransportError",
    "UnsupportedModeError",
    "UnsupportedResponseModelError",
    "Usage",
]
