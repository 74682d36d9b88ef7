"""Exponential backoff per key (an instance, a port...): when a failed key may be tried again.

Every reconcile loop shares it: compute keys a RetryBook by instance; the runner paces its calls with Backoff.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

MAX_EXPONENT = 32  # 2**32 times any first delay is far past any cap; bounds the float arithmetic


@dataclass(frozen=True)
class Backoff:
    """`first` seconds after the first failure, times `factor` after each further one, never more than `cap`.
    Each delay is shortened by up to `jitter` (a fraction) at random, so keys that failed together spread out."""

    first: float = 3.0
    factor: float = 2.0
    cap: float = 300.0
    jitter: float = 0.2

    def delay(self, failures: int, rand: Callable[[], float] = random.random) -> float:
        """The wait after `failures` consecutive failures (1 for the first); `rand` returns a float in [0, 1)."""
        exponent = min(max(failures, 1) - 1, MAX_EXPONENT)
        base = min(self.cap, self.first * self.factor ** exponent)
        return base * (1.0 - self.jitter * rand())


@dataclass
class _Record:
    fingerprint: object  # the desired state the failures happened under
    failures: int = 0
    not_before: float = 0.0
    held: bool = False  # a permanent failure: no attempt until the fingerprint changes


class RetryBook(Generic[K]):
    """Which keys failed, under which desired state, and when each may be attempted again. Thread-safe."""

    def __init__(self, backoff: Backoff | None = None, *, clock: Callable[[], float] = time.monotonic,
                 rand: Callable[[], float] = random.random) -> None:
        self.backoff = backoff or Backoff()
        self._clock = clock
        self._rand = rand
        self._records: dict[K, _Record] = {}
        self._lock = threading.Lock()

    def may_attempt(self, key: K, fingerprint: object) -> bool:
        """True unless the key is held or backing off under this same desired state (a change lifts both)."""
        with self._lock:
            record = self._records.get(key)
            if record is None:
                return True
            if record.fingerprint != fingerprint:
                del self._records[key]
                return True
            return not record.held and self._clock() >= record.not_before

    def failed(self, key: K, fingerprint: object) -> tuple[int, float]:
        """Count a temporary failure: (consecutive failures, seconds until the next attempt)."""
        with self._lock:
            record = self._records.get(key)
            if record is None or record.fingerprint != fingerprint:
                record = self._records[key] = _Record(fingerprint)
            record.failures += 1
            record.held = False
            delay = self.backoff.delay(record.failures, self._rand)
            record.not_before = self._clock() + delay
            return record.failures, delay

    def hold(self, key: K, fingerprint: object) -> None:
        """A permanent failure: no attempt until the key's desired state changes."""
        with self._lock:
            self._records[key] = _Record(fingerprint, held=True)

    def succeeded(self, key: K) -> None:
        with self._lock:
            self._records.pop(key, None)

    def waiting(self, key: K) -> bool:
        """True while the key is held or backing off: watchers leave it alone."""
        with self._lock:
            return key in self._records

    def due(self) -> list[K]:
        """Keys backing off whose next attempt time has come."""
        now = self._clock()
        with self._lock:
            return [key for key, record in self._records.items() if not record.held and now >= record.not_before]
