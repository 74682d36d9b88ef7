"""The hosts' service functions: a heartbeat records what the operator allows, the generation moves on each change."""

from __future__ import annotations

from datetime import timedelta

import pytest

from andromede.common.clock import utcnow
from andromede.common.errors import NotFound
from andromede.db.engine import Database
from andromede.hosts import service
from andromede.hosts.capacity import Capacity
from andromede.hosts.models import Host


def _report(*, zone: str = "nova", vtep: str | None = None, vcpus: int = 8) -> service.Report:
    return service.Report(Capacity(vcpus, 16384, 100), "kvm", zone, vtep)


def test_an_unknown_hosts_heartbeat_is_refused(empty_db: Database) -> None:
    with empty_db.session() as session, pytest.raises(NotFound, match="Host ghost is not registered"):
        service.heartbeat(session, "ghost", _report())


def test_the_first_heartbeat_names_the_zone_and_later_ones_cannot_move_it(empty_db: Database) -> None:
    with empty_db.session() as session:
        session.add(Host(name="hv1", max_vcpus=4))
    with empty_db.session() as session:
        beat = service.heartbeat(session, "hv1", _report(zone="az1", vcpus=64))
        assert beat.generation == 0
    with empty_db.session() as session:
        service.heartbeat(session, "hv1", _report(zone="az2"))
        host = session.get(Host, "hv1")
        assert host is not None and host.availability_zone == "az1" and host.accelerator == "kvm"
        assert host.vcpus == 4 and host.last_seen is not None  # capped at the operator's ceiling


def test_a_heartbeat_says_when_the_hosts_vxlan_endpoint_changed(empty_db: Database) -> None:
    with empty_db.session() as session:
        session.add(Host(name="hv1"))
    changes = []
    for vtep in ("10.0.0.1", "10.0.0.1", "10.0.0.2", None):
        with empty_db.session() as session:
            changes.append(service.heartbeat(session, "hv1", _report(vtep=vtep)).vtep_changed)
    assert changes == [True, False, True, True]
    with empty_db.session() as session:
        assert service.vteps(session) == {}


def test_each_change_advances_the_hosts_generation(empty_db: Database) -> None:
    with empty_db.session() as session:
        session.add_all([Host(name="hv1"), Host(name="hv2")])
    with empty_db.session() as session:
        assert [service.advance_generation(session, "hv1") for _ in range(3)] == [1, 2, 3]
        assert service.desired_generation(session, "hv1") == 3
        assert service.desired_generation(session, "hv2") == 0
        with pytest.raises(NotFound):
            service.desired_generation(session, "ghost")


def test_zones_endpoints_and_network_agents_as_services_read_them(empty_db: Database) -> None:
    with empty_db.session() as session:
        session.add_all([Host(name="b", availability_zone="az1", vtep_address="10.0.0.2",
                              created_at=utcnow() - timedelta(hours=1)),
                         Host(name="a", vtep_address=None)])
    with empty_db.session() as session:
        assert service.zone_exists(session, "az1") and not service.zone_exists(session, "az9")
        assert service.vteps(session) == {"b": "10.0.0.2"}
        assert [h.name for h in service.listed(session)] == ["a", "b"]
        assert [h.name for h in service.listed(session, order="created_at")] == ["b", "a"]
        assert service.with_network_agent(session) == []
        service.note_network_agent_seen(session, "b")
    with empty_db.session() as session:
        assert [h.name for h in service.with_network_agent(session)] == ["b"]
        assert service.get(session, "a") is not None and service.get(session, "ghost") is None


def test_the_schedulers_shortlist_is_the_enabled_live_hosts_with_room_as_read_views(empty_db: Database) -> None:
    now = utcnow()
    with empty_db.session() as session:
        session.add_all([Host(name="roomy", vcpus=4, memory_mib=4096, disk_gib=40, last_seen=now),
                         Host(name="full", vcpus=1, memory_mib=512, disk_gib=1, last_seen=now),
                         Host(name="off", vcpus=4, memory_mib=4096, disk_gib=40, last_seen=now, enabled=False),
                         Host(name="dead", vcpus=4, memory_mib=4096, disk_gib=40)])
    with empty_db.session() as session:
        shortlist = service.schedulable(session, Capacity(2, 1024, 10))
        assert [h.name for h in shortlist] == ["roomy"]
        assert isinstance(shortlist[0], service.HostView) and shortlist[0].memory_mib == 4096
        assert service.schedulable(session, Capacity(2, 1024, 10), "az9") == []
