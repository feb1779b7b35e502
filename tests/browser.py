"""Debian's Chromium driven by Playwright for Python, through its executable path (Playwright's
own browser download cannot work on a closed network). Every page a test opens records each
request it makes and each request that failed, so a test can hold it to "nothing leaves this
machine and nothing is missing"."""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = os.environ.get("HUB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# Without these Chromium reaches for Google's hosts at start, which a closed network refuses.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL = {"127.0.0.1", "localhost", ""}


@dataclass
class Visit:
    requested: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def off_machine(self) -> list[str]:
        return [
            u for u in self.requested
            if urlparse(u).scheme not in ("data", "blob", "about", "file")
            and urlparse(u).hostname not in LOCAL
        ]  # fmt: skip


def available() -> bool:
    return Path(CHROMIUM).is_file()


@contextlib.contextmanager
def browser():
    """A headless Chromium, or the test skipped with the reason when none is installed."""
    if not available():
        pytest.skip(f"no Chromium at {CHROMIUM}: `apt-get install chromium` (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


def open_page(chromium, url: str, visit: Visit, width: int = 1400):
    """A new page at `url`, every request, failure and console error recorded in `visit`."""
    page = chromium.new_page(viewport={"width": width, "height": 900})
    page.set_default_timeout(120_000)  # the machines are shared: a busy one renders slowly
    page.on("request", lambda r: visit.requested.append(r.url))
    page.on("requestfailed", lambda r: visit.failed.append(f"{r.url}: {r.failure}"))
    page.on("pageerror", lambda e: visit.errors.append(str(e)))
    page.on("console", lambda m: visit.errors.append(m.text) if m.type == "error" else None)
    page.goto(url, wait_until="load")
    return page


def screenshot(page, name: str) -> Path:
    """Saved as a test artefact under HUB_TEST_ARTEFACTS (default: data/test-artefacts)."""
    folder = Path(os.environ.get("HUB_TEST_ARTEFACTS", "data/test-artefacts"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
