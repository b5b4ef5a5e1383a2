"""Fixtures for the local fake WeChat servers, shared by the unit and integration suites."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.fakes.wechat import FakeWeChat, serve_asgi


@pytest.fixture(scope="session")
async def fake() -> AsyncIterator[FakeWeChat]:
    """The fake WeChat (Pay API and code2session) on a 127.0.0.1 port for the whole run."""
    fake = FakeWeChat()
    async with serve_asgi(fake) as base_url:
        fake.base_url = base_url
        yield fake


@pytest.fixture(scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """An outbound HTTP client for providers under test."""
    async with httpx.AsyncClient() as client:
        yield client
