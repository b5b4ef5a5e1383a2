"""One guard for every route: JSON nested deeper than :data:`MAX_DEPTH` is refused before anything decodes it.

msgspec (like every recursive decoder) raises ``RecursionError`` some thousands of levels down, which would
surface as a 500; no request of this API nests more than a handful of levels.
"""

from __future__ import annotations

import re
from itertools import accumulate
from typing import TYPE_CHECKING, Any, Final

from cloudstore.lib.errors import ValidationFailed

if TYPE_CHECKING:
    from litestar import Request

__all__ = ("MAX_DEPTH", "json_too_deep", "refuse_deep_json")

#: Deepest nesting of arrays and objects accepted in a request body.
MAX_DEPTH: Final = 64

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET: Final = bytes(b for b in range(256) if b not in b"[]{}")
_STEP: Final = [0] * 256
for _open in b"[{":
    _STEP[_open] = 1
for _close in b"]}":
    _STEP[_close] = -1


def json_too_deep(body: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether ``body`` nests arrays/objects deeper than ``limit`` (brackets inside strings do not count).

    Most bodies have fewer than ``limit`` opening brackets in all, which two ``bytes.count`` calls settle.
    Only otherwise are strings cut out and the running depth summed, all in C (split or regex, translate,
    accumulate).
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    # Without escapes, strings are exactly the odd pieces between quotes; with them, a regex finds them.
    outside = b"".join(body.split(b'"')[::2]) if b"\\" not in body else _STRING.sub(b"", body)
    brackets = outside.translate(None, _NOT_BRACKET)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > limit


async def refuse_deep_json(request: Request[Any, Any, Any]) -> None:
    """App-wide ``before_request`` hook: runs before the handler's body is decoded (a too large body is 413)."""
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE") and "content-length" not in request.headers:
        return
    body = await request.body()
    if body and json_too_deep(body):
        raise ValidationFailed(f"the JSON body nests deeper than {MAX_DEPTH} levels", status=400)
