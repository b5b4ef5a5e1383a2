"""Share links and QR codes: pure helpers the referrals domain builds on."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET

import pytest
import segno

from cloudstore.lib.settings import Settings
from cloudstore.stores.links import ShareLinks, share_links
from cloudstore.stores.qr import qr_png, qr_svg

SETTINGS = Settings(public_base_url="https://shop.example.com", miniprogram_path="pages/store/index")


def test_store_links() -> None:
    assert share_links(SETTINGS, "chayun", "SZ-NS-01") == ShareLinks(
        h5_url="https://shop.example.com/s/chayun/SZ-NS-01",
        miniprogram_path="pages/store/index?tenant=chayun&store=SZ-NS-01",
    )


def test_koc_links_carry_the_code() -> None:
    assert share_links(SETTINGS, "chayun", "SZ-NS-01", koc="K8X2") == ShareLinks(
        h5_url="https://shop.example.com/s/chayun/SZ-NS-01?koc=K8X2",
        miniprogram_path="pages/store/index?tenant=chayun&store=SZ-NS-01&koc=K8X2",
    )


def test_links_escape_what_is_not_url_safe_and_ignore_a_trailing_slash() -> None:
    settings = Settings(public_base_url="https://shop.example.com/", miniprogram_path="pages/s")
    links = share_links(settings, "t", "A B", koc="k&1")
    assert links.h5_url == "https://shop.example.com/s/t/A%20B?koc=k%261"
    assert links.miniprogram_path == "pages/s?tenant=t&store=A+B&koc=k%261"


@pytest.mark.parametrize("koc", [None, ""])
def test_no_koc_means_no_parameter(koc: str | None) -> None:
    assert "koc" not in share_links(SETTINGS, "t", "S", koc=koc).h5_url


def test_png_is_the_qr_code_of_the_text() -> None:
    text = "https://shop.example.com/s/chayun/SZ-NS-01?koc=K8X2"
    png = qr_png(text, scale=4)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    modules = segno.make(text, error="m", micro=False).symbol_size(scale=4, border=4)
    assert (width, height) == modules
    assert qr_png(text, scale=4) == png  # deterministic
    assert qr_png(text + "x", scale=4) != png


def test_svg_is_a_standalone_document() -> None:
    svg = qr_svg("pages/store/index?tenant=chayun&store=SZ-NS-01")
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("width") == root.get("height")
    assert svg.startswith(b"<?xml")
