"""The one check every JSON body passes before a parser reads it: UTF-8 only, bounded nesting."""

from __future__ import annotations

import json
import time

import pytest

from andromede.common.errors import BadRequest
from andromede.servicekit import json_body


@pytest.mark.parametrize("raw,depth", [
    (b"", 0), (b"{}", 1), (b'[[1], {"a": [2]}]', 3), (b'["[[[[", "]]"]', 1), (b'["\\"[[["]', 1),
    (b'{"a": "\\\\", "b": [[]]}', 3), (b'"[[[', 0), (b"]]][[", 0)])
def test_nesting_depth_ignores_brackets_in_strings(raw: bytes, depth: int) -> None:
    assert json_body.nesting_depth(raw) == depth


def test_depth_at_the_bound_is_read_and_past_it_refused() -> None:
    at = b"[" * json_body.MAX_DEPTH + b"]" * json_body.MAX_DEPTH
    assert json_body.decode(at) is not None
    with pytest.raises(BadRequest, match="levels deep"):
        json_body.decode(b"[" + at + b"]")
    with pytest.raises(BadRequest, match="levels deep"):
        json_body.check(b"[" * 100_000)  # what would be a RecursionError in json.loads


def test_many_brackets_side_by_side_are_fine() -> None:
    wide = json.dumps([{"a": [1]}] * 5000).encode()
    assert len(json_body.decode(wide)) == 5000  # type: ignore[arg-type]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-8-sig"])
def test_only_utf8_without_bom(encoding: str) -> None:
    with pytest.raises(BadRequest, match="UTF-8"):
        json_body.decode(json.dumps({"name": "x"}).encode(encoding))


@pytest.mark.parametrize("raw", [b'{"a": "\xff"}', b'{"a": "\xed\xa0\x80"}', b'{"a": "\xc3"}'])
def test_invalid_utf8_is_refused(raw: bytes) -> None:
    with pytest.raises(BadRequest, match="UTF-8"):
        json_body.decode(raw)


def test_invalid_json_is_a_400() -> None:
    with pytest.raises(BadRequest, match="not valid JSON"):
        json_body.decode(b'{"a": ')
    assert json_body.decode('{"é": "ü"}'.encode()) == {"é": "ü"}


@pytest.mark.parametrize("raw", [b'"' + b'\\"' * 200_000, b'["' * 100_000, b"[" * 64 + b'"' * 200_000])
def test_scan_is_linear_on_hostile_strings(raw: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(BadRequest):
        json_body.decode(raw)
    assert time.perf_counter() - started < 0.5
