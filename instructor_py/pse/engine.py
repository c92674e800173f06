"""`StructuringEngine`: a framework-agnostic logits processor and sampler, in the style of the
Proxy Structuring Engine, built on the orchestrator, its matchers (llguidance by default) and
`BatchProcessor`.

Any generation loop can call it::

    engine = StructuringEngine(tokenizer)          # HF tokenizer, llama_cpp.Llama or TokenizerInfo
    engine.configure(User)                          # pydantic, JSON schema, function, list, spec
    while not engine.has_reached_accept_state:
        logits = model(input_ids)
        logits = engine.process_logits(input_ids, logits)   # invalid tokens -> -inf
        tokens = engine.sample(logits, np.argmax)           # checks, resamples, advances
        input_ids = append(input_ids, tokens)
    user = engine.get_structured_output(User)

A framework that samples by itself (llama-cpp-python's ``logits_processor``, transformers'
``generate``) only calls ``process_logits``: the engine reads the tokens it chose from the next
``input_ids`` (the prompt is what the first call saw). ``input_ids`` that do not extend the
previous ones start a new generation.

Control tokens: special tokens are masked unless named in ``whitelist_control_tokens`` (those are
always allowed and pass through without advancing the structure; a whitelisted end-of-sequence
token ends the row). The tokenizer's EOS is allowed exactly when the structure accepts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from instructor_py.common.errors import ConfigurationError, StructuredOutputParseError
from instructor_py.engine.orchestrator import StructuredOutputOrchestrator
from instructor_py.engine.tokenizer import TokenizerInfo
from instructor_py.pse.adapters.arrays import (
    mask_scores,
    read_scores,
    read_token_ids,
    token_output,
)
from instructor_py.pse.adapters.tokenizer_source import tokenizer_info_of
from instructor_py.pse.output import parse_value, segments
from instructor_py.pse.rows import EngineRows
from instructor_py.pse.sources import EngineStructure, build_structure
from instructor_py.pse.stepper import EngineStepper

__all__ = ["EngineStepper", "EngineStructure", "StructuringEngine"]

_CONFIGURE_OPTIONS = ("delimiters", "buffer_length", "whitespace")


class StructuringEngine:
    """Constrains any generation loop to a structure (see the module docs).

    ``tokenizer``: a Hugging Face tokenizer (``PreTrainedTokenizerFast`` /
    ``PreTrainedTokenizerBase`` or a ``tokenizers.Tokenizer``), a ``llama_cpp.Llama``, our
    ``LocalModel`` or a :class:`TokenizerInfo`. ``whitelist_control_tokens``: control-token
    strings never masked. ``multi_token_sampling``: ``sample`` also returns the tokens the grammar
    forces after the sampled one. ``max_resample_attempts``: how often ``sample`` asks the sampler
    again (the rejected tokens masked) before it takes the best valid token itself.
    ``orchestrator``: share one (and its compile cache) between engines.
    """

    def __init__(
        self,
        tokenizer: Any,
        whitelist_control_tokens: Sequence[str] | None = None,
        multi_token_sampling: bool = False,
        max_resample_attempts: int = 5,
        *,
        orchestrator: StructuredOutputOrchestrator | None = None,
    ) -> None:
        if isinstance(max_resample_attempts, bool) or not isinstance(max_resample_attempts, int):
            raise ConfigurationError(
                f"max_resample_attempts must be an int >= 0, got {max_resample_attempts!r}."
            )
        if max_resample_attempts < 0:
            raise ConfigurationError(
                f"max_resample_attempts must be >= 0, got {max_resample_attempts}."
            )
        self._info = tokenizer_info_of(tokenizer)
        if orchestrator is not None and orchestrator.tokenizer_info != self._info:
            raise ConfigurationError(
                "StructuringEngine: the orchestrator was built for another tokenizer."
            )
        if orchestrator is None:  # our LocalModel has one (and its compile cache) per model
            own = getattr(tokenizer, "orchestrator", None)
            if isinstance(own, StructuredOutputOrchestrator) and own.tokenizer_info == self._info:
                orchestrator = own
        self._orch = orchestrator or StructuredOutputOrchestrator(self._info)
        self.multi_token_sampling = bool(multi_token_sampling)
        self.max_resample_attempts = max_resample_attempts
        self._vocab = self._info.vocab_size
        self._special = frozenset(self._info.special_token_ids)
        self._rows = EngineRows(
            self._orch, frozenset(self._control_ids(whitelist_control_tokens or ()))
        )
        self._structure: EngineStructure | None = None
        self._mtm_last: dict[int, list[int]] = {}
        self._mtm_user: dict[int, list[int]] = {}
        self._vocabulary: dict[str, list[int]] | None = None
        self._reverse: dict[int, str] | None = None

    def _control_ids(self, names: Iterable[str]) -> list[int]:
        if isinstance(names, str):
            raise ConfigurationError(
                "whitelist_control_tokens must be a list of token strings, not one string."
            )
        by_bytes: dict[bytes, int] = {}
        for tid in sorted(self._info.special_token_ids):
            by_bytes.setdefault(self._info.token_bytes[tid], tid)
        ids: list[int] = []
        for name in names:
            found = by_bytes.get(name.encode("utf-8")) if isinstance(name, str) else None
            if found is None:
                raise ConfigurationError(
                    f"whitelist_control_tokens: {name!r} is not a control token of this "
                    f"tokenizer; control tokens look like {self._example_controls()}."
                )
            ids.append(found)
        return ids

    def _example_controls(self) -> str:
        names = [
            self._info.token_bytes[t].decode("utf-8", "replace") for t in sorted(self._special)
        ]
        return ", ".join(repr(n) for n in names[:4]) or "(none)"

    # --- configuration --------------------------------------------------------------------------

    def configure(self, structure: Any, **kwargs: Any) -> None:
        """Compile ``structure`` (pydantic class, JSON-schema dict, function, list/tuple of these
        as any-of, a ConstraintSpec, or an :class:`EngineStructure`) and start a new generation.

        kwargs: ``delimiters=(open, close)``, ``buffer_length`` (max characters of free text
        before the opening delimiter; -1 none; default no limit), ``whitespace``.
        """
        unknown = sorted(set(kwargs) - set(_CONFIGURE_OPTIONS))
        if unknown:
            raise ConfigurationError(
                f"configure: unknown option(s) {', '.join(unknown)}; the options are "
                f"{', '.join(_CONFIGURE_OPTIONS)}."
            )
        if isinstance(structure, EngineStructure):
            if kwargs:
                raise ConfigurationError(
                    "configure: an EngineStructure already holds its options; pass the source "
                    "(structure.source) with the new options instead."
                )
            built = structure
        else:
            built = build_structure(structure, **kwargs)
        handle = self._orch.compile(built.spec)
        self._structure = built
        self._rows.reset(handle)
        self._mtm_last = {}
        self._mtm_user = {}

    @property
    def state_machine(self) -> EngineStructure | None:
        """The configured structure (None before ``configure`` or after a hard reset)."""
        return self._structure

    @state_machine.setter
    def state_machine(self, structure: Any) -> None:
        if structure is None:
            self.reset(hard_reset=True)
        else:
            self.configure(structure)

    def reset(self, hard_reset: bool = False) -> None:
        """Back to the start of a generation (one fresh stepper); ``hard_reset`` also removes the
        structure."""
        if hard_reset:
            self._structure = None
        self._rows.reset(None if self._structure is None else self._rows.handle)
        self._mtm_last = {}
        self._mtm_user = {}

    # --- state ------------------------------------------------------------------------------------

    @property
    def steppers(self) -> list[EngineStepper]:
        """One state per batch row (clone them to save a state; assign a list to restore)."""
        return self._rows.steppers

    @steppers.setter
    def steppers(self, value: Sequence[EngineStepper]) -> None:
        if self._structure is None:
            raise ConfigurationError("steppers: no structure configured; call configure() first.")
        items = list(value)
        if not items or not all(isinstance(s, EngineStepper) for s in items):
            raise ConfigurationError("steppers must be a non-empty list of EngineStepper.")
        if any(s.handle.spec != self._structure.spec for s in items):
            raise ConfigurationError(
                "steppers: a stepper belongs to another structure; configure that structure first."
            )
        self._rows.set_steppers(items)

    @property
    def has_reached_accept_state(self) -> bool:
        """Every row's output is a complete match of the structure."""
        steppers = self._rows.steppers
        return bool(steppers) and all(s.is_accepting() for s in steppers)

    @property
    def is_terminated(self) -> bool:
        """Every row is done: its structure is complete and closed, or it emitted an EOS."""
        steppers = self._rows.steppers
        return bool(steppers) and all(s.is_terminated() for s in steppers)

    @property
    def tokenizer_info(self) -> TokenizerInfo:
        return self._info

    @property
    def vocabulary(self) -> dict[str, list[int]]:
        """Token text -> token ids (several ids may share a text)."""
        if self._vocabulary is None:
            vocab: dict[str, list[int]] = {}
            for tid, text in self.reverse_vocabulary.items():
                vocab.setdefault(text, []).append(tid)
            self._vocabulary = vocab
        return self._vocabulary

    @property
    def reverse_vocabulary(self) -> dict[int, str]:
        """Token id -> token text (bytes that are not UTF-8 on their own show as U+FFFD)."""
        if self._reverse is None:
            self._reverse = {
                i: b.decode("utf-8", errors="replace") for i, b in enumerate(self._info.token_bytes)
            }
        return self._reverse

    @property
    def multi_token_mapping(self) -> dict[int, list[int]]:
        """Sampled token -> the whole token sequence the last ``sample`` returned for it (with
        ``multi_token_sampling``). Assign entries to have the next ``sample`` extend those tokens
        (as far as the structure allows)."""
        return {**self._mtm_last, **self._mtm_user}

    @multi_token_mapping.setter
    def multi_token_mapping(self, mapping: dict[int, list[int]]) -> None:
        try:
            self._mtm_user = {int(k): [int(t) for t in v] for k, v in dict(mapping).items()}
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(
                "multi_token_mapping must map token ids to lists of token ids."
            ) from exc

    # --- the two hooks ----------------------------------------------------------------------------

    def process_logits(self, input_ids: Any, scores: Any) -> Any:
        """Set the scores of tokens the structure does not allow next to ``-inf`` (in place) and
        return ``scores``. ``input_ids`` (or None) tells which tokens a framework chose since the
        last call."""
        if self._mtm_last:
            self._mtm_last = {}
        rows = self._rows
        if rows.mask_row(input_ids, scores):  # the per-token case: one numpy row
            return scores
        info = read_scores(scores, "scores")
        rows.ensure(info, "process_logits")
        if input_ids is not None:
            rows.sync(input_ids, info.batch)
        bitmask = rows.fill()
        return mask_scores(scores, info, bitmask, self._vocab)

    def sample(self, logprobs: Any, sampler: Callable[..., Any]) -> Any:
        """Sample with ``sampler``, check each row's token, resample invalid ones (up to
        ``max_resample_attempts`` times, the rejected tokens masked) or take the best valid token,
        advance the state, and return the token ids in ``logprobs``' array type: ``(n,)`` for 1-D
        logprobs, ``(batch,)`` for batched ones (with ``multi_token_sampling``: the forced tokens
        follow the sampled one; a batch then gives a list of 1-D arrays)."""
        rows = self._rows
        if not (self.multi_token_sampling or self._mtm_user):
            token = rows.sample_row(logprobs, sampler, self.max_resample_attempts)
            if token is not None:  # the per-token case: one numpy row
                if self._mtm_last:
                    self._mtm_last = {}
                return token
        info = read_scores(logprobs, "logprobs")
        rows.ensure(info, "sample")
        chosen = read_token_ids(sampler(logprobs), info.batch)
        user, self._mtm_user = self._mtm_user, {}
        last: dict[int, list[int]] = {}
        out: list[list[int]] = []
        for i, st in enumerate(rows.steppers):
            if st.finished:
                pad = self._info.eos_token_ids[0]
                st.push(pad)
                out.append([pad])
                continue
            t = rows.choose(i, chosen[i], logprobs, info, sampler, self.max_resample_attempts)
            seq = [t]
            if self.multi_token_sampling and not st.is_terminated():
                cont = user.get(t)
                if cont:
                    seq += rows.extend(i, cont[1:] if cont[0] == t else cont)
                if not st.is_terminated():
                    seq += rows.forced(i)
                if len(seq) > 1:
                    last[t] = list(seq)
            out.append(seq)
        self._mtm_last = last
        return token_output(out, logprobs, info, self.multi_token_sampling)

    # --- outputs ------------------------------------------------------------------------------------

    def sync(self, input_ids: Any, batch: int | None = None) -> None:
        """Advance the rows by the tokens ``input_ids`` holds beyond what the engine has seen
        (the tokens a framework sampled itself); the first call records the prompt."""
        self._require("sync")
        self._rows.sync(input_ids, len(self._rows.steppers) if batch is None else batch)

    def _require(self, what: str) -> EngineStructure:
        if self._structure is None:
            raise ConfigurationError(
                f"{what}: no structure is configured; call engine.configure(structure) first."
            )
        return self._structure

    def _stepper(self, index: int, what: str) -> EngineStepper | None:
        self._require(what)
        steppers = self._rows.steppers
        if not 0 <= index < len(steppers):
            raise ConfigurationError(
                f"{what}: row {index} out of range; the generation has {len(steppers)} row(s)."
            )
        st = steppers[index]
        return st if st.token_ids else None

    def get_structured_output(
        self, output_type: Any = None, raise_on_error: bool = False, *, index: int = 0
    ) -> Any:
        """The structured part of row ``index``'s output, parsed (JSON) and validated as
        ``output_type`` when given. None before anything was generated. On a parse or validation
        failure: raises StructuredOutputParseError with ``raise_on_error``, else logs a warning
        and returns the raw text (or the parsed JSON)."""
        structure = self._require("get_structured_output")
        st = self._stepper(index, "get_structured_output")
        found = None
        if st is not None and structure.delimiters is None:
            found = (structure.label, st.text)
        elif st is not None:
            found = next(
                (s for s in reversed(segments(structure, st, False)) if s[0] == structure.label),
                None,
            )
        if found is None:
            if raise_on_error:
                raise StructuredOutputParseError(
                    "get_structured_output: the structured part has not been generated yet."
                )
            return None
        return parse_value(structure, found[0], found[1], output_type, raise_on_error)

    def get_stateful_structured_output(
        self, output_type: Any = None, raise_on_error: bool = False, *, index: int = 0
    ) -> Iterator[tuple[str, Any]]:
        """``(label, value)`` for each segment of row ``index``'s output: with delimiters the free
        text (``"text"``) then the structure (``"json"``...); a grammar with captures, each
        capture. ``output_type`` applies to the structured segments."""
        structure = self._require("get_stateful_structured_output")
        st = self._stepper(index, "get_stateful_structured_output")
        if st is None:
            return
        for label, text in segments(structure, st, False):
            if label == structure.label or not structure.is_json:
                yield label, parse_value(structure, label, text, output_type, raise_on_error)
            else:
                yield label, text

    def get_live_structured_output(self, *, index: int = 0) -> tuple[str, str] | None:
        """``(label, text so far)`` of the segment being generated (no torn UTF-8), or None."""
        structure = self._require("get_live_structured_output")
        st = self._stepper(index, "get_live_structured_output")
        if st is None:
            return None
        return segments(structure, st, True)[-1]

    # --- integrations ---------------------------------------------------------------------------------

    def llama_logits_processor(self) -> Any:
        """For ``Llama.create_completion(logits_processor=...)``: a ``LogitsProcessorList`` with
        this engine (starts a new generation: make one per call)."""
        from instructor_py.pse.adapters.llama_cpp import llama_logits_processor

        return llama_logits_processor(self)

    def llama_stopping_criteria(self) -> Any:
        """For ``Llama.create_completion(stopping_criteria=...)``: stops once every row is done."""
        from instructor_py.pse.adapters.llama_cpp import llama_stopping_criteria

        return llama_stopping_criteria(self)

    def hf_logits_processor(self) -> Any:
        """A transformers ``LogitsProcessorList`` for ``model.generate`` (needs torch)."""
        from instructor_py.pse.adapters.hf_generation import hf_logits_processor

        return hf_logits_processor(self)

    def hf_stopping_criteria(self) -> Any:
        """A transformers ``StoppingCriteriaList`` for ``model.generate`` (needs torch)."""
        from instructor_py.pse.adapters.hf_generation import hf_stopping_criteria

        return hf_stopping_criteria(self)

    def __repr__(self) -> str:
        what = self._structure.spec.describe() if self._structure else "not configured"
        return f"StructuringEngine({self._info.name!r}, {what}, rows={len(self._rows.steppers)})"
