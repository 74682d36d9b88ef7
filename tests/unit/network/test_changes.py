"""Which hosts a network write marks: the hosts carrying the network, the network host, the hosts that see a
security group; never a host that carries only other networks."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

import andromede.registry  # noqa: F401  (every table, for create_all)
from andromede.db import changes
from andromede.db.base import Base
from andromede.db.engine import Database
from andromede.network import changes as network_changes
from andromede.network.l3.models import Router
from andromede.network.models import FixedIp, Network, Port, Subnet
from andromede.network.security_groups.models import PortSecurityGroup, SecurityGroup, SecurityGroupRule

NETWORK_HOST = "net-host"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    Base.metadata.create_all(database.engine)
    network_changes.watch(database, NETWORK_HOST)
    with database.session() as session:
        for index, name in enumerate(("a", "b")):
            session.add(Network(id=name, project_id="p", segmentation_id=index + 1))
            session.add(Subnet(id=f"sub-{name}", network_id=name, project_id="p", ip_version=4,
                               cidr=f"10.0.{index}.0/24"))
        session.add_all([SecurityGroup(id="sg-a", project_id="p"), SecurityGroup(id="sg-b", project_id="p"),
                         SecurityGroup(id="sg-web", project_id="p")])
        session.flush()
        session.add_all([_port("pa1", "a", "hv-a1"), _port("pa2", "a", "hv-a2"), _port("pb", "b", "hv-b"),
                         _port("dhcp-a", "a", "", owner="network:dhcp")])
        session.flush()
        session.add_all([PortSecurityGroup(port_id="pa1", security_group_id="sg-a"),
                         PortSecurityGroup(port_id="pb", security_group_id="sg-b"),
                         FixedIp(port_id="pa1", subnet_id="sub-a", ip_address="10.0.0.5")])
    yield database
    database.engine.dispose()


def _port(port_id: str, network_id: str, host: str, owner: str = "compute:nova") -> Port:
    digest = hashlib.sha256(port_id.encode()).hexdigest()
    return Port(id=port_id, network_id=network_id, project_id="p", mac_address="fa:16:3e:" + ":".join(
        digest[i:i + 2] for i in (0, 2, 4)), device_owner=owner, binding_host_id=host, device_id="vm-" + port_id)


def _marked(db: Database, write) -> changes.Scope:  # type: ignore[no-untyped-def]
    seen: list[changes.Scope] = []
    topic = db.changes.topic(network_changes.TOPIC)
    topic.on_commit(seen.append)
    try:
        with db.session() as session:
            write(session)
    finally:
        topic.listeners.remove(seen.append)
    assert len(seen) <= 1
    return seen[0] if seen else frozenset()


def _rename_network(network_id: str):  # type: ignore[no-untyped-def]
    def write(session: Session) -> None:
        network = session.get(Network, network_id)
        assert network is not None
        network.mtu = 1400
    return write


def test_a_network_change_marks_its_carriers_and_the_network_host_only(db: Database) -> None:
    assert _marked(db, _rename_network("a")) == {"hv-a1", "hv-a2", NETWORK_HOST}
    assert _marked(db, _rename_network("b")) == {"hv-b", NETWORK_HOST}


def test_a_host_generation_moves_only_when_it_is_concerned(db: Database) -> None:
    topic = db.changes.topic(network_changes.TOPIC)

    def generations() -> dict[str, int]:
        with db.session() as session:
            return {host: topic.generation(session, host) for host in ("hv-a1", "hv-b", NETWORK_HOST)}

    before = generations()
    _marked(db, _rename_network("a"))
    after = generations()
    assert after["hv-b"] == before["hv-b"]
    assert after["hv-a1"] > before["hv-a1"] and after[NETWORK_HOST] > before[NETWORK_HOST]


def test_binding_a_port_marks_the_old_host_the_new_host_and_the_carriers(db: Database) -> None:
    def rebind(session: Session) -> None:
        port = session.get(Port, "pa2")
        assert port is not None
        port.binding_host_id = "hv-new"

    assert _marked(db, rebind) == {"hv-a1", "hv-a2", "hv-new", NETWORK_HOST}

    def new_port(session: Session) -> None:
        session.add(_port("pa3", "a", "hv-c"))

    assert _marked(db, new_port) == {"hv-a1", "hv-new", "hv-c", NETWORK_HOST}


def test_a_port_status_is_in_no_document(db: Database) -> None:
    def report(session: Session) -> None:
        port = session.get(Port, "pb")
        assert port is not None
        port.status = "ACTIVE"

    assert _marked(db, report) == frozenset()


def test_an_address_marks_the_hosts_that_see_its_port_groups(db: Database) -> None:
    with db.session() as session:  # hv-b's group admits sg-a's members: hv-b sees sg-a's addresses
        session.add(SecurityGroupRule(id="r1", security_group_id="sg-b", project_id="p", direction="ingress",
                                      ethertype="IPv4", remote_group_id="sg-a"))

    def readdress(session: Session) -> None:
        session.add(FixedIp(port_id="pa1", subnet_id="sub-a", ip_address="10.0.0.6"))

    assert _marked(db, readdress) == {"hv-a1", "hv-b", NETWORK_HOST}  # hv-a2 holds neither the port nor its group


def test_a_rule_marks_the_hosts_that_see_its_group(db: Database) -> None:
    def add_rule(session: Session) -> None:
        session.add(SecurityGroupRule(id="r2", security_group_id="sg-b", project_id="p", direction="ingress",
                                      ethertype="IPv4", protocol="tcp"))

    assert _marked(db, add_rule) == {"hv-b"}

    def unused_group_rule(session: Session) -> None:
        session.add(SecurityGroupRule(id="r3", security_group_id="sg-web", project_id="p", direction="ingress",
                                      ethertype="IPv4"))

    assert _marked(db, unused_group_rule) == frozenset()  # no host holds sg-web: nobody to wake

    def join_group(session: Session) -> None:
        session.add(PortSecurityGroup(port_id="pa2", security_group_id="sg-b"))

    assert _marked(db, join_group) == {"hv-a2", "hv-b"}


def test_routers_concern_the_network_host_and_endpoints_their_peers(db: Database) -> None:
    assert _marked(db, lambda session: session.add(Router(id="r", project_id="p"))) == {NETWORK_HOST}
    scopes = network_changes.NetworkScopes(NETWORK_HOST)
    with db.session() as session:
        assert scopes.vtep(session, "hv-a1") == {"hv-a1", "hv-a2", NETWORK_HOST}
        assert scopes.vtep(session, "hv-idle") == {NETWORK_HOST}
        assert scopes.vtep(session, NETWORK_HOST) is changes.EVERY_HOST


def test_deleting_a_port_marks_the_hosts_that_carried_it(db: Database) -> None:
    def delete(session: Session) -> None:
        for row in session.query(FixedIp).filter_by(port_id="pa1"):
            session.delete(row)
        port = session.get(Port, "pa1")
        session.delete(port)

    assert _marked(db, delete) == {"hv-a1", "hv-a2", NETWORK_HOST}
