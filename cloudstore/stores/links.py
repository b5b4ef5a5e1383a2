"""Storefront share links: the H5 URL and the mini-program path, optionally carrying a KOC code."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

import msgspec

if TYPE_CHECKING:
    from cloudstore.lib.settings import Settings

__all__ = ("ShareLinks", "share_links")


class ShareLinks(msgspec.Struct, frozen=True):
    """Where a store's storefront (or a KOC's share of it) opens."""

    h5_url: str
    miniprogram_path: str


def share_links(settings: Settings, tenant: str, store: str, koc: str | None = None) -> ShareLinks:
    """The links for ``store`` of ``tenant``; with ``koc`` they carry the KOC's code.

    H5: ``{public_base_url}/s/{tenant}/{store}[?koc=CODE]``; mini-program:
    ``{miniprogram_path}?tenant={tenant}&store={store}[&koc=CODE]``. Pure: no I/O, no lookups.
    """
    h5 = f"{settings.public_base_url.rstrip('/')}/s/{quote(tenant, safe='')}/{quote(store, safe='')}"
    params = {"tenant": tenant, "store": store}
    if koc:
        h5 += "?" + urlencode({"koc": koc})
        params["koc"] = koc
    return ShareLinks(h5_url=h5, miniprogram_path=f"{settings.miniprogram_path}?{urlencode(params)}")
