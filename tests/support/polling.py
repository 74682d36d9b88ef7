"""Waiting for a condition with a deadline (functional deadlines are polled with slack, never asserted as speed)."""

from __future__ import annotations

import time
from collections.abc import Callable


def poll(check: Callable[[], bool], timeout: float = 60.0, what: str = "condition", interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
