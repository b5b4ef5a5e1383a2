"""The app served on a loopback port, and a headless Chromium (Debian's) driven by Playwright.

The suite is skipped, with one line saying why, when no Chromium is installed. Set ``CLOUDSTORE_SCREENSHOTS``
to a folder to keep a screenshot of each page a test checks (``scripts/screenshots`` writes docs/screenshots/).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
import uvicorn
from playwright.async_api import Browser, BrowserContext, Page, Route, ViewportSize, async_playwright

from cloudstore.app import create_app
from cloudstore.lib.settings import Settings
from tests.support import Api

CHROMIUM = os.environ.get("CLOUDSTORE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
PHONE: ViewportSize = {"width": 375, "height": 812}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test here ``browser``, and skip them all when there is no Chromium to drive."""
    missing = not Path(CHROMIUM).exists()
    for item in items:
        if "tests/browser" in str(item.path):
            item.add_marker(pytest.mark.browser)
            if missing:
                item.add_marker(pytest.mark.skip(reason=f"browser tests need Chromium ({CHROMIUM} not found)"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def live_url(settings: Settings, database_url: str) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1 in a thread of its own, on the test database."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(msgspec.structs.replace(settings, public_base_url=url), database_url=database_url)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    yield url
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture(scope="session")
async def live_api(live_url: str) -> AsyncIterator[Api]:
    """The API of the served app, over the loopback network (its links carry the server's own address)."""
    async with httpx.AsyncClient(base_url=live_url, timeout=30) as client:
        yield Api(client)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium (root in CI needs --no-sandbox)."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        await launched.close()


async def local_only(route: Route) -> None:
    """Let requests to the served app through; abort the rest."""
    # Product images point at the brand's CDN; nothing outside this machine is reachable, so do not wait for it.
    if route.request.url.startswith(("http://127.0.0.1", "data:")):
        await route.continue_()
    else:
        await route.abort()


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile the size of a phone, in Chinese."""
    context = await browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=1)
    await context.route("**/*", local_only)
    context.set_default_timeout(15_000)
    yield context
    await context.close()


@pytest.fixture
async def page(phone: BrowserContext) -> Page:
    """A tab in :func:`phone`."""
    return await phone.new_page()


class Shots:
    """Saves a screenshot of a page under a name, when ``CLOUDSTORE_SCREENSHOTS`` names a folder."""

    def __init__(self, folder: str | None) -> None:
        self.folder = Path(folder) if folder else None

    async def take(self, page: Page, name: str) -> None:
        """Save ``name``.png (the whole page) if screenshots are wanted."""
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(self.folder / f"{name}.png"), full_page=True)


@pytest.fixture(scope="session")
def shots() -> Shots:
    """Where screenshots go (nowhere unless asked)."""
    return Shots(os.environ.get("CLOUDSTORE_SCREENSHOTS"))
