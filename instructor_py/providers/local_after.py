"""What the local provider does with a decoded answer before it is sent, when part of it is to be
decoded again from a cut: an answer that fell into a loop resumes from its valid part
(:mod:`~instructor_py.providers.local_resume`), and trailing optional keys the input gives no
evidence for are dropped (:mod:`~instructor_py.providers.local_optional`). Both decode again
from a prefix of the answer (``DecodeOptions.prefix``) under the request's own constraint."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from instructor_py.common.errors import LocalModelError
from instructor_py.providers.local_choices import content_free_messages, last_user_text
from instructor_py.providers.local_optional import decide_optional, without_keys
from instructor_py.providers.local_resume import resume_point
from instructor_py.runtime.generation import DecodeChunk, DecodeOptions

if TYPE_CHECKING:
    from instructor_py.engine.handle import CompiledGrammarHandle
    from instructor_py.providers.base import InferenceRequest
    from instructor_py.runtime.session import LocalSession

__all__ = ["Redecode", "keep_optional", "resume_after_loop"]

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
    redo: Redecode, request: InferenceRequest, decoded: list[DecodeChunk]
) -> (
    tuple[list[DecodeChunk], CompiledGrammarHandle | None, InferenceRequest, tuple[str, ...]] | None
):
    """The answer's trailing optional keys the input gives no evidence for, dropped: the answer
    decoded again from its cut under the schema without them (the request returned has that
    schema, so later decodes cannot write them again); None when every key stays."""
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
