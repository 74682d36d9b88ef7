"""The retry schedule: exponential, capped, jittered downwards, per key, lifted by a change of desired state."""

from __future__ import annotations

import pytest

from andromede.agentlib.backoff import Backoff, RetryBook


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_delays_double_from_three_seconds_to_a_five_minute_cap() -> None:
    schedule = Backoff(first=3.0, factor=2.0, cap=300.0, jitter=0.2)
    delays = [schedule.delay(n, rand=lambda: 0.0) for n in range(1, 11)]
    assert delays == [3, 6, 12, 24, 48, 96, 192, 300, 300, 300]


def test_jitter_only_shortens_and_stays_within_its_fraction() -> None:
    schedule = Backoff(first=3.0, cap=300.0, jitter=0.2)
    assert schedule.delay(1, rand=lambda: 0.999999) == pytest.approx(2.4, abs=1e-5)
    assert schedule.delay(50, rand=lambda: 0.5) == pytest.approx(270.0)
    assert all(0.8 * 300 <= schedule.delay(99) <= 300 for _ in range(200))


def test_many_failures_neither_overflow_nor_exceed_the_cap() -> None:
    assert Backoff(cap=300.0).delay(10**9, rand=lambda: 0.0) == 300.0
    assert Backoff().delay(0, rand=lambda: 0.0) == 3.0  # "no failure yet" is treated as the first


def test_a_failed_key_waits_out_its_delay_and_others_do_not() -> None:
    clock = Clock()
    book = RetryBook(Backoff(first=3.0, jitter=0.0), clock=clock)
    assert book.failed("a", fingerprint=1) == (1, 3.0)
    assert not book.may_attempt("a", 1) and book.may_attempt("b", 1)
    assert book.waiting("a") and book.due() == []
    clock.now += 3.0
    assert book.may_attempt("a", 1) and book.due() == ["a"]
    assert book.failed("a", 1) == (2, 6.0)
    clock.now += 5.9
    assert not book.may_attempt("a", 1)
    book.succeeded("a")
    assert book.may_attempt("a", 1) and not book.waiting("a")


def test_a_new_desired_state_lifts_the_backoff_and_starts_counting_again() -> None:
    clock = Clock()
    book = RetryBook(Backoff(first=3.0, jitter=0.0), clock=clock)
    for _ in range(4):
        book.failed("a", 1)
    assert not book.may_attempt("a", 1)
    assert book.may_attempt("a", 2)  # the owner changed something: try at once
    assert book.failed("a", 2) == (1, 3.0)


def test_a_held_key_is_never_due_until_its_desired_state_changes() -> None:
    clock = Clock()
    book = RetryBook(clock=clock)
    book.hold("a", 7)
    clock.now += 10_000
    assert not book.may_attempt("a", 7) and book.due() == [] and book.waiting("a")
    assert book.may_attempt("a", 8) and not book.waiting("a")
