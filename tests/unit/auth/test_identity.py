"""Consumer identity providers: ``local:<openid>`` codes and WeChat ``jscode2session`` against a fake."""

from __future__ import annotations

import logging
import socket

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudstore.auth.identity import (
    Identity,
    IdentityProvider,
    IdentityUnavailable,
    InvalidLoginCode,
    LocalIdentityProvider,
    WeChatIdentityProvider,
)
from tests.fakes.wechat import FakeWeChat, silent_server

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
UNIONID = "o6_bmasdasdsad6_2sgVt7hMZOPfL"


@pytest.fixture(autouse=True)
def _fresh_fake(fake: FakeWeChat) -> None:
    fake.reset()


@pytest.fixture(scope="module")
def wechat(fake: FakeWeChat, http: httpx.AsyncClient) -> WeChatIdentityProvider:
    return WeChatIdentityProvider(fake.appid, fake.mini_secret, base_url=fake.base_url, client=http)


# --- local ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "openid"),
    [("local:alice", "alice"), ("local:A-b_9", "A-b_9"), ("local:" + "x" * 64, "x" * 64), ("local:-", "-")],
)
async def test_local_code_names_the_openid(code: str, openid: str) -> None:
    assert await LocalIdentityProvider().resolve(code) == Identity(openid=openid, unionid=None)


@pytest.mark.parametrize(
    "code",
    [
        "",
        "local:",
        "local",
        "alice",
        "LOCAL:alice",
        " local:alice",
        "local:alice\n",
        "local:" + "x" * 65,
        "local:a b",
        "local:ä",
        "local:a/b",
        "local:alice:bob",
        "wx:alice",
    ],
)
async def test_local_provider_refuses_anything_else(code: str) -> None:
    with pytest.raises(InvalidLoginCode):
        await LocalIdentityProvider().resolve(code)


@given(st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True))
async def test_every_valid_local_openid_round_trips(openid: str) -> None:
    assert await LocalIdentityProvider().resolve(f"local:{openid}") == Identity(openid=openid)


# --- WeChat jscode2session -----------------------------------------------------------------------------


async def test_code_resolves_to_openid_and_unionid(fake: FakeWeChat, wechat: WeChatIdentityProvider) -> None:
    fake.add_login_code("0a3Ky2ll2mRDqd4Q7pml2W7P2F2Ky2lX", OPENID, UNIONID)
    assert await wechat.resolve("0a3Ky2ll2mRDqd4Q7pml2W7P2F2Ky2lX") == Identity(openid=OPENID, unionid=UNIONID)
    [request] = fake.requests
    assert (request.method, request.path) == ("GET", "/sns/jscode2session")
    assert request.query == {
        "appid": fake.appid,
        "secret": fake.mini_secret,
        "js_code": "0a3Ky2ll2mRDqd4Q7pml2W7P2F2Ky2lX",
        "grant_type": "authorization_code",
    }


async def test_unionid_is_none_when_wechat_does_not_disclose_it(
    fake: FakeWeChat, wechat: WeChatIdentityProvider
) -> None:
    fake.add_login_code("code-1", OPENID)
    assert await wechat.resolve("code-1") == Identity(openid=OPENID, unionid=None)


async def test_a_code_works_once(fake: FakeWeChat, wechat: WeChatIdentityProvider) -> None:
    fake.add_login_code("code-1", OPENID)
    await wechat.resolve("code-1")
    with pytest.raises(InvalidLoginCode, match="40163"):
        await wechat.resolve("code-1")


async def test_unknown_code_is_invalid(wechat: WeChatIdentityProvider) -> None:
    with pytest.raises(InvalidLoginCode, match="40029"):
        await wechat.resolve("0a3Ky2ll2mRDqd4Q7pml2W7P2F2Ky2lY")


@pytest.mark.parametrize(
    ("errcode", "errmsg", "error"),
    [
        (40029, "invalid code", InvalidLoginCode),
        (40163, "code been used", InvalidLoginCode),
        (40226, "high risk user", InvalidLoginCode),
        (-1, "system error", IdentityUnavailable),
        (45011, "api minute-quota reach limit", IdentityUnavailable),
        (40013, "invalid appid", IdentityUnavailable),
    ],
)
async def test_errcodes_map_to_domain_errors(
    fake: FakeWeChat, wechat: WeChatIdentityProvider, errcode: int, errmsg: str, error: type[Exception]
) -> None:
    fake.login_errors["code-x"] = (errcode, errmsg)
    with pytest.raises(error, match=f"errcode {errcode}: {errmsg}") as caught:
        await wechat.resolve("code-x")
    assert type(caught.value) is error


async def test_wrong_app_secret_is_unavailable_and_never_shown(fake: FakeWeChat, http: httpx.AsyncClient) -> None:
    secret = "definitely-not-the-right-secret!"
    provider = WeChatIdentityProvider(fake.appid, secret, base_url=fake.base_url, client=http)
    fake.add_login_code("code-1", OPENID)
    with pytest.raises(IdentityUnavailable, match="40125") as caught:
        await provider.resolve("code-1")
    assert secret not in str(caught.value)
    assert secret not in repr(provider)


@pytest.mark.parametrize(
    ("status", "body", "fragment"),
    [
        (500, b"<html>500 Internal Server Error</html>", "HTTP 500"),
        (503, b"", "HTTP 503"),
        (404, b"not found", "HTTP 404"),
        (200, b"<html>captive portal</html>", "malformed JSON"),
        (200, b'{"session_key":"k"}', "without an openid"),
        (200, b'{"errcode":"oops"}', "malformed JSON"),
    ],
)
async def test_broken_answers_are_unavailable(
    fake: FakeWeChat, wechat: WeChatIdentityProvider, status: int, body: bytes, fragment: str
) -> None:
    fake.respond_next(status, body, signing="none", content_type="text/plain")
    with pytest.raises(IdentityUnavailable, match=fragment):
        await wechat.resolve("code-1")


async def test_session_key_is_not_kept(fake: FakeWeChat, wechat: WeChatIdentityProvider) -> None:
    fake.add_login_code("code-1", OPENID)
    identity = await wechat.resolve("code-1")
    assert "tiihtNczf5v6AKRyjwEUhQ==" not in repr(identity)


async def test_timeout_is_unavailable_without_leaking_the_request(fake: FakeWeChat, http: httpx.AsyncClient) -> None:
    async with silent_server() as base_url:
        provider = WeChatIdentityProvider(fake.appid, fake.mini_secret, base_url=base_url, client=http, timeout_s=0.2)
        # the server never answers; on a busy machine even the local connect can outlast 0.2 s
        with pytest.raises(IdentityUnavailable, match=r"(Read|Connect)Timeout") as caught:
            await provider.resolve("code-1")
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__ is True
    assert fake.mini_secret not in str(caught.value)


async def test_refused_connection_is_unavailable(fake: FakeWeChat, http: httpx.AsyncClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = WeChatIdentityProvider(fake.appid, fake.mini_secret, base_url=f"http://127.0.0.1:{port}", client=http)
    with pytest.raises(IdentityUnavailable, match="ConnectError"):
        await provider.resolve("code-1")


@pytest.mark.parametrize("code", ["", " ", "a b", "x" * 257, "code\x00", "code\n"])
async def test_malformed_codes_are_refused_without_calling_wechat(
    fake: FakeWeChat, wechat: WeChatIdentityProvider, code: str
) -> None:
    with pytest.raises(InvalidLoginCode, match="malformed"):
        await wechat.resolve(code)
    assert fake.requests == []


async def test_httpx_request_log_has_the_secret_redacted(
    fake: FakeWeChat, wechat: WeChatIdentityProvider, caplog: pytest.LogCaptureFixture
) -> None:
    fake.add_login_code("code-1", OPENID)
    with caplog.at_level(logging.INFO, logger="httpx"):
        await wechat.resolve("code-1")
    assert "/sns/jscode2session?" in caplog.text
    assert "secret=<redacted>" in caplog.text
    assert "HTTP/1.1 200 OK" in caplog.text
    assert fake.mini_secret not in caplog.text


async def test_provider_with_its_own_client(fake: FakeWeChat) -> None:
    provider = WeChatIdentityProvider(fake.appid, fake.mini_secret, base_url=fake.base_url)
    fake.add_login_code("code-1", OPENID)
    try:
        assert (await provider.resolve("code-1")).openid == OPENID
    finally:
        await provider.aclose()


def test_both_providers_satisfy_the_protocol(wechat: WeChatIdentityProvider) -> None:
    providers: list[IdentityProvider] = [LocalIdentityProvider(), wechat]
    assert len(providers) == 2
