"""Share links follow the server: the public URL, else the address it listens on."""

from __future__ import annotations

import pytest

from cloudstore.lib.settings import listening_url, load_settings


def test_without_a_public_url_links_name_the_port_the_server_listens_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLOUDSTORE_PUBLIC_URL", raising=False)
    monkeypatch.setenv("PORT", "9123")
    assert load_settings().public_base_url == "http://localhost:9123"


def test_a_public_url_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDSTORE_PUBLIC_URL", "https://shop.example.com/")
    monkeypatch.setenv("PORT", "9123")
    assert load_settings().public_base_url == "https://shop.example.com"


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://localhost:8080"),
        ("::", "http://localhost:8080"),
        ("127.0.0.1", "http://127.0.0.1:8080"),
        ("::1", "http://[::1]:8080"),
        ("shop.local", "http://shop.local:8080"),
    ],
)
def test_listening_url(host: str, url: str) -> None:
    assert listening_url(host, 8080) == url
