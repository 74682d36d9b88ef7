"""Wake agents that long-poll for their host's desired state as soon as it changes.

In this process a change wakes the waiting request at once; changes written by another API process
are seen by the periodic database check of the waiting request.
"""

from __future__ import annotations

import asyncio
import threading


class HostNotifier:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

    def notify(self, host: str) -> None:
        """Thread-safe: called after a commit, from whatever thread made the change."""
        with self._lock:
            waiters = self._events.pop(host, [])
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)

    async def wait(self, host: str, timeout: float) -> None:
        event = asyncio.Event()
        with self._lock:
            self._events.setdefault(host, []).append((asyncio.get_running_loop(), event))
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                waiters = self._events.get(host, [])
                self._events[host] = [w for w in waiters if w[1] is not event]
