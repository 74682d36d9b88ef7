"""Regular expressions that users supply (list filters such as Nova's `?name=`), run in linear time.

Python's `re` backtracks: `(a+)+$` against a long name takes exponential time, and it runs in the API process.
RE2 guarantees time linear in the text and refuses what it cannot match that way (backreferences, lookaround),
which we answer as Nova answers a pattern that is not a regex: 400.
"""

from __future__ import annotations

from typing import Protocol

import re2

from andromede.common.errors import BadRequest

MAX_PATTERN_LENGTH = 255  # Nova's name columns are this long; a filter needs no more
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a user's bad pattern is a 400, not a line on the server's stderr
_OPTIONS.max_mem = 1 << 20  # what one compiled pattern may use; larger programs fail to compile (400)


class Pattern(Protocol):
    def search(self, text: str) -> object: ...


def compile_filter(value: str, parameter: str) -> Pattern:
    """The compiled pattern for a `?parameter=value` regex filter; 400 in Nova's words when it is none."""
    if not value:
        raise _not_a_regex(value, parameter)
    if len(value) > MAX_PATTERN_LENGTH:
        raise BadRequest(f"Invalid input for query parameters {parameter}. Value: {value[:32]}... "
                         f"is longer than {MAX_PATTERN_LENGTH} characters.")
    try:
        return re2.compile(value, _OPTIONS)
    except re2.error:
        raise _not_a_regex(value, parameter) from None


def _not_a_regex(value: str, parameter: str) -> BadRequest:
    return BadRequest(f"Invalid input for query parameters {parameter}. Value: {value}. '{value}' is not a 'regex'")
