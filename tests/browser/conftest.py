"""Debian's Chromium driven by Playwright (never a downloaded browser)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from service import ROOT
from tests.conftest import REQUIRE_SERVICES

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# CI sets REQUIRE_BROWSER=1: a missing Chromium fails the browser tests instead of skipping.
REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1" or REQUIRE_SERVICES
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", ROOT / "test-artifacts"))


def chromium_available() -> bool:
    return os.path.exists(CHROMIUM)


@pytest.fixture
def artifacts() -> Path:
    """Where browser tests save screenshots (kept after the run, ignored by git)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def page():
    """A fresh page in headless Chromium with background networking off."""
    if not chromium_available():
        message = (f"Chromium not found at {CHROMIUM}: browser tests skipped "
                   "(install Debian's chromium package, or `make browser` as root)")
        if REQUIRE_BROWSER:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield browser.new_page(viewport={"width": 1280, "height": 900})
        browser.close()
