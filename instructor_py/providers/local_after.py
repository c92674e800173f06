"""What the local provider does with a decoded answer before it is sent, when part of it is to be
decoded again from a cut: an answer that fell into a loop resumes from its valid part
(:mod:`~instructor_py.providers.local_resume`), and trailing optional keys the input gives no
evidence for are dropped (:mod:`~instructor_py.providers.local_optional`). Both decode again
from a prefix of the answer (``DecodeOptions.prefix``) under the request's own constraint."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from instructor_py.common.errors import LocalModelError
from instructor_py.providers.local_choices import (
    content_free_messages,
    fix_values,
    last_user_text,
    value_spans,
)
from instructor_py.providers.local_copies import slipped_string
from instructor_py.providers.local_mentions import Mention, mention_edit
from instructor_py.providers.local_numbers import invented_integer
from instructor_py.providers.local_optional import decide_optional, grounded, without_keys
from instructor_py.providers.local_resume import resume_point
from instructor_py.runtime.generation import DecodeChunk, DecodeOptions

if TYPE_CHECKING:
    from instructor_py.engine.handle import CompiledGrammarHandle
    from instructor_py.providers.base import InferenceRequest
    from instructor_py.runtime.session import LocalSession

__all__ = [
    "Redecode",
    "Settled",
    "ground_values",
    "keep_optional",
    "resume_after_loop",
    "settle",
    "write_mentioned",
]

logger = logging.getLogger("instructor_py.providers.local")


@dataclass(frozen=True)
class Redecode:
    """What decoding again needs: the session, the rendered prompt, and the provider's own ways
    to compile a request's constraint and to read its decode options."""

    session: LocalSession
    prompt_text: str
    compile: Callable[[Any, InferenceRequest], CompiledGrammarHandle | None]
    decode_options: Callable[[InferenceRequest, str], DecodeOptions]

    def from_prefix(
        self, request: InferenceRequest, text: str
    ) -> tuple[list[DecodeChunk], CompiledGrammarHandle | None, DecodeOptions]:
        """The answer decoded again under ``request``'s constraint, starting with ``text`` (a
        :class:`LocalModelError` when the grammar refuses it)."""
        model = self.session.model
        again = self.compile(self.session, request)
        prefix = tuple(model.tokenize_bytes(text.encode("utf-8")))
        options = replace(self.decode_options(request, self.prompt_text), prefix=prefix)
        prompt = model.tokenize(self.prompt_text)
        return list(self.session.generate(prompt, again, options)), again, options


def resume_after_loop(
    redo: Redecode,
    request: InferenceRequest,
    decoded: list[DecodeChunk],
    options: DecodeOptions,
    default: bool,
) -> tuple[list[DecodeChunk], CompiledGrammarHandle | None, DecodeOptions] | None:
    """An answer that ended in a loop, decoded again from its valid part; None when there is
    nothing to resume (``resume_loops`` off: ``default`` unless the request says) or the
    grammar refuses the cut."""
    loop = options.repetition.found if options.repetition is not None else None
    if (
        loop is None
        or not decoded
        or decoded[-1].finish_reason != "repetition"
        or not request.options.get("resume_loops", default)
    ):
        return None
    point = resume_point("".join(c.text for c in decoded), loop)
    if point is None:
        return None
    try:
        resumed = redo.from_prefix(request, point.text)
    except LocalModelError as exc:  # the grammar refuses the cut: the loop stands
        logger.info("a looped answer could not be resumed: %s", exc)
        return None
    logger.info("a looped answer resumed after %d characters", point.kept)
    return resumed


def keep_optional(
    redo: Redecode,
    request: InferenceRequest,
    decoded: list[DecodeChunk],
    keep: tuple[str, ...] = (),
) -> (
    tuple[list[DecodeChunk], CompiledGrammarHandle | None, InferenceRequest, tuple[str, ...]] | None
):
    """The answer's trailing optional keys the input gives no evidence for, dropped: the answer
    decoded again from its cut under the schema without them (the request returned has that
    schema, so later decodes cannot write them again); None when every key stays. The keys
    ``keep`` (the input mentions them) are not scored."""
    free = content_free_messages(request.messages)
    if not decoded or decoded[-1].finish_reason != "stop" or free is None:
        return None
    session = redo.session
    decision = decide_optional(
        session,
        request.response_schema,
        redo.prompt_text,
        [session.render_text(m) for m in free],
        "".join(c.text for c in decoded),
        last_user_text(request.messages),
        keep,
    )
    if decision.cut is None:
        return None
    narrowed = replace(
        request, response_schema=without_keys(request.response_schema, decision.dropped)
    )
    try:
        chunks, again, _ = redo.from_prefix(narrowed, decision.cut)
    except LocalModelError as exc:  # the grammar refuses the cut: the keys stay
        logger.info("optional keys %s could not be dropped: %s", decision.dropped, exc)
        return None
    logger.info("dropped the optional keys %s the input gives no evidence for", decision.dropped)
    return chunks, again, narrowed, decision.dropped


def write_mentioned(
    redo: Redecode,
    request: InferenceRequest,
    decoded: list[DecodeChunk],
    mentions: list[Mention],
) -> tuple[list[DecodeChunk], CompiledGrammarHandle | None, InferenceRequest, tuple[str, ...]]:
    """The keys the input mentions, written (:mod:`~instructor_py.providers.local_mentions`): for
    each one the answer does not already write as the input says, the answer is decoded again
    from where the key goes, with the key (and the value the input states: a flag, an option, a
    list of options) forced. A key whose value the model then writes is kept only when the value
    is copied from the input. The request returned requires the keys written and fixes the
    stated values, so later decodes keep them."""
    handle: CompiledGrammarHandle | None = None
    written: list[str] = []
    schema = request.response_schema
    source = last_user_text(request.messages)
    for found in mentions:
        if not decoded or decoded[-1].finish_reason != "stop":
            break
        text = "".join(c.text for c in decoded)
        edit = mention_edit(schema, text, found)
        if edit is None:  # already written as the input says (a value left to the model stays)
            if found.value is not None and (found.key,) in value_spans(text):
                written.append(found.key)
                schema = _requiring(schema, found)
            continue
        narrowed = replace(request, response_schema=_requiring(schema, found))
        try:
            chunks, again, _ = redo.from_prefix(narrowed, edit.prefix)
        except LocalModelError as exc:  # the grammar refuses the key there: the answer stands
            logger.info("the mentioned key %r could not be written: %s", found.key, exc)
            continue
        new = "".join(c.text for c in chunks)
        span = value_spans(new).get((found.key,))
        if found.value is None and (span is None or not grounded(_load(new, span), source)):
            continue  # the request names the key but not its value: the model's answer stands
        decoded, handle, schema = chunks, again, narrowed.response_schema
        written.append(found.key)
    if written:
        logger.info("wrote the keys %s the input mentions", written)
    return decoded, handle, replace(request, response_schema=schema), tuple(written)


def _requiring(schema: Any, found: Mention) -> Any:
    """``schema`` with the key ``found`` required (and its stated value fixed)."""
    out = (
        fix_values(schema, {(found.key,): found.value}) if found.value is not None else dict(schema)
    )
    required = list(out.get("required") or ())
    out["required"] = [*required, found.key] if found.key not in required else required
    return out


def _load(text: str, span: tuple[int, int]) -> Any:
    return json.loads(text[span[0] : span[1]])


_MAX_REPLACED = 3  # values replaced per answer


def ground_values(
    redo: Redecode, request: InferenceRequest, decoded: list[DecodeChunk]
) -> tuple[list[DecodeChunk], CompiledGrammarHandle | None, InferenceRequest, tuple[str, ...]]:
    """Integers the input does not give and strings that slipped while copying it, each replaced
    by the input's value the model scores likeliest there
    (:mod:`~instructor_py.providers.local_numbers`, :mod:`~instructor_py.providers.local_copies`),
    the answer decoded again after each; the request returned fixes the values chosen."""
    handle: CompiledGrammarHandle | None = None
    tried: list[str] = []
    chosen: list[str] = []
    source = last_user_text(request.messages)
    for _ in range(_MAX_REPLACED):
        if not decoded or decoded[-1].finish_reason != "stop":
            break
        text = "".join(c.text for c in decoded)
        args = (redo.session, request.response_schema, redo.prompt_text, text, source)
        choice = invented_integer(*args, frozenset(tried)) or slipped_string(
            *args, frozenset(tried)
        )
        if choice is None:
            break
        fixed = fix_values(request.response_schema, {(choice.key,): choice.value})
        narrowed = replace(request, response_schema=fixed)
        tried.append(choice.key)
        try:
            chunks, again, _ = redo.from_prefix(narrowed, choice.prefix)
        except LocalModelError as exc:  # the grammar refuses the number there: it stands
            logger.info("the input's value for %r could not be written: %s", choice.key, exc)
            continue
        decoded, handle, request = chunks, again, narrowed
        chosen.append(choice.key)
    if chosen:
        logger.info("replaced the values %s by the input's", chosen)
    return decoded, handle, request, tuple(chosen)


@dataclass(frozen=True)
class Settled:
    """A decoded answer after the steps that decode part of it again, in order: resumed after a
    loop, trailing optional keys dropped, mentioned keys written, invented integers and slipped
    copies replaced by the input's values.
    ``request`` is the request with the schema the last decode used; ``record()``: what the
    steps did, as :func:`~instructor_py.providers.local_generation.map_chunks` reports it."""

    decoded: list[DecodeChunk]
    handle: CompiledGrammarHandle | None
    request: InferenceRequest
    options: DecodeOptions
    dropped_tokens: int = 0
    dropped_keys: tuple[str, ...] = ()
    mentioned_keys: tuple[str, ...] = ()
    replaced_from_input: tuple[str, ...] = ()

    def record(self) -> tuple[int, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        return self.dropped_tokens, self.dropped_keys, self.mentioned_keys, self.replaced_from_input


def settle(
    redo: Redecode,
    request: InferenceRequest,
    decoded: list[DecodeChunk],
    handle: CompiledGrammarHandle | None,
    options: DecodeOptions,
    *,
    resume_loops: bool,
    optional: bool,
    mentions: list[Mention],
    values: bool,
) -> Settled:
    """Each step that applies, in order (:class:`Settled`); each later step sees the answer and
    the schema the one before left."""
    resumed = resume_after_loop(redo, request, decoded, options, resume_loops)
    dropped = 0
    if resumed is not None:
        dropped = sum(len(c.token_ids) for c in decoded)
        decoded, handle, options = resumed
    keep = tuple(m.key for m in mentions if m.value is not None)  # values the input states
    kept = keep_optional(redo, request, decoded, keep) if optional else None
    keys: tuple[str, ...] = ()
    if kept is not None:  # optional keys dropped: later decodes see the schema without them
        decoded, handle, request, keys = kept
    mentioned: tuple[str, ...] = ()
    if mentions:  # mentioned keys written: later decodes keep them
        decoded, again, request, mentioned = write_mentioned(redo, request, decoded, mentions)
        handle = again if again is not None else handle
    replaced: tuple[str, ...] = ()
    if values:
        decoded, again, request, replaced = ground_values(redo, request, decoded)
        handle = again if again is not None else handle
    return Settled(decoded, handle, request, options, dropped, keys, mentioned, replaced)
