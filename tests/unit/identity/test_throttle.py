"""Login throttling arithmetic and storage, the hash gate, and TOTP steps taken once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

import andromede.registry  # noqa: F401  (every service's tables, for create_all)
from andromede.common.clock import utcnow
from andromede.common.errors import TooManyRequests
from andromede.db.base import Base
from andromede.db.engine import Database
from andromede.identity.credentials import claim_totp_step
from andromede.identity.models import Credential, Domain, User
from andromede.identity.throttle import HashGate, LoginThrottle, ThrottlePolicy, account_key, client_key

POLICY = ThrottlePolicy(free_failures=3, delay_s=2.0, max_delay_s=60.0, reset_s=3600.0)


@pytest.fixture()
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    Base.metadata.create_all(database.engine)
    return database


def test_delay_starts_after_the_free_failures_and_doubles_up_to_the_cap() -> None:
    delays = [POLICY.delay_after(n) for n in range(1, 10)]
    assert delays == [0, 0, 2, 4, 8, 16, 32, 60, 60]
    assert POLICY.delay_after(10**6) == 60  # no overflow however many failures


def test_client_key_takes_ipv6_by_64_and_keeps_ipv4() -> None:
    assert client_key("203.0.113.7") == "203.0.113.7"
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::2") == "2001:db8:1:2::/64"
    assert client_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert client_key("not an address") == "not an address"


def test_account_key_never_holds_the_name() -> None:
    key = account_key("unknown", None, "hunter2-typed-as-a-name", "default", None)
    assert "hunter2" not in key and len(key) == 64
    assert key == account_key("unknown", None, "hunter2-typed-as-a-name", "default", None)
    assert key != account_key("unknown", None, "hunter2-typed-as-a-name", None, "default")


def test_failures_block_one_address_with_a_doubling_delay(db: Database) -> None:
    throttle, now, key = LoginThrottle(db, POLICY), utcnow(), account_key("user", "u1")
    assert [throttle.record_failure(key, "10.0.0.1", now) for _ in range(4)] == [0, 0, 2, 4]
    with db.session() as session:
        with pytest.raises(TooManyRequests) as refused:
            throttle.check(session, key, "10.0.0.1", now + timedelta(seconds=1))
        assert refused.value.headers["Retry-After"] == "3"
        assert throttle.check(session, key, "10.0.0.2", now).retry_after_s == 0  # another address
        assert throttle.check(session, account_key("user", "u2"), "10.0.0.1", now).retry_after_s == 0
        later = throttle.check(session, key, "10.0.0.1", now + timedelta(seconds=5))
        assert later.has_failures and later.retry_after_s == 0
    throttle.forget(key, "10.0.0.1")
    with db.session() as session:
        assert not throttle.state(session, key, "10.0.0.1", now).has_failures


def test_old_failures_are_forgotten_and_purged(db: Database) -> None:
    throttle, now, key = LoginThrottle(db, POLICY), utcnow(), account_key("user", "u1")
    for _ in range(3):
        throttle.record_failure(key, "10.0.0.1", now - timedelta(hours=2))
    assert throttle.record_failure(key, "10.0.0.1", now) == 0  # counting starts again
    throttle.record_failure(account_key("user", "u2"), "10.0.0.9", now - timedelta(hours=3))
    throttle.record_failure(account_key("user", "u3"), "10.0.0.9", now)  # purges the stale u2 row
    with db.session() as session:
        assert not throttle.state(session, account_key("user", "u2"), "10.0.0.9", now).has_failures
        assert throttle.state(session, key, "10.0.0.1", now).has_failures


def test_hash_gate_admits_slots_plus_queue_then_refuses() -> None:
    async def scenario() -> list[str]:
        gate, release, outcomes = HashGate(slots=1, queue=1), asyncio.Event(), []

        async def login(name: str) -> None:
            try:
                async with gate.slot():
                    await release.wait()
                    outcomes.append(f"{name}:done")
            except TooManyRequests as exc:
                outcomes.append(f"{name}:429 after {exc.headers['Retry-After']}s")

        tasks = [asyncio.create_task(login(name)) for name in ("a", "b", "c")]
        await asyncio.sleep(0.01)
        release.set()
        await asyncio.gather(*tasks)
        async with gate.slot():  # capacity comes back
            outcomes.append("d:done")
        return outcomes

    assert asyncio.run(scenario()) == ["c:429 after 1s", "a:done", "b:done", "d:done"]


def test_a_totp_step_is_claimed_once(db: Database) -> None:
    with db.session() as session:
        session.add(Domain(id="d", name="D"))
        session.flush()
        session.add(User(id="u", name="u", domain_id="d"))
        session.flush()
        session.add(Credential(id="c", user_id="u", type="totp", sealed_blob="x"))
    assert claim_totp_step(db, "u", 100)
    assert not claim_totp_step(db, "u", 100)  # replay
    assert not claim_totp_step(db, "u", 99)  # an older code, after a newer one was used
    assert claim_totp_step(db, "u", 101)
