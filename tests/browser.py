"""Debian's Chromium for the browser tests (never a downloaded browser), driven by Playwright."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from devtools.screenshots import ARGS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
NEEDS_CHROMIUM = pytest.mark.skipif(
    not shutil.which(CHROMIUM), reason="Debian's chromium is not installed"
)

__all__ = ["ARGS", "CHROMIUM", "NEEDS_CHROMIUM", "browser"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for a test module's pages."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()
