"""Headless Chromium for the e2e tests: Debian's `chromium` package (installed here when missing), driven by Playwright.

Playwright's own browser download is never used: `executable_path` points at the system Chromium.
Screenshots go to `test-output/` (gitignored).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "test-output"
APT_TIMEOUT_SECONDS = 900
# The machine's rules for a headless Chromium: no sandbox (root in a container), no GPU, no network chatter.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _install_chromium() -> None:
    """`apt-get install chromium` (Debian); needs root, as in the dev container and CI."""
    if os.geteuid() != 0:
        pytest.fail("Chromium is missing and this user cannot install it: run `sudo apt-get install -y chromium`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT_SECONDS)
        if result.returncode != 0:
            pytest.fail(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-2000:]}")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The system Chromium, installed from Debian's package on first use."""
    path = _find_chromium()
    if path is None:
        _install_chromium()
        path = _find_chromium()
    if path is None:
        pytest.fail("apt-get installed chromium but no `chromium` is on PATH")
    return path


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    """One headless Chromium per test module (each test opens its own context: a fresh profile).

    Module-scoped because Playwright's sync API keeps an asyncio loop marked running on the main thread
    while it is open, which would break later tests that run asyncio code (Mangum) on that thread.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOT_DIR.mkdir(exist_ok=True)
    return SCREENSHOT_DIR
