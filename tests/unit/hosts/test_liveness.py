from __future__ import annotations

from datetime import timedelta

from andromede.common.clock import utcnow
from andromede.db.engine import Database
from andromede.hosts.liveness import HOST_DEAD_AFTER, is_alive, schedulable
from andromede.hosts.models import Host


def test_a_host_is_alive_until_its_reports_stop_for_the_dead_interval() -> None:
    now = utcnow()
    assert is_alive(now - HOST_DEAD_AFTER + timedelta(seconds=1), now)
    assert not is_alive(now - HOST_DEAD_AFTER, now)
    assert not is_alive(None, now)


def test_only_enabled_live_hosts_of_the_asked_zone_are_schedulable(empty_db: Database) -> None:
    now, stale = utcnow(), utcnow() - HOST_DEAD_AFTER - timedelta(seconds=1)
    with empty_db.session() as session:
        session.add_all([Host(name="live", last_seen=now), Host(name="az1", availability_zone="az1", last_seen=now),
                         Host(name="stale", last_seen=stale), Host(name="never"),
                         Host(name="disabled", enabled=False, last_seen=now)])
    with empty_db.session() as session:
        assert sorted(h.name for h in schedulable(session)) == ["az1", "live"]
        assert [h.name for h in schedulable(session, "az1")] == ["az1"]
