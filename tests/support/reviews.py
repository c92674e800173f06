"""Eight short product reviews with an obvious sentiment and a star rating (written for these
tests), and the sentiment enum in two orders: what classification must get right whatever the
order of the options."""

from __future__ import annotations

from enum import StrEnum

REVIEWS: tuple[tuple[str, str, int], ...] = (
    ("Zephyr headphones: broke after two days, terrible. Rating: 1 star.", "negative", 1),
    ("Best blender I have ever owned, works perfectly. Rating: 5 stars.", "positive", 5),
    ("The charger stopped working in a week. Waste of money. Rating: 1 star.", "negative", 1),
    ("Lovely soft towels, my whole family loves them. Rating: 5 stars.", "positive", 5),
    ("Cheap plastic kettle, cracked on the first use, awful. Rating: 1 star.", "negative", 1),
    ("Great battery life and a beautiful screen on this phone. Rating: 5 stars.", "positive", 5),
    ("The desk arrived late and damaged, and support ignored me. Rating: 2 stars.", "negative", 2),
    ("Comfortable running shoes, they fit well and look great. Rating: 4 stars.", "positive", 4),
)


#: The same enum, ``Sentiment``, with its members in two orders (same class name, so the prompts
#: differ only by the order of the options).
PositiveFirst = StrEnum(
    "Sentiment", [("POSITIVE", "positive"), ("NEGATIVE", "negative"), ("NEUTRAL", "neutral")]
)
NegativeFirst = StrEnum(
    "Sentiment", [("NEGATIVE", "negative"), ("NEUTRAL", "neutral"), ("POSITIVE", "positive")]
)
