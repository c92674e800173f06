"""``classify``: one label for a text, chosen by the model's calibrated probability of each label.

::

    from instructor_py.local import classify

    result = classify("broke after two days, terrible. Rating: 1 star.", Sentiment)
    result.label            # Sentiment.NEGATIVE
    result.probabilities    # {Sentiment.POSITIVE: 0.03, Sentiment.NEGATIVE: 0.95, ...}

Labels: an ``Enum`` class (its members), a ``Literal[...]`` type (its values), ``bool`` (``yes`` /
``no``) or a list of strings.

The model is asked for JSON (``{"sentiment": ...}``) and each label is scored as the whole value
written there (the sum of its tokens' log-probabilities, :mod:`instructor_py.runtime.scoring`).
The prompt never depends on the order you give the labels in: it lists them in sorted order, and
by default once per rotation of that order, with the log-probabilities averaged, so the model's
bias toward the first (or last) option listed cancels ("order" calibration). ``calibrate=
"content-free"`` also divides by what the same prompts give without the text (Zhao et al.'s
contextual calibration, :mod:`instructor_py.runtime.choice`). Messages instead of a text: the last
user message is the input (its content is what the content-free prompts replace); a system
message listing the labels is added in front unless the messages have one (and no
``instructions`` are given).
"""

from __future__ import annotations

import enum
import json
import re
import time
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from instructor_py.common.errors import ConfigurationError
from instructor_py.runtime.choice import CONTENT_FREE_INPUTS, choose
from instructor_py.runtime.model import LocalModel, ModelOptions, load_model
from instructor_py.runtime.session import session_for

__all__ = ["Classification", "classify", "label_options"]

DEFAULT_INSTRUCTIONS = "Classify the text."


@dataclass(frozen=True)
class Classification:
    """``label``: the chosen label (an enum member, a literal value, a bool or a string);
    ``probabilities``: label -> calibrated probability (summing to 1); ``raw_probabilities``:
    before the content-free correction (averaged over the orders); ``prior``: the content-free
    probabilities; ``calibrated``: whether a calibration ran and ``calibration`` which one;
    ``seconds`` and ``forward_passes``: what it cost."""

    label: Any
    probabilities: dict[Any, float]
    calibrated: bool
    raw_probabilities: dict[Any, float] = field(default_factory=dict)
    prior: dict[Any, float] = field(default_factory=dict)
    calibration: str = "order"
    seconds: float = 0.0
    forward_passes: int = 0

    @property
    def confidence(self) -> float:
        return self.probabilities[self.label]


def field_name(labels: Any) -> str:
    """The JSON key the answer is written under: an Enum's class name in snake case, else
    ``label``."""
    if isinstance(labels, type) and issubclass(labels, enum.Enum):
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", labels.__name__).lower()
        if name.isidentifier():
            return name
    return "label"


def label_options(labels: Any) -> list[tuple[Any, str]]:
    """``(label, text)`` pairs for an Enum class, a Literal type, ``bool`` or a list of labels."""
    if labels is bool:
        return [(True, "yes"), (False, "no")]
    if isinstance(labels, type) and issubclass(labels, enum.Enum):
        pairs = [(m, str(m.value)) for m in labels]
    elif typing.get_origin(labels) is typing.Literal:
        pairs = [(v, _text(v)) for v in typing.get_args(labels)]
    elif isinstance(labels, Sequence) and not isinstance(labels, str | bytes):
        pairs = [(v, _text(v)) for v in labels]
    else:
        raise ConfigurationError(
            f"classify: labels must be an Enum class, a Literal[...] type, bool or a list of "
            f"strings, got {labels!r}"
        )
    if len(pairs) < 2:
        raise ConfigurationError(f"classify: give at least two labels, got {labels!r}")
    texts = [t for _, t in pairs]
    if len(set(texts)) != len(texts) or any(not t.strip() for t in texts):
        raise ConfigurationError(f"classify: the labels must be distinct and non-empty: {texts!r}")
    return pairs


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, str | int | float):
        return str(value)
    raise ConfigurationError(f"classify: a label must be a string or a number, got {value!r}")


Calibration = Literal["order", "content-free", "none"]


def classify(
    text_or_messages: str | Sequence[Mapping[str, Any]],
    labels: Any,
    *,
    instructions: str | None = None,
    model: LocalModel | ModelOptions | None = None,
    calibrate: bool | Calibration = True,
) -> Classification:
    """Choose one of ``labels`` for the text (see the module docs). ``model``: a loaded
    :class:`LocalModel` or :class:`ModelOptions` (default: the embedded model).

    ``calibrate``: ``"order"`` (or True, the default) scores the labels with the prompt listing
    them in each rotation of their sorted order and averages the log-probabilities, so every
    label is seen in every position once (the position bias cancels); ``"content-free"`` also
    divides by the distribution the same prompts give without the text (the model's prior);
    ``"none"`` (or False) reads one prompt as it is."""
    method = _method(calibrate)
    pairs = label_options(labels)
    local = model if isinstance(model, LocalModel) else load_model(model)
    session = session_for(local)
    key = field_name(labels)
    texts = sorted(t for _, t in pairs)
    orders = [texts[i:] + texts[:i] for i in range(len(texts))] if method != "none" else [texts]
    head = f'{{"{key}": '  # the answer as the model writes JSON; the label is its value
    options = [json.dumps(t) for _, t in pairs]
    started = time.perf_counter()
    logps: list[npt.NDArray[np.float64]] = []
    priors: list[npt.NDArray[np.float64]] = []
    passes = 0
    for order in orders:
        listing = ", ".join(json.dumps(t) for t in order)
        system = (
            f'{instructions or DEFAULT_INSTRUCTIONS} Answer in JSON: {{"{key}": one of {listing}}}.'
        )
        messages = _messages(text_or_messages, system, instructions is not None)
        free = (
            [session.render_text(_without_input(messages, f)) + head for f in CONTENT_FREE_INPUTS]
            if method == "content-free"
            else []
        )
        scores = choose(session, session.render_text(messages) + head, options, free)
        passes += scores.forward_passes
        logps.append(np.log(np.maximum(np.array(scores.raw), 1e-300)))
        if scores.prior:
            priors.append(np.array(scores.prior))
    mean = np.mean(logps, axis=0)
    raw = _softmax(mean)
    prior = np.mean(priors, axis=0) if priors else np.zeros(0)
    final = _softmax(mean - np.log(np.maximum(prior, 1e-300))) if priors else raw
    labels_ = [label for label, _ in pairs]
    return Classification(
        label=labels_[int(np.argmax(final))],
        probabilities=dict(zip(labels_, (float(p) for p in final), strict=True)),
        calibrated=method != "none",
        raw_probabilities=dict(zip(labels_, (float(p) for p in raw), strict=True)),
        prior=dict(zip(labels_, (float(p) for p in prior), strict=True)) if priors else {},
        calibration=method,
        seconds=time.perf_counter() - started,
        forward_passes=passes,
    )


def _method(calibrate: bool | str) -> Calibration:
    if calibrate is True:
        return "order"
    if calibrate is False:
        return "none"
    if calibrate in ("order", "content-free", "none"):
        return calibrate  # type: ignore[return-value]
    raise ConfigurationError(
        f"classify: calibrate must be True/False or 'order', 'content-free', 'none'; got "
        f"{calibrate!r}"
    )


def _softmax(logp: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    shifted = np.exp(logp - logp.max())
    out: npt.NDArray[np.float64] = shifted / shifted.sum()
    return out


def _messages(
    source: str | Sequence[Mapping[str, Any]], system: str, add_system: bool
) -> list[dict[str, Any]]:
    if isinstance(source, str):
        return [{"role": "system", "content": system}, {"role": "user", "content": source}]
    if not isinstance(source, Sequence) or not all(isinstance(m, Mapping) for m in source):
        raise ConfigurationError(
            "classify: pass a text or a list of messages ({'role': ..., 'content': ...})"
        )
    messages: list[dict[str, Any]] = [dict(m) for m in source]  # type: ignore[arg-type]
    if not any(m.get("role") == "user" for m in messages):
        raise ConfigurationError("classify: the messages hold no user message (the input)")
    if add_system or not any(m.get("role") == "system" for m in messages):
        messages.insert(0, {"role": "system", "content": system})
    return messages


def _without_input(messages: list[dict[str, Any]], filler: str) -> list[dict[str, Any]]:
    """The messages with the last user message's content replaced by ``filler``."""
    out = [dict(m) for m in messages]
    for m in reversed(out):
        if m.get("role") == "user":
            m["content"] = filler
            break
    return out
