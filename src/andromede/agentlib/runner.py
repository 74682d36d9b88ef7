"""The reconcile runner: one per agent process, driving every service's Reconciler and the host's heartbeat.

For each reconciler two threads: a watch, which takes the whole desired state once and then long-polls the
controller, applying each answer as soon as it comes (the wake-up); and a tick, which every `observe_every`
seconds either takes the whole state again (every `resync_every`, in case a change was missed) or observes drift.
The heartbeat is a thread of its own: a slow pass of any reconciler never delays it (a host silent for 90 s looks
dead, and the scheduler then refuses every boot).

Failures of a whole pass follow errors.py: a PermanentError holds the reconciler at that generation, not applied
again until its desired state changes; anything else is retried with exponential backoff, one log line per try
(with a traceback only for what is not an expected failure). Per-object retries stay inside each reconciler.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import httpx

from andromede.agentlib.backoff import Backoff
from andromede.agentlib.errors import PermanentError, TemporaryError

log = logging.getLogger("andromede.agent.runner")
CONTROLLER_BACKOFF = Backoff(first=1.0, factor=2.0, cap=30.0)
EXPECTED_FAILURES: tuple[type[BaseException], ...] = (TemporaryError, httpx.HTTPError, OSError)

D = TypeVar("D")


@dataclass(frozen=True)
class Desired(Generic[D]):
    """One answer of the controller: the document, the generation it brings the host to, and whether it is whole
    (everything the host should hold) or only what changed."""

    generation: int
    document: D
    full: bool = False


class Reconciler(Protocol[D]):
    """One service's side of the agent. `fetch` and `apply` may be called from two threads at once."""

    name: str  # thread names and log lines
    observe_every: float  # seconds between two observe() calls
    resync_every: float  # seconds between two full resyncs
    expected_failures: tuple[type[BaseException], ...]  # logged without a traceback, besides EXPECTED_FAILURES

    def host_report(self) -> dict[str, object]:
        """What this service adds to the host's heartbeat (capacity, VXLAN endpoint...)."""

    def fetch(self, since: int, wait: float) -> Desired[D] | None:
        """What changed after generation `since` (0: everything), waiting up to `wait` s; None when unchanged."""

    def apply(self, desired: Desired[D]) -> None:
        """Make the host match; per-object failures are the reconciler's own business."""

    def observe(self) -> None:
        """Compare the host with the last desired state and repair drift; report what changed."""

    def close(self) -> None:
        """The agent stops: finish or drop what is under way."""


class HostController(Protocol):
    def heartbeat(self, host: str, report: dict) -> dict: ...


class Loop(Generic[D]):
    """One reconciler as the runner drives it: the generation it holds, and the one it is held at."""

    def __init__(self, reconciler: Reconciler[D]) -> None:
        self.reconciler = reconciler
        self.generation = 0
        self.held: int | None = None  # a PermanentError at this generation: nothing applied until it changes
        self.synced = threading.Event()  # the first whole state was applied
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.reconciler.name

    def sync(self, *, full: bool, wait: float = 0.0) -> bool:
        """Fetch what changed since the generation held (everything if `full`) and apply it; False if nothing
        was applied. The generation moves on only once applied, so a failed answer is fetched again."""
        with self._lock:
            since = 0 if full else self.generation
        desired = self.reconciler.fetch(since, wait)
        if desired is None:
            return False
        with self._lock:
            if desired.generation == self.held:
                return False
        try:
            self.reconciler.apply(desired)
        except PermanentError as exc:
            with self._lock:
                self.held = desired.generation
                self.generation = max(self.generation, desired.generation)
            log.error("%s: generation %d cannot be applied: %s; not retried until the desired state changes",
                      self.name, desired.generation, exc)
            return False
        with self._lock:
            self.held = None
            self.generation = max(self.generation, desired.generation)
        return True

    def observe(self) -> None:
        with self._lock:
            if self.held is not None:
                return
        try:
            self.reconciler.observe()
        except PermanentError as exc:
            with self._lock:
                self.held = self.generation
            log.error("%s: drift cannot be repaired: %s; not retried until the desired state changes",
                      self.name, exc)

    def expected(self, exc: BaseException) -> bool:
        return isinstance(exc, EXPECTED_FAILURES + tuple(self.reconciler.expected_failures))


class Runner:
    def __init__(self, host: str, controller: HostController, reconcilers: Sequence[Reconciler[Any]], *,
                 heartbeat_every: float = 20.0, long_poll: float = 20.0, backoff: Backoff = CONTROLLER_BACKOFF,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.host = host
        self.controller = controller
        self.loops: list[Loop[Any]] = [Loop(reconciler) for reconciler in reconcilers]
        self.heartbeat_every = heartbeat_every
        self.long_poll = long_poll
        self.backoff = backoff
        self._clock = clock

    def host_report(self) -> dict[str, object]:
        report: dict[str, object] = {}
        for loop in self.loops:
            report.update(loop.reconciler.host_report())
        return report

    def heartbeat(self) -> None:
        self.controller.heartbeat(self.host, self.host_report())

    def run(self, stop: threading.Event) -> None:
        """Until `stop` is set. The first heartbeat comes before anything else: it registers the host."""
        self._until_connected(stop, self.heartbeat)
        threads = [threading.Thread(target=self._beat, args=(stop,), name="heartbeat", daemon=True)]
        for loop in self.loops:
            threads.append(threading.Thread(target=self._tick, args=(stop, loop), name=loop.name, daemon=True))
            # Not joined: it may sit in a long-poll for `long_poll` seconds more.
            threading.Thread(target=self._watch, args=(stop, loop), name=f"{loop.name}-watch", daemon=True).start()
        for thread in threads:
            thread.start()
        stop.wait()
        for thread in threads:
            thread.join()
        for loop in self.loops:
            loop.reconciler.close()

    def _beat(self, stop: threading.Event) -> None:
        pause, failures = self.heartbeat_every, 0
        while not stop.wait(pause):
            try:
                self.heartbeat()
            except Exception as exc:  # the heartbeat outlives any failure; it tries again sooner
                failures += 1
                pause = min(self.heartbeat_every, self.backoff.delay(failures))
                log.warning("heartbeat failed (%s); next try in %.0f s", exc, pause,
                            exc_info=None if isinstance(exc, EXPECTED_FAILURES) else exc)
            else:
                pause, failures = self.heartbeat_every, 0

    def _watch(self, stop: threading.Event, loop: Loop[Any]) -> None:
        failures = 0
        while not stop.is_set():
            first = not loop.synced.is_set()
            try:
                loop.sync(full=first, wait=0.0 if first else self.long_poll)
            except Exception as exc:  # the watch must keep going; it backs off instead
                failures += 1
                pause = self.backoff.delay(failures)
                what = "first sync" if first else "long-poll"
                log.warning("%s: %s failed (%s); next try in %.0f s", loop.name, what, exc, pause,
                            exc_info=None if loop.expected(exc) else exc)
                stop.wait(pause)
            else:
                loop.synced.set()
                failures = 0

    def _tick(self, stop: threading.Event, loop: Loop[Any]) -> None:
        reconciler = loop.reconciler
        next_resync = self._clock() + reconciler.resync_every
        pause, failures = reconciler.observe_every, 0
        while not stop.wait(pause):
            try:
                if self._clock() >= next_resync:  # the whole state applied is itself a repair of drift
                    loop.sync(full=True)
                    loop.synced.set()
                    next_resync = self._clock() + reconciler.resync_every
                else:
                    loop.observe()
            except Exception as exc:  # the loop outlives any one failure; it backs off instead
                failures += 1
                pause = max(reconciler.observe_every, self.backoff.delay(failures))
                log.warning("%s: pass failed (%s); next try in %.0f s", loop.name, exc, pause,
                            exc_info=None if loop.expected(exc) else exc)
            else:
                pause, failures = reconciler.observe_every, 0

    @staticmethod
    def _until_connected(stop: threading.Event, call: Callable[[], object]) -> None:
        delay = 0.2
        while not stop.is_set():
            try:
                call()
                return
            except (httpx.HTTPError, OSError) as exc:
                log.info("waiting for the controller (%s)", exc)
                stop.wait(delay)
                delay = min(delay * 2, 5.0)
