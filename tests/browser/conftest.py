"""Debian's Chromium driven by Playwright (never a downloaded browser)."""
from __future__ import annotations

import os
import shutil

import pytest

from tests.conftest import unavailable

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def page():
    """A fresh page in headless Chromium with background networking off."""
    if not os.path.exists(CHROMIUM):
        unavailable("Chromium", FileNotFoundError(CHROMIUM))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield browser.new_page()
        browser.close()
