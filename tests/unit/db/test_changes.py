"""The change-propagation primitive: marks are published at commit and only then, for the hosts they name; waiters
wake at once in this process, within a poll interval for another process's commit, and give up at their timeout."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, delete, text, update

import andromede.registry  # noqa: F401  (every table, for create_all)
from andromede.db import changes
from andromede.db.base import Base
from andromede.db.engine import Database, normalise_url
from andromede.db.migrate import alembic_config
from andromede.network.models import Network
from tests.support.postgres import fresh_database

TOPIC = "test-topic"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return fresh_database(request.getfixturevalue("postgres_url"), "changes")
    return f"sqlite:///{tmp_path / 'db.sqlite'}"


@pytest.fixture
def db(url: str) -> Iterator[Database]:
    database = Database(url)
    Base.metadata.create_all(database.engine)
    yield database
    database.engine.dispose()


def _generations(db: Database, *hosts: str) -> list[int]:
    topic = db.changes.topic(TOPIC)
    with db.session() as session:
        return [topic.generation(session, host) for host in hosts]


def test_a_mark_is_published_at_commit_and_only_for_its_hosts(db: Database) -> None:
    seen: list[changes.Scope] = []
    db.changes.topic(TOPIC).on_commit(seen.append)
    with db.session() as session:
        changes.mark(session, TOPIC, ["hv1"])
        changes.mark(session, TOPIC, ["hv2", ""])
        assert seen == [] and _generations(db, "hv1", "hv2") == [1, 1]  # not before the commit
    assert seen == [frozenset({"hv1", "hv2"})]
    first = _generations(db, "hv1", "hv2", "hv3")
    assert first[0] == first[1] > 1 and first[2] == changes.FIRST

    with db.session() as session:
        changes.mark(session, TOPIC, ["hv3"])
    after = _generations(db, "hv1", "hv2", "hv3")
    assert after[:2] == first[:2] and after[2] > first[0]  # hv1 and hv2 did not move

    with db.session() as session:
        changes.mark(session, TOPIC, ["hv1"])
        changes.mark(session, TOPIC)  # every host wins over a list
        changes.mark(session, TOPIC, ["hv2"])
    assert seen[-1] is None
    every = _generations(db, "hv1", "hv2", "hv3", "a-host-never-named")
    assert len(set(every)) == 1 and every[0] > after[2]


def test_a_rolled_back_mark_is_forgotten(db: Database) -> None:
    seen: list[changes.Scope] = []
    db.changes.topic(TOPIC).on_commit(seen.append)
    with pytest.raises(RuntimeError), db.session() as session:
        changes.mark(session, TOPIC, ["hv1"])
        raise RuntimeError("the write failed")
    assert seen == [] and _generations(db, "hv1") == [changes.FIRST]
    with db.session() as session:  # the next transaction of a reused session starts clean
        assert changes.pending(session) == {}
    assert seen == []


def test_a_savepoint_rolled_back_keeps_the_transactions_marks(db: Database) -> None:
    seen: list[changes.Scope] = []
    db.changes.topic(TOPIC).on_commit(seen.append)
    with db.session() as session:
        changes.mark(session, TOPIC, ["hv1"])
        with pytest.raises(ValueError), session.begin_nested():
            raise ValueError("an allocation that did not fit")
        assert changes.pending(session) == {TOPIC: frozenset({"hv1"})}
    assert seen == [frozenset({"hv1"})]


def test_a_released_savepoint_publishes_nothing_before_the_outer_commit(db: Database) -> None:
    """SQLAlchemy fires the commit events when a savepoint is released too: marks must wait for the real commit, or
    a woken agent (or the identity cache) would read what is not yet visible."""
    seen: list[changes.Scope] = []
    db.changes.topic(TOPIC).on_commit(seen.append)
    with db.session() as session:
        with session.begin_nested():
            changes.mark(session, TOPIC, ["hv1"])
        assert seen == []
        assert changes.pending(session) == {TOPIC: frozenset({"hv1"})}
    assert seen == [frozenset({"hv1"})]
    assert _generations(db, "hv1") == [changes.FIRST + 1]


def test_a_topic_stored_by_its_service_only_wakes(db: Database) -> None:
    changes.stored_by_its_service("stored-elsewhere")
    seen: list[changes.Scope] = []
    db.changes.topic("stored-elsewhere").on_commit(seen.append)
    with db.session() as session:
        changes.mark(session, "stored-elsewhere", ["hv1"])
    assert seen == [frozenset({"hv1"})]
    with db.session() as session:
        assert db.changes.topic("stored-elsewhere").generation(session, "hv1") == changes.FIRST


def test_a_waiter_wakes_at_once_for_its_host_and_not_for_another(db: Database) -> None:
    topic = db.changes.topic(TOPIC)

    async def scenario() -> tuple[bool, bool, float]:
        others = asyncio.ensure_future(topic.waiters.wait("hv2", 0.3))
        mine = asyncio.ensure_future(topic.waiters.wait("hv1", 5.0))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        writer = threading.Thread(target=_mark_in_thread, args=(db, ["hv1"]))  # a commit in another thread
        writer.start()
        woken = await mine
        elapsed = time.monotonic() - started
        writer.join()
        return woken, await others, elapsed

    woken, other_woken, elapsed = asyncio.run(scenario())
    assert woken and elapsed < 1.0
    assert not other_woken  # its timeout, not a wake-up


def _mark_in_thread(db: Database, hosts: list[str] | None) -> None:
    with db.session() as session:
        changes.mark(session, TOPIC, hosts)


def test_waiters_time_out_and_unsubscribe() -> None:
    waiters = changes.Waiters()

    async def scenario() -> tuple[bool, float]:
        started = time.monotonic()
        woken = await waiters.wait("hv1", 0.1)
        return woken, time.monotonic() - started

    woken, elapsed = asyncio.run(scenario())
    assert not woken and 0.09 <= elapsed < 1.0
    assert waiters.notify(None) == 0  # nobody left registered


def test_a_long_poll_sees_another_process_commit_by_rereading(db: Database) -> None:
    """Another API process has its own hub: nothing wakes this one, the periodic read finds the change."""
    other = Database(db.url)
    topic = db.changes.topic(TOPIC)
    with db.session() as session:
        since = topic.generation(session, "hv1")

    def read() -> int | None:
        with db.session() as session:
            now = topic.generation(session, "hv1")
        return now if now > since else None

    async def scenario() -> tuple[int | None, float]:
        started = time.monotonic()
        poll = asyncio.ensure_future(topic.long_poll("hv1", read, wait_s=5.0, poll_s=0.1))
        await asyncio.sleep(0.2)
        await asyncio.to_thread(_mark_in_thread, other, ["hv1"])
        return await poll, time.monotonic() - started

    try:
        found, elapsed = asyncio.run(scenario())
    finally:
        other.engine.dispose()
    assert found is not None and found > since and elapsed < 2.0


def test_a_long_poll_gives_up_at_its_timeout(db: Database) -> None:
    topic = db.changes.topic(TOPIC)
    reads: list[float] = []

    def read() -> None:
        reads.append(time.monotonic())

    started = time.monotonic()
    assert asyncio.run(topic.long_poll("hv1", read, wait_s=0.35, poll_s=0.1)) is None
    assert 0.3 <= time.monotonic() - started < 2.0
    assert len(reads) >= 3  # re-read every poll interval


def test_watched_models_mark_their_scope_and_bulk_statements_mark_every_host(db: Database) -> None:
    db.changes.watch(Network, TOPIC, lambda _session, obj: {f"carrier-of-{obj.name}"})
    seen: list[changes.Scope] = []
    db.changes.topic(TOPIC).on_commit(seen.append)
    with db.session() as session:
        session.add(Network(id="n1", project_id="p", name="a", segmentation_id=1))
    assert seen == [frozenset({"carrier-of-a"})]
    with db.session() as session:
        session.info[changes.quiet_key(TOPIC)] = True  # a write that changes nothing the waiters hold
        network = session.get(Network, "n1")
        assert network is not None
        network.description = "quiet"
    assert len(seen) == 1
    with db.session() as session:
        session.execute(update(Network).values(description="bulk"))
    assert seen[-1] is None
    with db.session() as session:
        session.execute(delete(Network))
    assert seen[-1] is None and len(seen) == 3


def test_the_migration_carries_the_global_generations_over(url: str) -> None:
    """An agent that saw the global network generation G before the upgrade asks with since=G: every host's
    generation starts at G, so it neither misses the next change nor rebuilds for nothing."""
    engine = create_engine(normalise_url(url))
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0015_totp_step_per_user")
            connection.execute(text("INSERT INTO network_state (id, generation) VALUES (1, 41)"))
            connection.execute(text("UPDATE identity_state SET generation = 7"))
            command.upgrade(config, "0016_change_generations")
            rows = set(connection.execute(text("SELECT topic, scope, generation FROM change_generations")))
            assert rows == {("network", "#seq", 41), ("network", "*", 41), ("identity", "#seq", 7),
                            ("identity", "*", 7)}
            command.downgrade(config, "0015_totp_step_per_user")
            assert connection.execute(text("SELECT generation FROM network_state")).scalar_one() == 41
            assert connection.execute(text("SELECT generation FROM identity_state")).scalar_one() == 7
            command.upgrade(config, "head")
    finally:
        engine.dispose()
