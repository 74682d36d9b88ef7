"""JSON request bodies as RFC 8259 defines them, checked before any parser sees them.

Python's json.loads takes bytes in UTF-16 or UTF-32 (it guesses from the first bytes) and recurses once per
nesting level, so a body of 1,500 brackets ends in RecursionError. check() refuses both cheaply. It runs on every
body a parser will read: the JsonBodies middleware calls it for every request declaring a JSON media type (what
FastAPI parses, through Starlette's Request.json), and decode() for the routes that parse their body themselves.
"""

from __future__ import annotations

import codecs
import json
import re
from itertools import accumulate

from andromede.common.errors import BadRequest

MAX_DEPTH = 64

# A JSON string, escapes included. The closing quote is optional so that a match never fails once started:
# an unterminated string runs to the end (such a body is invalid anyway) instead of costing a rescan per quote.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"?', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = [0] * 256
for _open in b"[{":
    _STEP[_open] = 1
for _close in b"]}":
    _STEP[_close] = -1
# UTF-32 byte order marks begin with UTF-16 ones.
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def nesting_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in `raw`, brackets inside strings not counted."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets), initial=0))


def check(raw: bytes) -> None:
    """Refuse, with 400, a body that is not UTF-8 (a BOM, UTF-16/32, invalid bytes) or nests too deep."""
    # NUL is never in a UTF-8 JSON text (it would be escaped) and always in UTF-16/32 ones made of ASCII.
    if raw.startswith(_BOMS) or b"\x00" in raw:
        raise BadRequest("The request body must be JSON encoded in UTF-8, without a byte order mark.")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The request body must be JSON encoded in UTF-8.") from None
    # Fast path: with few opening brackets the body cannot nest deeper than that.
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and nesting_depth(raw) > MAX_DEPTH:
        raise BadRequest(f"The request body nests arrays and objects more than {MAX_DEPTH} levels deep.")


def decode(raw: bytes) -> object:
    """The JSON document in a request body, for routes that read their body themselves; 400 when it is none."""
    check(raw)
    try:
        return json.loads(raw)
    except ValueError:
        raise BadRequest("The request body is not valid JSON.") from None
