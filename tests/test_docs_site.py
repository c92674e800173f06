"""The built documentation site, checked as a reader would see it: every page opened in headless
Chromium (the distribution's package, driven over the DevTools protocol on a pipe) renders its
article, code blocks are highlighted, no internal link or image is broken, and the search index
exists. The site is built here with `mkdocs build --strict`, as `make docs` does."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    mkdocs = Path(sys.executable).with_name("mkdocs")
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "-q", "-d", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("index.html") if "assets" not in p.parts)


class Browser:
    """Headless Chromium over ``--remote-debugging-pipe`` (JSON messages ending in NUL on fds
    3 and 4): one browser for every page."""

    def __init__(self, profile: Path) -> None:
        assert CHROMIUM is not None
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        os.set_inheritable(to_chrome_r, True)
        os.set_inheritable(from_chrome_w, True)
        # chromium reads the protocol on fd 3 and writes it on fd 4
        self._proc = subprocess.Popen(
            [
                CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4, to_chrome_r, from_chrome_w),  # 3, 4: set by the dup2 below
            preexec_fn=lambda: (os.dup2(to_chrome_r, 3), os.dup2(from_chrome_w, 4)),
        )  # fmt: skip
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._from_chrome, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        result: dict[str, Any] = json.loads(message)
        return result

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + 30
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                assert "error" not in reply, reply
                result: dict[str, Any] = reply.get("result", {})
                return result
            self._events.append(reply)

    def wait_event(self, method: str, session: str) -> None:
        deadline = time.monotonic() + 30
        while True:
            for i, event in enumerate(self._events):
                if event.get("method") == method and event.get("sessionId") == session:
                    del self._events[i]
                    return
            self._events.append(self._read(deadline))

    def open(self, url: str) -> dict[str, Any]:
        """Load ``url`` and return what a reader sees of it."""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable", session)
        self.call("Page.navigate", session, url=url)
        self.wait_event("Page.loadEventFired", session)
        seen = self.call(
            "Runtime.evaluate",
            session,
            returnByValue=True,
            expression="""({
                title: document.title,
                article: (document.querySelector('article') || {innerText: ''}).innerText.length,
                code: [...document.querySelectorAll('div[class^="language-"] pre code')]
                    .filter(c => !/language-(text|console)/.test(c.closest('div').className)).length,
                highlighted: [...document.querySelectorAll('div[class^="language-"] pre code')]
                    .filter(c => !/language-(text|console)/.test(c.closest('div').className))
                    .filter(c => c.querySelector('span[class]')).length,
                brokenImages: [...document.images].filter(i => i.complete && i.naturalWidth === 0)
                    .map(i => i.src),
            })""",
        )["result"]["value"]
        self.call("Target.closeTarget", targetId=target)
        return dict(seen)

    def close(self) -> None:
        self._proc.kill()
        self._proc.wait(timeout=10)
        os.close(self._to_chrome)
        os.close(self._from_chrome)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (make test installs the distribution's package)")
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


def test_every_page_renders_in_a_browser(site: Path, browser: Browser) -> None:
    found = pages(site)
    assert len(found) >= 20
    code_blocks = 0
    for page in found:
        seen = browser.open(page.as_uri())
        name = page.relative_to(site).as_posix()
        assert seen["title"].endswith("instructor_py"), (name, seen)
        assert seen["article"] > 200, (name, seen)
        assert seen["brokenImages"] == [], (name, seen)
        # every code block that names a language is highlighted (pygments spans)
        assert seen["highlighted"] == seen["code"], (name, seen)
        code_blocks += seen["code"]
    assert code_blocks > 50


def test_no_broken_internal_links_or_images(site: Path) -> None:
    broken: list[str] = []
    checked = 0
    for page in pages(site):
        html = page.read_text()
        for ref in re.findall(r'(?:href|src)="([^"]+)"', html):
            if urlparse(ref).scheme or ref.startswith(("mailto:", "#", "data:")):
                continue
            path, fragment = urldefrag(unquote(ref))
            target = (page.parent / path).resolve() if path else page
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            if not target.exists():
                broken.append(f"{page.relative_to(site)} -> {ref}")
            elif fragment and target.suffix == ".html" and f'id="{fragment}"' not in target.read_text():
                broken.append(f"{page.relative_to(site)} -> {ref} (no such anchor)")
    assert checked > 100
    assert broken == []


def test_the_search_index_exists(site: Path) -> None:
    index = json.loads((site / "search" / "search_index.json").read_text())
    locations = {doc["location"].split("#")[0] for doc in index["docs"]}
    assert {"getting-started/", "cookbook/", "reference/instructor_py/"} <= locations


def test_the_api_reference_lists_every_public_name(site: Path) -> None:
    import instructor_py
    import instructor_py.local

    for module, page in ((instructor_py, "instructor_py"), (instructor_py.local, "local")):
        html = (site / "reference" / page / "index.html").read_text()
        # an entry's anchor is its full path: instructor_py.X, or the defining module's path for a
        # name shown on its own (instructor_py.partial_model)
        missing = [n for n in module.__all__ if not re.search(rf'id="{module.__name__}(\.\w+)*\.{n}"', html)]
        assert missing == [], (page, missing)
