"""What the local provider answers: the decoded chunks mapped to deltas (content, or a tool
call's arguments in TOOLS mode), the last one with the usage and the :class:`LocalGeneration`
record of what the decode loop did."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from instructor_py.common.errors import ContextOverflowError
from instructor_py.common.modes import OutputMode
from instructor_py.common.usage import Usage
from instructor_py.engine.handle import CompiledGrammarHandle
from instructor_py.providers.base import InferenceDelta, InferenceRequest
from instructor_py.providers.local_choices import ChoiceOutcome
from instructor_py.runtime.generation import DecodeChunk, DecodeOptions, DecodeStats
from instructor_py.runtime.model import LocalModel
from instructor_py.runtime.sampling import SamplingParams

__all__ = ["LocalGeneration", "map_chunks"]


@dataclass(frozen=True, slots=True)
class LocalGeneration:
    """``InferenceResponse.raw`` of the local provider: what the decode loop did. ``segments``:
    the ``(label, text)`` parts of a composite answer (template variables, ``"thinking"`` and
    ``"json"``), from the matcher's captures."""

    model: str
    token_ids: tuple[int, ...]
    finish_reason: str
    stats: DecodeStats
    backend: str | None = None
    exact: bool = True
    sampling: SamplingParams | None = None  # how this attempt sampled (retries differ)
    segments: tuple[tuple[str, str], ...] = ()
    #: JSON path of each choice field decided by scoring -> {value: calibrated probability}
    field_probabilities: Mapping[str, Mapping[Any, float]] = field(default_factory=dict)
    #: decodes the answer took (1, or more when a scored choice changed a decoded value)
    decodes: int = 1
    #: forward passes and seconds spent scoring the choice fields' options
    scoring_passes: int = 0
    scoring_seconds: float = 0.0
    #: the answer fell into a loop and was resumed from its valid part
    #: (:mod:`~instructor_py.providers.local_resume`): the looped decode's tokens, dropped
    #: (counted in ``usage.output_tokens`` too)
    resumed_after_loop: bool = False
    dropped_tokens: int = 0
    #: trailing optional keys the answer wrote and the input gave no evidence for, dropped
    #: (:mod:`~instructor_py.providers.local_optional`)
    dropped_keys: tuple[str, ...] = ()
    #: keys the input mentions, written by the provider (a flag, an option or a list of options
    #: with the value the input states; :mod:`~instructor_py.providers.local_mentions`)
    mentioned_keys: tuple[str, ...] = ()
    #: keys whose value the input did not give (an integer, or a string that slipped while
    #: copying), replaced by the input's value the model scored likeliest
    #: (:mod:`~instructor_py.providers.local_numbers`, :mod:`~instructor_py.providers.local_copies`)
    replaced_from_input: tuple[str, ...] = ()


def map_chunks(
    chunks: Iterator[DecodeChunk],
    request: InferenceRequest,
    model: LocalModel,
    prompt_tokens: int,
    handle: CompiledGrammarHandle | None,
    options: DecodeOptions,
    choices: ChoiceOutcome | None = None,
    dropped: int = 0,
    dropped_keys: tuple[str, ...] = (),
    mentioned_keys: tuple[str, ...] = (),
    replaced_from_input: tuple[str, ...] = (),
) -> Iterator[InferenceDelta]:
    """The decoded chunks as deltas: content, or a tool call's arguments in TOOLS mode; the last
    one with the usage and the :class:`LocalGeneration`. An answer the context cut short of
    ``max_tokens`` is a :class:`ContextOverflowError`."""
    max_tokens = options.max_tokens
    tool = request.tool if request.mode is OutputMode.TOOLS else None
    call_id = f"call_local_{uuid.uuid4().hex[:16]}"
    first = True
    tokens: list[int] = []
    for chunk in chunks:
        tokens.extend(chunk.token_ids)
        if chunk.finish_reason is None and not chunk.text:
            continue
        if chunk.finish_reason == "length" and len(tokens) < max_tokens:
            raise ContextOverflowError(
                f"the answer filled the model's context ({model.n_ctx} tokens, "
                f"{prompt_tokens} of them prompt) after {len(tokens)} tokens, short of "
                f"max_tokens={max_tokens}; load the model with a larger n_ctx "
                "(using('local', n_ctx=...)) or shorten the messages"
            )
        usage: Usage | None = None
        raw: LocalGeneration | None = None
        if chunk.finish_reason is not None and chunk.stats is not None:
            usage = Usage(
                input_tokens=chunk.stats.prompt_tokens,
                output_tokens=len(tokens) + dropped,
                cache_read_tokens=min(chunk.stats.reused_tokens, chunk.stats.prompt_tokens),
            )
            raw = LocalGeneration(
                model=model.name,
                token_ids=tuple(tokens),
                finish_reason=chunk.finish_reason,
                stats=chunk.stats,
                backend=handle.backend if handle is not None else None,
                exact=handle.exact if handle is not None else False,
                sampling=options.sampling,
                segments=tuple(handle.segments()) if handle is not None else (),
                field_probabilities=dict(choices.probabilities) if choices else {},
                decodes=choices.decodes if choices else 1,
                scoring_passes=choices.scoring_passes if choices else 0,
                scoring_seconds=choices.scoring_seconds if choices else 0.0,
                resumed_after_loop=dropped > 0,
                dropped_tokens=dropped,
                dropped_keys=dropped_keys,
                mentioned_keys=mentioned_keys,
                replaced_from_input=replaced_from_input,
            )
        if tool is not None:
            yield InferenceDelta(
                tool_arguments=chunk.text,
                tool_name=tool.name if first else None,
                tool_call_id=call_id if first else None,
                finish_reason=chunk.finish_reason,
                usage=usage,
                raw=raw,
                finish_detail=chunk.detail,
            )
        else:
            yield InferenceDelta(
                content=chunk.text,
                finish_reason=chunk.finish_reason,
                usage=usage,
                raw=raw,
                finish_detail=chunk.detail,
            )
        first = False
