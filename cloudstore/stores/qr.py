"""QR codes for share links, drawn with segno."""

from __future__ import annotations

import io

import segno

__all__ = ("qr_png", "qr_svg")

# Medium error correction survives a smudged print; a 4-module quiet zone is what the standard asks for.
_ERROR = "m"
_BORDER = 4


def qr_png(text: str, *, scale: int = 8) -> bytes:
    """``text`` as a QR code PNG (``scale`` pixels per module)."""
    out = io.BytesIO()
    segno.make(text, error=_ERROR, micro=False).save(out, kind="png", scale=scale, border=_BORDER)
    return out.getvalue()


def qr_svg(text: str, *, scale: int = 8) -> bytes:
    """``text`` as a standalone QR code SVG document (UTF-8)."""
    out = io.BytesIO()
    segno.make(text, error=_ERROR, micro=False).save(
        out, kind="svg", scale=scale, border=_BORDER, xmldecl=True, title="QR code", unit=None
    )
    return out.getvalue()
