"""Security group rule validation: Neutron's conversions, canonical forms and error types."""

from __future__ import annotations

import uuid

import pytest

from andromede.common.errors import BadRequest
from andromede.contracts.network import SecurityGroupRule
from andromede.network.security_groups.schemas import SecurityGroupRuleCreate
from andromede.network.security_groups.service import convert_protocol, data_plane_protocol, normalize_rule, rule_key

GROUP = str(uuid.uuid4())


def _rule(**fields: object) -> dict:
    return normalize_rule(SecurityGroupRuleCreate(security_group_id=GROUP, **{"direction": "ingress", **fields}))


@pytest.mark.parametrize("stored,ethertype,sent", [
    (None, "IPv4", None), ("tcp", "IPv4", "tcp"), ("6", "IPv4", "tcp"), ("17", "IPv6", "udp"),
    ("icmp", "IPv4", "icmp"), ("1", "IPv4", "icmp"), ("ipv6-icmp", "IPv6", "icmpv6"), ("58", "IPv6", "icmpv6"),
    ("icmpv6", "IPv6", "icmpv6"), ("gre", "IPv4", "47"), ("sctp", "IPv6", "132"), ("47", "IPv4", "47")])
def test_the_agents_get_protocols_in_the_data_planes_terms(stored: str | None, ethertype: str,
                                                            sent: str | None) -> None:
    # Normalised once, on the server: the agent passes the protocol to its filters as it comes.
    assert data_plane_protocol(stored, ethertype) == sent


def _error(**fields: object) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        _rule(**fields)
    return caught.value


@pytest.mark.parametrize("given,stored", [
    (None, None), ("any", None), ("tcp", "tcp"), ("TCP", "tcp"), ("Udp", "udp"), ("icmp", "icmp"),
    ("ipv6-icmp", "ipv6-icmp"), ("gre", "gre"), (6, "6"), ("6", "6"), (0, "0"), ("255", "255"), ("ANY", None)])
def test_protocols_accepted_as_neutron_converts_them(given: object, stored: str | None) -> None:
    # Neutron lower-cases known names (so "TCP" is accepted as "tcp") and keeps numbers as strings.
    assert convert_protocol(given) == stored


@pytest.mark.parametrize("given", ["banana", "256", -1, 300, "tcp ", "", True])
def test_unknown_protocols_are_refused(given: object) -> None:
    with pytest.raises(BadRequest) as caught:
        convert_protocol(given)
    assert caught.value.extra["type"] == "SecurityGroupRuleInvalidProtocol"
    assert "not supported" in caught.value.message


def test_a_tcp_rule_is_stored_canonically() -> None:
    rule = _rule(protocol="TCP", port_range_min="22", port_range_max=22, ethertype="ipv4",
                 remote_ip_prefix="10.0.0.1")
    assert rule["protocol"] == "tcp" and rule["port_range_min"] == rule["port_range_max"] == 22
    assert rule["ethertype"] == "IPv4" and rule["remote_ip_prefix"] == "10.0.0.1/32"


def test_canonical_forms() -> None:
    whole = _rule(protocol="tcp", port_range_min=1, port_range_max=65535)
    assert whole["port_range_min"] is None and whole["port_range_max"] is None
    assert _rule(protocol="icmp", ethertype="IPv6")["protocol"] == "ipv6-icmp"
    assert _rule(protocol="icmpv6", ethertype="IPv6")["protocol"] == "ipv6-icmp"
    assert _rule(protocol=1, ethertype="IPv6")["protocol"] == "58"
    icmp = _rule(protocol="icmp", port_range_min=8, port_range_max=0)
    assert (icmp["port_range_min"], icmp["port_range_max"]) == (8, 0)
    assert _rule(protocol="icmp", port_range_min=8)["port_range_max"] is None
    assert _rule(remote_ip_prefix="10.1.2.3/24")["remote_ip_prefix"] == "10.1.2.3/24"  # kept as given, like Neutron


@pytest.mark.parametrize("fields,kind", [
    ({"protocol": "tcp", "port_range_min": 30, "port_range_max": 20}, "SecurityGroupInvalidPortRange"),
    ({"protocol": "tcp", "port_range_min": 30}, "SecurityGroupInvalidPortRange"),
    ({"protocol": "udp", "port_range_min": 0, "port_range_max": 10}, "SecurityGroupInvalidPortValue"),
    ({"protocol": "tcp", "port_range_min": 70000, "port_range_max": 70000}, "SecurityGroupInvalidPortValue"),
    ({"protocol": "tcp", "port_range_min": "ssh", "port_range_max": 22}, "SecurityGroupInvalidPortValue"),
    ({"port_range_min": 22, "port_range_max": 22}, "SecurityGroupProtocolRequiredWithPorts"),
    ({"protocol": "gre", "port_range_min": 22, "port_range_max": 22}, "SecurityGroupInvalidProtocolForPort"),
    ({"protocol": "47", "port_range_min": 22, "port_range_max": 22}, "SecurityGroupInvalidProtocolForPort"),
    ({"protocol": "icmp", "port_range_min": 300}, "SecurityGroupInvalidIcmpValue"),
    ({"protocol": "icmp", "port_range_max": 0}, "SecurityGroupMissingIcmpType"),
    ({"ethertype": "IPv5"}, "SecurityGroupRuleInvalidEtherType"),
    ({"ethertype": "IPv4", "remote_ip_prefix": "::/0"}, "SecurityGroupRuleParameterConflict"),
    ({"ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"}, "SecurityGroupRuleParameterConflict"),
    ({"remote_ip_prefix": "10.0.0.0/33"}, "InvalidCIDR"),
    ({"remote_ip_prefix": "banana"}, "InvalidCIDR"),
    ({"protocol": "ipv6-icmp", "ethertype": "IPv4"}, "SecurityGroupEthertypeConflictWithProtocol"),
    ({"protocol": "58", "ethertype": "IPv4"}, "SecurityGroupEthertypeConflictWithProtocol"),
    ({"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": GROUP}, "SecurityGroupMultipleRemoteEntites"),
    ({"direction": "sideways"}, "InvalidInput"),
])
def test_bad_rules_get_neutrons_errors(fields: dict, kind: str) -> None:
    error = _error(**fields)
    assert error.status == 400 and error.extra["type"] == kind, error.message


def test_duplicate_keys_match_as_neutron_compares_rules() -> None:
    assert rule_key(_rule(protocol="tcp", port_range_min=22, port_range_max=22), GROUP) == \
        rule_key(_rule(protocol="6", port_range_min=22, port_range_max=22, remote_ip_prefix="0.0.0.0/0"), GROUP)
    assert rule_key(_rule(protocol="icmp", ethertype="IPv6"), GROUP) == \
        rule_key(_rule(protocol="58", ethertype="IPv6"), GROUP)
    assert rule_key(_rule(), GROUP) != rule_key(_rule(direction="egress"), GROUP)
    assert rule_key(_rule(), GROUP) != rule_key(_rule(), str(uuid.uuid4()))
    assert rule_key(_rule(remote_ip_prefix="10.0.0.0/8"), GROUP) != rule_key(_rule(), GROUP)


# ---- the host agent's view, on a real (temporary) database --------------------------------------

def test_agent_view_lists_groups_rules_and_members(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import andromede.registry  # noqa: F401  (every service's tables, for create_all)
    from andromede.common.context import RequestContext
    from andromede.db.base import Base
    from andromede.db.engine import Database
    from andromede.identity.models import Domain, Project
    from andromede.network import service as network
    from andromede.network.schemas import NetworkCreate, PortCreate, SubnetCreate
    from andromede.network.security_groups import service
    from andromede.network.security_groups.schemas import SecurityGroupCreate

    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    Base.metadata.create_all(db.engine)
    ctx = RequestContext(request_id="r", user_id="u", project_id="p1", roles=frozenset({"member"}))
    with db.session() as session:  # a default group is only made for a project that exists
        session.add(Domain(id="default", name="Default"))
        session.flush()
        session.add(Project(id="p1", name="p1", domain_id="default"))
        net = network.create_network(session, ctx, NetworkCreate(name="n"))
        network.create_subnet(session, ctx, SubnetCreate(network_id=net.id, cidr="10.0.0.0/24"))
        network.create_subnet(session, ctx, SubnetCreate(network_id=net.id, cidr="fd00::/64", ip_version=6))
        web = service.create_group(session, ctx, SecurityGroupCreate(name="web"))
        db_group = service.create_group(session, ctx, SecurityGroupCreate(name="db"))
        service.create_rule(session, ctx, SecurityGroupRuleCreate(
            security_group_id=web.id, direction="ingress", protocol="TCP", port_range_min=80, port_range_max=80))
        service.create_rule(session, ctx, SecurityGroupRuleCreate(
            security_group_id=web.id, direction="ingress", protocol="tcp", port_range_min=22, port_range_max=22,
            remote_group_id=db_group.id))
        a = network.create_port(session, ctx, PortCreate(network_id=net.id, security_groups=[web.id],
                                                         allowed_address_pairs=[{"ip_address": "10.0.0.200"}]))
        b = network.create_port(session, ctx, PortCreate(network_id=net.id, security_groups=[db_group.id]))
        c = network.create_port(session, ctx, PortCreate(network_id=net.id))  # the default group
        ids = {"a": a.id, "b": b.id, "c": c.id}
        default_id = service.ensure_default(session, "p1")

    with db.session() as session:
        view = service.agent_view(session, [ids["a"], ids["c"]])
    assert view.port_groups == {ids["a"]: [web.id], ids["c"]: [default_id]}
    assert set(view.groups) == {web.id, default_id, db_group.id}  # db: named as remote group by web's rule
    rules = view.groups[web.id].rules
    assert SecurityGroupRule(direction="ingress", ethertype="IPv4", protocol="tcp", port_range_min=80,
                             port_range_max=80) in rules
    assert any(r.remote_group_id == db_group.id for r in rules)
    assert len([r for r in rules if r.direction == "egress"]) == 2
    web_members = view.groups[web.id].members
    # (10.0.0.2 is the network's DHCP port, made with the subnet)
    assert web_members.ipv4 == ("10.0.0.200", "10.0.0.3") and len(web_members.ipv6) == 1
    assert view.groups[db_group.id].members.ipv4 == ("10.0.0.4",)
    default_rules = view.groups[default_id].rules
    assert {(r.direction, r.ethertype, r.remote_group_id) for r in default_rules} == {
        ("ingress", "IPv4", default_id), ("ingress", "IPv6", default_id), ("egress", "IPv4", None),
        ("egress", "IPv6", None)}
