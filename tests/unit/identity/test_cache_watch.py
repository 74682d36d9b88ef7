"""Identity's cache is invalidated by writes to the tables its values come from: none may be forgotten."""

from __future__ import annotations

import inspect

from andromede.db.base import Base
from andromede.identity import cache, models


def _identity_tables() -> set[type]:
    return {cls for _, cls in inspect.getmembers(models, inspect.isclass)
            if issubclass(cls, Base) and cls is not Base and cls.__module__ == models.__name__}


def test_every_identity_table_is_watched_or_declared_uncached() -> None:
    watched, uncached = set(cache.WATCHED), set(cache.UNCACHED)
    assert not watched & uncached
    assert _identity_tables() == watched | uncached, "a new identity table: add it to cache.WATCHED or UNCACHED"
