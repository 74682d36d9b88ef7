"""User-supplied regular expressions run in linear time; what RE2 cannot take is a 400 as Nova words it."""

from __future__ import annotations

import time

import pytest

from andromede.common.errors import BadRequest
from andromede.common.patterns import MAX_PATTERN_LENGTH, compile_filter


def test_catastrophic_patterns_are_linear() -> None:
    started = time.perf_counter()
    for pattern in ("(a+)+$", "^(a|a)*$", "^(a|aa)+$", "^(.*a){12}$"):
        assert compile_filter(pattern, "name").search("a" * 254 + "!") is None
    assert time.perf_counter() - started < 0.1


def test_ordinary_patterns_match_as_before() -> None:
    assert compile_filter("page-1", "name").search("my-page-12")
    assert compile_filter("^web-[0-9]+$", "name").search("web-42")
    assert not compile_filter("^web-[0-9]+$", "name").search("web-42x")


@pytest.mark.parametrize("pattern", ["(a)\\1", "(?=a)", "(", "", "a{1001}", "((a{999}){999}){999}",
                                     "x" * (MAX_PATTERN_LENGTH + 1)])
def test_what_re2_cannot_take_is_a_400(pattern: str) -> None:
    with pytest.raises(BadRequest, match="Invalid input for query parameters name"):
        compile_filter(pattern, "name")
