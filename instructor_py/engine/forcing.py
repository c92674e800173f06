"""The tokens a grammar forces next, accepted in one go: one implementation for the decode loop
(`LlamaDecoder`) and `StructuringEngine`'s multi-token sampling.

``compute_ff_tokens`` is conservative: it leaves out the tail of the forced text whose
tokenization could merge with what follows (after a key, the ``":"`` before a string value).
With a ``tokenize`` function that tail (the matcher's ``compute_ff_bytes``) is tokenized too and
forced as far as the grammar accepts the tokens, so it costs a token in a batched pass instead of
one sampled forward pass per piece. Forced and tokenized tokens alternate while either
progresses; an end-of-generation token is never forced.

The last token of that tokenized tail is healed (:mod:`instructor_py.engine.healing`): when the
matcher can (``heal``) and a longer token starting with its bytes is allowed there, it is left to
the model, whose next token must start with those bytes (``' ["'`` where the tail ends in
``' ['``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from instructor_py.common.errors import ConstraintError
from instructor_py.engine.matcher import Matcher

__all__ = ["forced_tokens"]

_ROUNDS = 8  # forced tokens and forced bytes alternate at most this often


def forced_tokens(
    matcher: Matcher,
    *,
    end_tokens: Collection[int],
    tokenize: Callable[[bytes], Sequence[int]] | None = None,
    limit: int | None = None,
    accept: Callable[[list[int]], bool] | None = None,
) -> list[int]:
    """Accept and return the tokens ``matcher`` forces next (at most ``limit``; none of
    ``end_tokens``).

    ``tokenize`` turns the forced bytes that ``compute_ff_tokens`` leaves out into tokens (None:
    forced tokens only). ``accept`` advances the caller's state by a list of tokens (default
    ``matcher.accept_tokens``; a caller that keeps its own record of the tokens passes its own).
    """
    take = matcher.accept_tokens if accept is None else accept
    ff_bytes = getattr(matcher, "compute_ff_bytes", None) if tokenize is not None else None
    heal: Callable[[int], bool] | None = getattr(matcher, "heal", None)
    out: list[int] = []

    def room() -> int | None:
        return None if limit is None else max(0, limit - len(out))

    for _ in range(_ROUNDS):
        tokens = _until_end(matcher.compute_ff_tokens(), end_tokens)[: room()]
        if tokens:
            if not take(tokens):
                raise ConstraintError(
                    f"the matcher rejected its own forced tokens ({matcher.get_error()})"
                )
            out.extend(tokens)
        if ff_bytes is None or tokenize is None or room() == 0:
            break
        data: bytes = ff_bytes()
        whole = _until_end(tokenize(data), end_tokens) if data else []
        extra = whole[: room()]
        k = matcher.validate_tokens(extra) if extra else 0
        if k == 0:
            break
        if heal is not None and k == len(whole):
            # the tail's last token may merge with what the model writes next: heal it
            if k > 1:
                _take(take, matcher, extra[: k - 1])
                out.extend(extra[: k - 1])
            if heal(extra[k - 1]):
                break
            extra = extra[k - 1 :]
            k = 1
        _take(take, matcher, extra[:k])
        out.extend(extra[:k])
    return out


def _take(take: Callable[[list[int]], bool], matcher: Matcher, tokens: list[int]) -> None:
    if not take(tokens):
        raise ConstraintError(
            f"the matcher rejected forced tokens it had validated ({matcher.get_error()})"
        )


def _until_end(tokens: Sequence[int], end_tokens: Collection[int]) -> list[int]:
    out: list[int] = []
    for t in tokens:
        if t in end_tokens:
            break
        out.append(int(t))
    return out
