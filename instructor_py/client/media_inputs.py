"""Batch and command-line input items with media: ``{"text": ..., "images": [...]}`` (and
``"pdfs"``, ``"audio"``: paths or URLs) and the files given for every item (``--image``...), as
``with_()`` arguments whose messages hold :class:`~instructor_py.common.media.Image` /
``PDF`` / ``Audio`` parts."""

from __future__ import annotations

from typing import Any

from instructor_py.common.errors import InvalidArgumentError
from instructor_py.common.media import PDF, Audio, Image, Media

__all__ = ["item_with_media"]


_MEDIA_FIELDS: dict[str, type[Media]] = {"images": Image, "pdfs": PDF, "audio": Audio}


def item_with_media(item: Any, extra: dict[str, list[str]] | None = None) -> Any:
    """An input item with its media attached: the item's ``"images"``/``"pdfs"``/``"audio"``
    fields (lists of paths or URLs; ``"text"`` is the item's text) and the ``--image``/``--pdf``/
    ``--audio`` files given for every item. Items without media are returned unchanged."""
    fields = dict(item) if isinstance(item, dict) else {}
    media: list[Media] = []
    for name, cls in _MEDIA_FIELDS.items():
        sources = [*(extra or {}).get(name, []), *_sources(fields.pop(name, None), name)]
        media.extend(_media(cls, source) for source in sources)
    if not media and not (isinstance(item, dict) and "text" in item):
        return item
    if isinstance(item, str):
        return {"messages": [item, *media]}
    if isinstance(item, list):
        return {"messages": [*item, {"role": "user", "content": media}]} if media else item
    if "role" in fields:
        fields = {"messages": [fields]}
    text = fields.pop("text", None)
    messages = fields.pop("messages", None)
    if text is not None and messages is not None:
        raise InvalidArgumentError('an input item has both "text" and "messages"; give one')
    if messages is None or isinstance(messages, str):
        head = messages if messages is not None else text
        fields["messages"] = [*([str(head)] if head is not None else []), *media]
    elif isinstance(messages, list):
        fields["messages"] = [*messages, {"role": "user", "content": media}] if media else messages
    return fields


def _sources(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise InvalidArgumentError(f'"{name}" must be a path or URL, or a list of them')


def _media(cls: type[Media], source: str) -> Media:
    if source.startswith(("http://", "https://", "data:")):
        return cls.from_url(source)
    return cls.from_path(source)
