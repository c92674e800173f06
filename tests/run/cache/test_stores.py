"""The cache stores on their own: bounds (entries, bytes, age), LRU order, threads, the key's
canonical form (media by content hash, never bytes)."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import ClassVar

import pytest

from instructor_py import CacheError, MemoryCache, SqliteCache, Usage
from instructor_py.common.attempts import Attempt
from instructor_py.run.cache import to_cache
from instructor_py.run.cache.entry import CacheEntry
from instructor_py.run.cache.key import Uncacheable, canonical, digest


def entry(text: str, created_at: float = 1000.0) -> CacheEntry:
    return CacheEntry(
        raw_text=text,
        usage=Usage(10, 5, reasoning_tokens=2),
        attempts=(
            Attempt(1, "bad", errors=("$.age: too low",), stage="validate"),
            Attempt(2, text),
        ),
        raw_response={"id": "x"},
        created_at=created_at,
    )


def test_an_entry_round_trips_through_bytes() -> None:
    original = entry('{"a": 1}')
    assert CacheEntry.from_bytes(original.to_bytes()) == original
    with pytest.raises(CacheError, match="corrupt"):
        CacheEntry.from_bytes(b'{"format": 99}')


def test_memory_cache_is_an_lru_with_an_age_limit() -> None:
    now = [1000.0]
    cache = MemoryCache(max_entries=2, max_age=60, clock=lambda: now[0])
    cache.set("a", entry("A"))
    cache.set("b", entry("B"))
    assert cache.get("a") is not None  # a is now the most recent
    cache.set("c", entry("C"))
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None
    now[0] += 61
    assert cache.get("a") is None and len(cache) == 1


def test_sqlite_cache_bounds_entries_bytes_and_age(tmp_path: Path) -> None:
    now = [1000.0]
    cache = SqliteCache(tmp_path / "c.sqlite", max_entries=3, clock=lambda: now[0])
    for n in range(5):
        cache.set(f"k{n}", entry(f"text {n}", created_at=1000.0 + n))
    assert cache.stats()[0] == 3 and cache.get("k0") is None and cache.get("k4") is not None
    size = len(entry("x" * 100).to_bytes())
    by_bytes = SqliteCache(tmp_path / "b.sqlite", max_bytes=size * 2 + 10)
    for n in range(4):
        by_bytes.set(f"k{n}", entry("x" * 100, created_at=1000.0 + n))
    entries, stored = by_bytes.stats()
    assert entries == 2 and stored <= size * 2 + 10 and by_bytes.get("k3") is not None
    aged = SqliteCache(tmp_path / "a.sqlite", max_age=60, clock=lambda: now[0])
    aged.set("old", entry("old", created_at=1000.0))
    assert aged.get("old") is not None
    now[0] = 1061.0
    assert aged.get("old") is None  # expired: a miss ...
    aged.set("new", entry("new", created_at=1061.0))
    assert aged.stats()[0] == 1  # ... deleted by the next write


def test_sqlite_cache_serves_many_threads(tmp_path: Path) -> None:
    cache = SqliteCache(tmp_path / "t.sqlite")
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                cache.set(f"{n}-{i}", entry(f"{n}-{i}"))
                got = cache.get(f"{n}-{i}")
                assert got is not None and got.raw_text == f"{n}-{i}"
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and cache.stats()[0] == 120
    cache.close()


def test_the_same_path_shares_one_cache(tmp_path: Path) -> None:
    assert to_cache(tmp_path / "x.sqlite") is to_cache(str(tmp_path / "x.sqlite"))
    assert to_cache("memory") is not to_cache("memory")


@dataclasses.dataclass(frozen=True)
class FakeImage:
    """The shape of instructor_py.common.media.Image (kind, media_type, data, sha256)."""

    kind: ClassVar[str] = "image"
    media_type: str
    data: bytes = dataclasses.field(repr=False)

    @property
    def sha256(self) -> str:
        import hashlib

        return hashlib.sha256(self.data).hexdigest()


def test_media_is_keyed_by_content_hash_never_bytes() -> None:
    image = FakeImage("image/png", b"\x89PNG" + b"pixels" * 1000)
    same = FakeImage("image/png", b"\x89PNG" + b"pixels" * 1000)
    other = FakeImage("image/png", b"\x89PNG" + b"other!" * 1000)
    message = lambda part: [{"role": "user", "content": ["what is this?", part]}]  # noqa: E731
    assert digest({"m": message(image)}) == digest({"m": message(same)})
    assert digest({"m": message(image)}) != digest({"m": message(other)})
    form = canonical(image)
    assert form == {"$media": "image", "media_type": "image/png", "sha256": image.sha256}
    part = {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"},
    }
    reordered = {
        "image_url": {"detail": "low", "url": "data:image/png;base64,AAAA"},
        "type": "image_url",
    }
    assert digest({"m": part}) == digest({"m": reordered})  # dict parts canonically
    with pytest.raises(Uncacheable):
        digest({"m": object()})
