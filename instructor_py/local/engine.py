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

import numpy as np

from instructor_py.errors import ConfigurationError, ConstraintError, StructuredOutputParseError
from instructor_py.local.adapters.arrays import (
    ScoresInfo,
    input_id_rows,
    mask_scores,
    numpy_row,
    read_scores,
    read_token_ids,
    row_for_sampler,
    token_output,
)
from instructor_py.local.batch import BatchProcessor
from instructor_py.local.bitmask import apply_bitmask, bitmask_words, set_token_bits
from instructor_py.local.engine_output import parse_value, segments
from instructor_py.local.engine_sources import EngineStructure, build_structure
from instructor_py.local.engine_stepper import EngineStepper
from instructor_py.local.handle import CompiledGrammarHandle
from instructor_py.local.orchestrator import StructuredOutputOrchestrator
from instructor_py.local.tokenizer import TokenizerInfo

__all__ = ["EngineStepper", "EngineStructure", "StructuringEngine"]

_CONFIGURE_OPTIONS = ("delimiters", "buffer_length", "whitespace")


def tokenizer_info_of(tokenizer: Any) -> TokenizerInfo:
    """A :class:`TokenizerInfo` for anything ``StructuringEngine`` accepts as a tokenizer."""
    from instructor_py.local.adapters.hf_tokenizer import is_hf_tokenizer

    if isinstance(tokenizer, TokenizerInfo):
        return tokenizer
    info = getattr(tokenizer, "tokenizer_info", None)  # our LocalModel
    if isinstance(info, TokenizerInfo):
        return info
    if type(tokenizer).__module__.startswith("llama_cpp") and hasattr(tokenizer, "model"):
        return TokenizerInfo.from_llama(tokenizer)
    if is_hf_tokenizer(tokenizer):
        return TokenizerInfo.from_hf(tokenizer)
    raise ConfigurationError(
        f"StructuringEngine: cannot read a vocabulary from {type(tokenizer).__name__}; pass a "
        "Hugging Face tokenizer (transformers or tokenizers), a llama_cpp.Llama or a TokenizerInfo."
    )


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
        self._eos = frozenset(self._info.eos_token_ids)
        self._special = frozenset(self._info.special_token_ids)
        self._whitelist = frozenset(self._control_ids(whitelist_control_tokens or ()))
        self._structure: EngineStructure | None = None
        self._handle: CompiledGrammarHandle | None = None
        self._steppers: list[EngineStepper] = []
        self._processor: BatchProcessor | None = None
        self._width = 0
        self._fresh: list[bool] = []
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
        ids = []
        for name in names:
            tid = by_bytes.get(name.encode("utf-8")) if isinstance(name, str) else None
            if tid is None:
                raise ConfigurationError(
                    f"whitelist_control_tokens: {name!r} is not a control token of this "
                    f"tokenizer; control tokens look like {self._example_controls()}."
                )
            ids.append(tid)
        return ids

    def _example_controls(self) -> str:
        names = [self._info.token_bytes[t].decode("utf-8", "replace") for t in sorted(self._special)]
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
        built = structure if isinstance(structure, EngineStructure) else build_structure(
            structure, **kwargs
        )
        self._handle = self._orch.compile(built.spec)
        self._structure = built
        self.reset()

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
            self._handle = None
        self._steppers = [] if self._handle is None else [EngineStepper(self._handle.fresh())]
        self._processor = None
        self._fresh = [False] * len(self._steppers)
        self._mtm_last = {}
        self._mtm_user = {}

    # --- state ------------------------------------------------------------------------------------

    @property
    def steppers(self) -> list[EngineStepper]:
        """One state per batch row (clone them to save a state; assign a list to restore)."""
        return self._steppers

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
        self._steppers = items
        self._processor = None
        self._fresh = [False] * len(items)

    @property
    def has_reached_accept_state(self) -> bool:
        """Every row's output is a complete match of the structure."""
        return bool(self._steppers) and all(s.is_accepting() for s in self._steppers)

    @property
    def is_terminated(self) -> bool:
        """Every row is done: its structure is complete and closed, or it emitted an EOS."""
        return bool(self._steppers) and all(s.is_terminated() for s in self._steppers)

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
        info = read_scores(scores, "scores")
        self._rows(info, "process_logits")
        if input_ids is not None:
            self.sync(input_ids, info.batch)
        bitmask = self._fill()
        self._mtm_last = {}
        return mask_scores(scores, info, bitmask, self._vocab)

    def sample(self, logprobs: Any, sampler: Callable[..., Any]) -> Any:
        """Sample with ``sampler``, check each row's token, resample invalid ones (up to
        ``max_resample_attempts`` times, the rejected tokens masked) or take the best valid token,
        advance the state, and return the token ids in ``logprobs``' array type: ``(n,)`` for 1-D
        logprobs, ``(batch,)`` for batched ones (with ``multi_token_sampling``: the forced tokens
        follow the sampled one; a batch then gives a list of 1-D arrays)."""
        info = read_scores(logprobs, "logprobs")
        self._rows(info, "sample")
        chosen = read_token_ids(sampler(logprobs), info.batch)
        user, self._mtm_user = self._mtm_user, {}
        last: dict[int, list[int]] = {}
        rows: list[list[int]] = []
        for i, st in enumerate(self._steppers):
            if st.finished:
                pad = self._info.eos_token_ids[0]
                st.push(pad, b"")
                rows.append([pad])
                continue
            t = self._choose(i, st, chosen[i], logprobs, info, sampler)
            seq = [t]
            if self.multi_token_sampling and not st.is_terminated():
                cont = user.get(t)
                if cont:
                    seq += self._extend(i, st, cont[1:] if cont[0] == t else cont)
                seq += self._forced(i, st)
                if len(seq) > 1:
                    last[t] = list(seq)
            rows.append(seq)
        self._mtm_last = last
        return token_output(rows, logprobs, info, self.multi_token_sampling)

    # --- rows -------------------------------------------------------------------------------------

    def _require(self, what: str) -> EngineStructure:
        if self._structure is None or self._handle is None:
            raise ConfigurationError(
                f"{what}: no structure is configured; call engine.configure(structure) first."
            )
        return self._structure

    def _rows(self, info: ScoresInfo, what: str) -> None:
        if (
            self._processor is not None
            and info.batch == len(self._steppers)
            and info.width == self._width
        ):
            return  # the usual case: same rows, same width as the last call
        self._require(what)
        assert self._handle is not None
        if info.width < self._vocab:
            raise ConfigurationError(
                f"{what}: the scores have {info.width} columns but the tokenizer has {self._vocab} "
                "tokens; pass the full logits row (batch, vocab)."
            )
        if len(self._steppers) != info.batch:
            if any(s.token_ids or s.start is not None for s in self._steppers):
                raise ConfigurationError(
                    f"{what}: the batch has {info.batch} row(s) but this generation has "
                    f"{len(self._steppers)}; call engine.reset() before a new batch."
                )
            self._steppers = [EngineStepper(self._handle.fresh()) for _ in range(info.batch)]
            self._processor = None
        proc = self._processor
        if proc is None or proc.bitmask.shape[1] != bitmask_words(info.width):
            proc = BatchProcessor(self._orch, info.batch, vocab_size=info.width)
            for i, st in enumerate(self._steppers):
                proc.set_constraint(i, st.handle)
            self._processor = proc
            self._fresh = [False] * info.batch
        self._width = info.width

    def _fill(self) -> Any:
        proc = self._processor
        assert proc is not None
        steppers = self._steppers
        if len(steppers) == 1:  # one row: fill it directly (no executor hand-off)
            self._fresh[0] = False
            self._row_mask(0)
            return proc.bitmask
        bitmask = proc.fill_bitmask()
        for i, st in enumerate(steppers):
            self._patch_row(bitmask[i], st)
        self._fresh = [True] * len(steppers)
        return bitmask

    def _patch_row(self, row: Any, st: EngineStepper) -> None:
        if not (st.finished or self._whitelist):
            return
        if st.finished:  # ended by a whitelisted EOS while the structure was still open
            row[:] = 0
            set_token_bits(row, list(self._eos))
        if self._whitelist:
            set_token_bits(row, sorted(self._whitelist))

    def _row_mask(self, i: int) -> Any:
        assert self._processor is not None
        bitmask = self._processor.bitmask
        if not self._fresh[i]:
            st = self._steppers[i]
            if st.finished:
                bitmask[i] = 0
            else:
                st.matcher.inner.fill_next_token_bitmask(bitmask, i)
            self._patch_row(bitmask[i], st)
            self._fresh[i] = True
        return bitmask[i]

    def sync(self, input_ids: Any, batch: int | None = None) -> None:
        """Advance every row by the tokens ``input_ids`` holds beyond what the engine has seen
        (the tokens a framework sampled itself). The first call records the prompt."""
        rows = input_id_rows(input_ids, len(self._steppers) if batch is None else batch)
        if rows is None:
            return
        for i, (st, ids) in enumerate(zip(self._steppers, rows, strict=True)):
            n = int(ids.shape[0])
            if st.start is None:
                self._start(st, ids)
                continue
            known = st.start + len(st.token_ids)
            if n == known:
                continue
            last = st.token_ids[-1] if st.token_ids else st.anchor
            if n < known or (known > 0 and int(ids[known - 1]) != last):
                self._restart(rows)  # input ids of another generation
                return
            for t in ids[known:].tolist():
                self._feed(i, st, t)

    def _start(self, st: EngineStepper, ids: Any) -> None:
        st.start = int(ids.shape[0])
        st.anchor = int(ids[-1]) if ids.shape[0] else None

    def _restart(self, rows: list[Any]) -> None:
        assert self._handle is not None
        self._steppers = [EngineStepper(self._handle.fresh()) for _ in rows]
        for st, ids in zip(self._steppers, rows, strict=True):
            self._start(st, ids)
        self._processor = None
        self._rows(ScoresInfo("numpy", len(rows), self._info.logits_width, False), "sync")

    def _feed(self, i: int, st: EngineStepper, t: int) -> None:
        """A token the framework chose: it must be valid (it was sampled from masked scores)."""
        if st.finished:
            st.push(t, b"")  # padding after the row ended
            return
        if not self._accept(i, st, t):
            raise ConstraintError(
                f"token {t} ({self._info.token_bytes[t] if 0 <= t < self._vocab else 'out of range'!r}) "
                f"after {len(st.token_ids)} generated tokens is not allowed by the structure. Put "
                "the engine's processor last in the logits-processor list, and call engine.reset() "
                "(or create a new processor) before another generation."
            )

    def _accept(self, i: int, st: EngineStepper, t: int) -> bool:
        if not 0 <= t < self._vocab:
            return False
        if t in self._whitelist:
            st.push(t, b"")
            if t in self._eos:
                st.finished = True
            self._fresh[i] = False
            return True
        if not st.matcher.inner.accept_token(t):
            return False
        st.push(t, b"" if t in self._special else self._info.token_bytes[t])
        if t in self._eos:
            st.finished = True
        self._fresh[i] = False
        return True

    def _choose(
        self,
        i: int,
        st: EngineStepper,
        t: int,
        logprobs: Any,
        info: ScoresInfo,
        sampler: Callable[..., Any],
    ) -> int:
        banned: list[int] = []
        for attempt in range(self.max_resample_attempts + 1):
            if self._accept(i, st, t):
                return t
            banned.append(t)
            if attempt == self.max_resample_attempts:
                break
            t = read_token_ids(sampler(row_for_sampler(logprobs, info, i, banned)), 1)[0]
        values = numpy_row(logprobs, info, i)
        apply_bitmask(values, self._row_mask(i), self._vocab)
        if not np.isfinite(values).any():
            raise ConstraintError(
                "sample: no token allowed by the structure has a finite score "
                f"({st.matcher.get_error() or 'the scores mask out every valid token'})."
            )
        best = int(np.argmax(values))
        if not self._accept(i, st, best):
            raise ConstraintError(
                f"sample: the matcher refused token {best} that its own mask allowed "
                f"({st.matcher.get_error() or 'no error reported'})."
            )
        return best

    def _extend(self, i: int, st: EngineStepper, tokens: list[int]) -> list[int]:
        out = []
        for t in tokens:
            if t in self._whitelist or not self._accept(i, st, t):
                break
            out.append(t)
        return out

    def _forced(self, i: int, st: EngineStepper) -> list[int]:
        """Accept and return the tokens the grammar forces next (never an EOS): llguidance's
        forced tokens, then its forced bytes tokenized (the tail it leaves out), while either
        progresses."""
        out: list[int] = []
        m = st.matcher
        for _ in range(8):
            tokens = _until_eos(m.compute_ff_tokens(), self._eos)
            for t in tokens:
                if not self._accept(i, st, t):
                    raise ConstraintError(f"the matcher refused its own forced token {t}.")
            out += tokens
            data = m.compute_ff_bytes()
            extra = _until_eos(self._info.tokenize(data), self._eos) if data else []
            k = m.validate_tokens(extra) if extra else 0
            if k == 0:
                break
            for t in extra[:k]:
                self._accept(i, st, t)
            out += extra[:k]
        return out

    # --- outputs ------------------------------------------------------------------------------------

    def _stepper(self, index: int, what: str) -> EngineStepper | None:
        self._require(what)
        if not 0 <= index < len(self._steppers):
            raise ConfigurationError(
                f"{what}: row {index} out of range; the generation has {len(self._steppers)} row(s)."
            )
        st = self._steppers[index]
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
            if label == structure.label or structure.spec.kind == "grammar":
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
        from instructor_py.local.adapters.llama_cpp import llama_logits_processor

        return llama_logits_processor(self)

    def llama_stopping_criteria(self) -> Any:
        """For ``Llama.create_completion(stopping_criteria=...)``: stops once every row is done."""
        from instructor_py.local.adapters.llama_cpp import llama_stopping_criteria

        return llama_stopping_criteria(self)

    def hf_logits_processor(self) -> Any:
        """A transformers ``LogitsProcessorList`` for ``model.generate`` (needs torch)."""
        from instructor_py.local.adapters.hf_generation import hf_logits_processor

        return hf_logits_processor(self)

    def hf_stopping_criteria(self) -> Any:
        """A transformers ``StoppingCriteriaList`` for ``model.generate`` (needs torch)."""
        from instructor_py.local.adapters.hf_generation import hf_stopping_criteria

        return hf_stopping_criteria(self)

    def __repr__(self) -> str:
        what = self._structure.spec.describe() if self._structure else "not configured"
        return f"StructuringEngine({self._info.name!r}, {what}, rows={len(self._steppers)})"


def _until_eos(tokens: Sequence[int], eos: frozenset[int]) -> list[int]:
    out = []
    for t in tokens:
        if t in eos:
            break
        out.append(int(t))
    return out
