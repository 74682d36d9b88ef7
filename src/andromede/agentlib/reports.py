"""What the controller was last told about each object, so that a report carries only what changed.

Reports are level-triggered too: a report that failed is not recorded as told, so the next pass sends it again.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_NEVER = object()


class LastReported(Generic[K, V]):
    def __init__(self) -> None:
        self._told: dict[K, V] = {}

    def changed(self, values: Mapping[K, V]) -> dict[K, V]:
        """The entries of `values` the controller has not been told yet."""
        return {key: value for key, value in values.items() if self._told.get(key, _NEVER) != value}

    def told(self, values: Mapping[K, V]) -> None:
        self._told.update(values)

    def retain(self, keys: Iterable[K]) -> None:
        """Forget every object but these: one that went away and comes back is reported afresh."""
        kept = set(keys)
        self._told = {key: value for key, value in self._told.items() if key in kept}

    def forget_all(self) -> None:
        self._told.clear()

    def forget(self, key: K) -> None:
        self._told.pop(key, None)
