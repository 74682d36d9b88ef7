"""Which hosts a network write concerns, model by model: their agents' documents change, and only theirs wake.

A host's network document (host_view.py) holds its bound ports, their networks (with the VXLAN endpoints of the
other hosts carrying each), their security groups (rules, and the member addresses of every group those rules
name); the network host's also holds every DHCP server, router, floating IP and external network. So:

- a network, subnet, port or address concerns the hosts carrying that network (bound compute ports on it), the
  network host, the port's own host (before and after a rebind), and the hosts that see the port's groups;
- a security group, rule or membership concerns the hosts that see the group: ports in it, or in a group whose
  rules name it as remote;
- routers and floating IPs concern the network host;
- a host's new VXLAN endpoint concerns every host carrying a network it carries.

Each flush notes, from the written objects alone, which networks, ports, groups and hosts they touch (a port
deleted takes its group memberships with it: those are read before it goes); the hosts are worked out once, at
commit, from what the database holds then plus the objects' old and new values, so both the hosts that carried
something and the ones that now carry it are marked. A bulk statement on one of these models marks every host
(db/changes.py). A port's status is in no document: it marks nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import BindParameter, Executable, bindparam, inspect, or_, select, union
from sqlalchemy.orm import Session

from andromede.db import changes
from andromede.db.engine import Database
from andromede.network.l3.models import FloatingIp, Router, RouterPort
from andromede.network.models import FixedIp, Network, Port, Subnet
from andromede.network.security_groups.models import PortSecurityGroup, SecurityGroup, SecurityGroupRule

TOPIC = "network"
_COMPUTE_PORT = Port.device_owner.startswith("compute:")
_NOT_IN_ANY_DOCUMENT: dict[type, set[str]] = {Port: {"status"}}
# Built once: a commit that wrote the network runs some of these, and building a statement costs more than
# running it.
_IDS: BindParameter[list[str]] = bindparam("ids", expanding=True)
_CARRIERS = select(Port.binding_host_id).distinct().where(Port.network_id.in_(_IDS), Port.binding_host_id != "",
                                                          _COMPUTE_PORT)
_SEEING_GROUPS = (select(Port.binding_host_id).distinct()
                  .join(PortSecurityGroup, PortSecurityGroup.port_id == Port.id)
                  .where(or_(PortSecurityGroup.security_group_id.in_(_IDS),
                             PortSecurityGroup.security_group_id.in_(
                                 select(SecurityGroupRule.security_group_id)
                                 .where(SecurityGroupRule.remote_group_id.in_(_IDS)))),
                         Port.binding_host_id != ""))
_PORT_GROUPS = select(PortSecurityGroup.security_group_id).where(PortSecurityGroup.port_id.in_(_IDS))


def _hosts_statement() -> Executable:
    """One statement for what a transaction touched: the hosts of its ports, the carriers of its networks, and
    the hosts seeing its groups or its ports' groups."""
    ports: BindParameter[list[str]] = bindparam("ports", expanding=True)
    networks: BindParameter[list[str]] = bindparam("networks", expanding=True)
    groups: BindParameter[list[str]] = bindparam("groups", expanding=True)
    of_ports = select(PortSecurityGroup.security_group_id).where(PortSecurityGroup.port_id.in_(ports))
    named = or_(PortSecurityGroup.security_group_id.in_(groups), PortSecurityGroup.security_group_id.in_(of_ports))
    naming = select(SecurityGroupRule.security_group_id).where(or_(
        SecurityGroupRule.remote_group_id.in_(groups), SecurityGroupRule.remote_group_id.in_(of_ports)))
    return union(
        select(Port.binding_host_id).where(Port.id.in_(ports)),
        select(Port.binding_host_id).where(Port.network_id.in_(networks), _COMPUTE_PORT),
        select(Port.binding_host_id).join(PortSecurityGroup, PortSecurityGroup.port_id == Port.id)
        .where(or_(named, PortSecurityGroup.security_group_id.in_(naming))))


_TOUCHED_HOSTS = _hosts_statement()


def carriers(session: Session, network_ids: Iterable[str]) -> set[str]:
    """The hosts with a bound compute port on one of these networks."""
    ids = sorted(set(network_ids))
    return set(session.scalars(_CARRIERS, {"ids": ids})) if ids else set()


def seeing_groups(session: Session, group_ids: Iterable[str]) -> set[str]:
    """The hosts whose documents hold these groups: ports in them, or in groups whose rules name them as remote."""
    ids = sorted(set(group_ids))
    return set(session.scalars(_SEEING_GROUPS, {"ids": ids})) if ids else set()


def _values(obj: object, attribute: str) -> set[str]:
    """The attribute's value now and before this flush (a rebind concerns both hosts)."""
    history = inspect(obj).attrs[attribute].history
    return {v for v in (*history.added, *history.unchanged, *history.deleted) if isinstance(v, str) and v}


def _changed_nothing_shown(obj: object) -> bool:
    hidden = _NOT_IN_ANY_DOCUMENT.get(type(obj), set())
    state = inspect(obj)
    if not hidden or not state.persistent:
        return False
    changed = {a.key for a in state.attrs if a.history.has_changes()}
    return bool(changed) and changed <= hidden


@dataclass
class Touched:
    """What this transaction's network writes touched, noted at each flush."""

    networks: set[str] = field(default_factory=set)
    ports: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)
    hosts: set[str] = field(default_factory=set)
    network_host: bool = False


def _touched(session: Session) -> Touched:
    return changes.notes(session, TOPIC, Touched)


class NetworkScopes:
    """Which hosts the writes concern, for one network host: noted per object, resolved per transaction."""

    def __init__(self, network_host: str) -> None:
        self.network_host = network_host

    def resolve(self, session: Session) -> None:
        touched = changes.noted(session, TOPIC)
        if not isinstance(touched, Touched):
            return
        changes.mark(session, TOPIC, self.hosts(session, touched))

    def hosts(self, session: Session, touched: Touched) -> set[str]:
        found = set(touched.hosts) | ({self.network_host} if touched.network_host else set())
        if touched.ports or touched.networks or touched.groups:
            found.update(host for host in session.scalars(_TOUCHED_HOSTS, {
                "ports": sorted(touched.ports), "networks": sorted(touched.networks),
                "groups": sorted(touched.groups)}) if host)
        return found

    # ---- what each written object touches (no query, but a deleted port's memberships) ---------------

    def network(self, session: Session, obj: object) -> set[str]:
        assert isinstance(obj, Network)
        touched = _touched(session)
        touched.networks.add(obj.id)
        touched.network_host = True
        return set()

    def subnet(self, session: Session, obj: object) -> set[str]:
        touched = _touched(session)
        touched.networks |= _values(obj, "network_id")
        touched.network_host = True
        return set()

    def port(self, session: Session, obj: object) -> set[str]:
        assert isinstance(obj, Port)
        if _changed_nothing_shown(obj):
            return set()
        touched = _touched(session)
        touched.ports.add(obj.id)
        touched.networks |= _values(obj, "network_id")
        touched.hosts |= _values(obj, "binding_host_id")
        touched.network_host = True
        if obj in session.deleted:  # its memberships go with it: who saw its addresses in a group
            touched.groups.update(session.scalars(_PORT_GROUPS, {"ids": [obj.id]}))
        return set()

    def fixed_ip(self, session: Session, obj: object) -> set[str]:
        touched = _touched(session)
        touched.ports |= _values(obj, "port_id")
        touched.network_host = True  # the network's DHCP server
        return set()

    def membership(self, session: Session, obj: object) -> set[str]:
        touched = _touched(session)
        touched.ports |= _values(obj, "port_id")
        touched.groups |= _values(obj, "security_group_id")
        return set()

    def group(self, session: Session, obj: object) -> set[str]:
        assert isinstance(obj, SecurityGroup)
        _touched(session).groups.add(obj.id)
        return set()

    def rule(self, session: Session, obj: object) -> set[str]:
        _touched(session).groups |= _values(obj, "security_group_id")
        return set()

    def network_host_only(self, session: Session, _obj: object) -> set[str]:
        _touched(session).network_host = True
        return set()

    def vtep(self, session: Session, host: str) -> set[str] | None:
        """HOST's VXLAN endpoint moved: the hosts carrying a network it carries (the network host carries all)."""
        if host == self.network_host:
            return changes.EVERY_HOST
        networks = session.scalars(select(Port.network_id).distinct().where(Port.binding_host_id == host,
                                                                            _COMPUTE_PORT))
        return {self.network_host} | carriers(session, networks)


def watch(db: Database, network_host: str) -> NetworkScopes:
    """Declare, model by model, which hosts' network documents a write changes."""
    scopes = NetworkScopes(network_host)
    for model, scope_of in ((Network, scopes.network), (Subnet, scopes.subnet), (Port, scopes.port),
                            (FixedIp, scopes.fixed_ip), (PortSecurityGroup, scopes.membership),
                            (SecurityGroup, scopes.group), (SecurityGroupRule, scopes.rule),
                            (Router, scopes.network_host_only), (RouterPort, scopes.network_host_only),
                            (FloatingIp, scopes.network_host_only)):
        db.changes.watch(model, TOPIC, scope_of)
    db.changes.resolve(TOPIC, scopes.resolve)
    return scopes


def mark_vtep_moved(scopes: NetworkScopes) -> Callable[[Session, str], None]:
    """The hosts room's hook for a host whose VXLAN endpoint moved."""
    def marked(session: Session, host: str) -> None:
        changes.mark(session, TOPIC, scopes.vtep(session, host))
    return marked
