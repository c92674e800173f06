"""Streaming: incremental JSON parsing, partial model snapshots, sequence tracking."""

from __future__ import annotations

from instructor_py.streaming.assembler import StreamAssembler
from instructor_py.streaming.json_parser import (
    IncrementalJsonParser,
    ItemCompleted,
    JsonStreamError,
    ValueCompleted,
)
from instructor_py.streaming.locator import JsonTextLocator
from instructor_py.streaming.partial_model import (
    PartialModel,
    model_shape,
    partial_model,
    shape_for,
)
from instructor_py.streaming.sequence import SequenceTracker
from instructor_py.streaming.shapes import MISSING, RAW_SHAPE, PartialList, Shape

__all__ = [
    "MISSING",
    "RAW_SHAPE",
    "IncrementalJsonParser",
    "ItemCompleted",
    "JsonStreamError",
    "JsonTextLocator",
    "PartialList",
    "PartialModel",
    "SequenceTracker",
    "Shape",
    "StreamAssembler",
    "ValueCompleted",
    "model_shape",
    "partial_model",
    "shape_for",
]
