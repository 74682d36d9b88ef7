"""The reconcile runner against fakes: long-poll wake-up, periodic resync, backoff, Temporary vs Permanent
failures, and a heartbeat that no slow pass delays."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from andromede.agentlib import registry
from andromede.agentlib.backoff import Backoff
from andromede.agentlib.errors import PermanentError, TemporaryError
from andromede.agentlib.runner import Desired, Loop, Runner

FAST = Backoff(first=0.05, factor=2.0, cap=1.0, jitter=0.0)


class FakeReconciler:
    """A controller holding one document per generation, and a host that records what was applied."""

    expected_failures: tuple[type[BaseException], ...] = ()

    def __init__(self, name: str = "fake", *, observe_every: float = 60.0, resync_every: float = 60.0) -> None:
        self.name = name
        self.observe_every = observe_every
        self.resync_every = resync_every
        self.generation = 1
        self.changed = threading.Condition()
        self.fetches: list[tuple[int, float, float]] = []  # (since, wait, when)
        self.applied: list[int] = []
        self.observed = 0
        self.closed = False
        self.fetch_error: Exception | None = None
        self.apply_error: Exception | None = None
        self.observe_error: Exception | None = None
        self.apply_gate: threading.Event | None = None  # apply blocks until it is set

    def publish(self) -> None:
        with self.changed:
            self.generation += 1
            self.changed.notify_all()

    def host_report(self) -> dict[str, object]:
        return {f"{self.name}_ok": True}

    def fetch(self, since: int, wait: float) -> Desired[str] | None:
        self.fetches.append((since, wait, time.monotonic()))
        if self.fetch_error is not None:
            raise self.fetch_error
        with self.changed:
            self.changed.wait_for(lambda: self.generation > since, timeout=wait)
            if self.generation <= since:
                return None
            return Desired(self.generation, f"document {self.generation}", full=since == 0)

    def apply(self, desired: Desired[str]) -> None:
        if self.apply_gate is not None:
            self.apply_gate.wait(10)
        if self.apply_error is not None:
            raise self.apply_error
        self.applied.append(desired.generation)

    def observe(self) -> None:
        self.observed += 1
        if self.observe_error is not None:
            raise self.observe_error

    def close(self) -> None:
        self.closed = True


class FakeController:
    def __init__(self) -> None:
        self.beats: list[tuple[str, dict, float]] = []

    def heartbeat(self, host: str, report: dict) -> dict:
        self.beats.append((host, report, time.monotonic()))
        return {}


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@contextmanager
def running(runner: Runner) -> Iterator[threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        for loop in runner.loops:  # release a watch sitting in its long-poll
            loop.reconciler.publish()
        thread.join(10)
    assert not thread.is_alive()


def test_a_long_poll_answer_is_applied_at_once_and_the_next_poll_starts_from_it() -> None:
    fake = FakeReconciler()
    runner = Runner("h1", FakeController(), [fake], long_poll=30.0, backoff=FAST)
    with running(runner):
        wait_until(lambda: fake.applied == [1])  # the whole state first, without waiting
        assert fake.fetches[0][:2] == (0, 0.0)
        wait_until(lambda: len(fake.fetches) == 2)
        assert fake.fetches[1][:2] == (1, 30.0)  # then a long-poll from the generation held
        published = time.monotonic()
        fake.publish()
        wait_until(lambda: fake.applied == [1, 2])
        assert time.monotonic() - published < 1.0  # not at the next tick: observe_every is a minute
        wait_until(lambda: len(fake.fetches) == 3)
        assert fake.fetches[2][0] == 2
    assert fake.closed


def test_the_whole_state_is_fetched_again_every_resync_period() -> None:
    fake = FakeReconciler(observe_every=0.05, resync_every=0.2)
    with running(Runner("h1", FakeController(), [fake], long_poll=30.0, backoff=FAST)):
        wait_until(lambda: sum(1 for since, _, _ in fake.fetches if since == 0) >= 4, timeout=3)
    full = [when for since, wait, when in fake.fetches if since == 0 and wait == 0.0]
    assert all(later - earlier >= 0.15 for earlier, later in itertools.pairwise(full[1:])), full
    assert fake.observed >= 2  # the ticks in between observe drift


def test_a_failing_controller_is_tried_again_with_growing_pauses(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeReconciler()
    fake.fetch_error = httpx.ConnectError("connection refused")
    with running(Runner("h1", FakeController(), [fake], backoff=FAST)):
        wait_until(lambda: len(fake.fetches) >= 5)
        fake.fetch_error = None
        wait_until(lambda: fake.applied == [1])
    times = [when for _, _, when in fake.fetches[:5]]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert gaps == sorted(gaps) and gaps[-1] >= 0.35, gaps  # 0.05, 0.1, 0.2, 0.4
    failures = [r for r in caplog.records if "first sync failed" in r.getMessage()]
    assert failures and all(r.exc_info is None for r in failures)  # expected: one line, no traceback


def test_a_failing_pass_backs_off_and_an_unexpected_one_shows_its_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeReconciler(observe_every=0.02)
    fake.observe_error = RuntimeError("a bug")
    with running(Runner("h1", FakeController(), [fake], backoff=FAST)):
        wait_until(lambda: fake.observed >= 4)
    failures = [r for r in caplog.records if "pass failed" in r.getMessage()]
    assert failures and all(r.exc_info is not None for r in failures)
    assert fake.observed <= 8  # 0.05, 0.1, 0.2, 0.4 s apart, not every 0.02 s


def test_a_temporary_failure_is_fetched_and_applied_again() -> None:
    fake = FakeReconciler()
    loop = Loop(fake)
    fake.apply_error = TemporaryError("host short of memory")
    with pytest.raises(TemporaryError):
        loop.sync(full=True)
    assert loop.generation == 0 and loop.held is None  # not taken as applied
    fake.apply_error = None
    assert loop.sync(full=False) and fake.applied == [1] and loop.generation == 1


def test_a_permanent_failure_is_held_until_the_desired_state_changes(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeReconciler()
    loop = Loop(fake)
    fake.apply_error = PermanentError("the driver refuses this spec")
    assert not loop.sync(full=True)
    assert loop.held == 1 and loop.generation == 1
    assert [r.levelno for r in caplog.records if "cannot be applied" in r.getMessage()] == [logging.ERROR]
    fake.apply_error = None
    assert not loop.sync(full=True)  # the same desired state: not tried again, even whole
    loop.observe()
    assert fake.applied == [] and fake.observed == 0  # nor repaired
    fake.publish()
    assert loop.sync(full=False) and fake.applied == [2] and loop.held is None
    loop.observe()
    assert fake.observed == 1


def test_a_slow_pass_never_delays_the_heartbeat() -> None:
    fake = FakeReconciler()
    fake.apply_gate = threading.Event()  # the first apply takes as long as the test wants
    controller = FakeController()
    with running(Runner("h1", controller, [fake], heartbeat_every=0.05, backoff=FAST)):
        wait_until(lambda: len(fake.fetches) == 1)
        start = len(controller.beats)
        time.sleep(0.5)
        assert len(controller.beats) - start >= 5 and fake.applied == []
        fake.apply_gate.set()
        wait_until(lambda: fake.applied == [1])
    assert controller.beats[0][:2] == ("h1", {"fake_ok": True})


def test_the_heartbeat_carries_every_reconcilers_report_in_registry_order() -> None:
    runner = Runner("h1", FakeController(), [FakeReconciler("network"), FakeReconciler("compute")])
    assert list(runner.host_report()) == ["network_ok", "compute_ok"]


def test_entries_are_built_in_order_and_may_stay_off() -> None:
    seen: list[list[str]] = []

    def entry(name: str, *, off: bool = False) -> registry.Entry:
        def build(context: registry.AgentContext) -> Any:
            seen.append(list(context.built))
            return None if off else FakeReconciler(name)
        return registry.Entry(name, build)

    context = registry.AgentContext(host="h1", data_dir=Path("/nonexistent"), config=Path("/nonexistent"),
                                    driver="fake", availability_zone="nova", controller=None)  # unused here
    built = registry.build([entry("network"), entry("storage", off=True), entry("compute")], context)
    assert [r.name for r in built] == ["network", "compute"] and seen == [[], ["network"], ["network"]]
    with pytest.raises(ValueError, match="share a name"):
        registry.build([entry("compute"), entry("compute")], context)
