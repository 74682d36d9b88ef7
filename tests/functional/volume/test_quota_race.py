"""Volume creates sent at once to a project at its quota, through the API: exactly the quota's worth succeed. The
creates run in worker threads, so they genuinely overlap in one server process (a create waiting on the quota lock
holds no other request); the race between processes is tests/unit/volume/test_races.py's."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text

from tests.support.accounts import Admin, auth_headers
from tests.support.server import Server


def test_parallel_creates_at_the_quota_never_overrun_it(server: Server, admin: Admin) -> None:
    member = admin.account("member")
    limit, racers = 2, 8
    quota = admin.client.put(f"/volume/v3/{admin.project_id}/os-quota-sets/{member.project_id}",
                             json={"quota_set": {"volumes": limit}})
    assert quota.status_code == 200, quota.text
    token = member.token(server)
    volumes = f"/volume/v3/{member.project_id}/volumes"
    start = threading.Barrier(racers)
    statuses: list[int] = []

    def create(index: int) -> None:
        with server.http() as client:
            client.headers.update(auth_headers(token))
            start.wait()
            statuses.append(client.post(volumes, json={"volume": {"size": 1, "name": f"race-{index}"}},
                                        timeout=60).status_code)

    threads = [threading.Thread(target=create, args=(index,)) for index in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [202] * limit + [413] * (racers - limit)
    with server.http() as mine:
        listed = mine.get(volumes, headers=auth_headers(token))
    assert listed.status_code == 200 and len(listed.json()["volumes"]) == limit


@contextmanager
def _quota_row_held(server: Server, project_id: str) -> Iterator[None]:
    """What a create in flight holds: the project's quota row on PostgreSQL, SQLite's one write lock otherwise."""
    if not server.database_url:
        db = sqlite3.connect(server.data_dir / "andromede.db", isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            db.execute("ROLLBACK")
            db.close()
        return
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as connection, connection.begin():
            connection.execute(text("SELECT project_id FROM volume_quotas WHERE project_id = :p FOR UPDATE"),
                               {"p": project_id})
            yield
    finally:
        engine.dispose()


def test_a_create_waiting_on_the_quota_lock_holds_no_other_request(server: Server, admin: Admin) -> None:
    """A create blocked on the database must not stall the event loop: other requests are answered meanwhile (when
    routes ran on the loop, the first request after the create hung until the lock was released)."""
    member = admin.account("member")
    quota = admin.client.put(f"/volume/v3/{admin.project_id}/os-quota-sets/{member.project_id}",
                             json={"quota_set": {"volumes": 1}})
    assert quota.status_code == 200, quota.text
    token = member.token(server)
    volumes = f"/volume/v3/{member.project_id}/volumes"
    created: list[int] = []

    def create() -> None:
        with server.http() as client:
            created.append(client.post(volumes, json={"volume": {"size": 1, "name": "held"}},
                                       headers=auth_headers(token), timeout=60).status_code)

    creator = threading.Thread(target=create)
    with _quota_row_held(server, member.project_id), server.http() as other:
        creator.start()
        for _ in range(5):  # the create reaches the lock during these; every one is answered while it waits there
            listed = other.get(volumes, headers=auth_headers(token), timeout=5)
            assert listed.status_code == 200 and listed.json()["volumes"] == []
            threading.Event().wait(0.2)
        assert creator.is_alive() and not created  # still waiting on the lock: it ran alongside the reads
    creator.join()
    assert created == [202]
