"""Neutron's rules for security groups: the lazy `default` group, rule validation, port membership, agent view.

Rule validation follows neutron/extensions/securitygroup.py and neutron/db/securitygroups_db.py: the same
conversions (protocol names are case-insensitive and stored lower-case, numbers as strings, "any" means none),
the same canonical forms (1-65535 is no range, legacy IPv6 ICMP names become ipv6-icmp) and the same error types.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from andromede.common.clock import utcnow
from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest, Conflict, NotFound
from andromede.contracts import network as contract
from andromede.identity import resource
from andromede.network import quotas
from andromede.network.models import FixedIp, Port
from andromede.network.ownership import owner_project
from andromede.network.security_groups.models import (
    DefaultSecurityGroup,
    PortSecurityGroup,
    SecurityGroup,
    SecurityGroupRule,
)
from andromede.network.security_groups.schemas import (
    SecurityGroupCreate,
    SecurityGroupRuleCreate,
    SecurityGroupRuleUpdate,
    SecurityGroupUpdate,
)

DEFAULT_NAME = "default"
DEFAULT_DESCRIPTION = "Default security group"
TRUSTED_OWNER_PREFIX = "network:"  # platform ports (DHCP, router interfaces) get no security groups

# neutron_lib.constants.IP_PROTOCOL_MAP
PROTOCOLS: dict[str, int] = {
    "ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1, "igmp": 2, "ip": 0, "ipip": 4,
    "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58, "icmpv6": 58, "ipv6-nonxt": 59, "ipv6-opts": 60,
    "ipv6-route": 43, "ospf": 89, "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136,
    "vrrp": 112}
ANY = "any"
PORT_PROTOCOLS = ("dccp", "sctp", "tcp", "udp", "udplite")
PORT_PROTOCOL_NUMBERS = (33, 132, 6, 17, 136)
ICMP_NUMBERS = (1, 58)
IPV6_ONLY = ("ipv6-encap", "ipv6-frag", "ipv6-icmp", "icmpv6", "ipv6-nonxt", "ipv6-opts", "ipv6-route",
             "41", "44", "58", "59", "60", "43")
ETHERTYPES = ("IPv4", "IPv6")
DIRECTIONS = ("ingress", "egress")
PORT_RANGE_MIN, PORT_RANGE_MAX = 1, 65535


def invalid(message: str, kind: str = "InvalidInput") -> BadRequest:
    return BadRequest(message, extra={"type": kind})


def group_not_found(group_id: str) -> NotFound:
    return NotFound(f"Security group {group_id} does not exist", extra={"type": "SecurityGroupNotFound"})


def rule_not_found(rule_id: str) -> NotFound:
    return NotFound(f"Security group rule {rule_id} does not exist", extra={"type": "SecurityGroupRuleNotFound"})


# ---- rule validation (pure) ---------------------------------------------------------------------

def _supported() -> str:
    return repr((None, ANY, *PROTOCOLS))


def convert_protocol(value: object) -> str | None:
    """Neutron's convert_protocol: None/"any" → None, 0-255 → "n", a known name in any case → lower-case."""
    if value is None or value == ANY:
        return None
    if isinstance(value, bool):
        raise invalid(f"Security group rule protocol {value} not supported. Only protocol values {_supported()} "
                      "and integer representations [0 to 255] are supported.", "SecurityGroupRuleInvalidProtocol")
    try:
        number = int(value)  # type: ignore[call-overload]  # any JSON value: TypeError refuses the others
    except (TypeError, ValueError):
        lowered = str(value).lower()
        if lowered == ANY:
            return None
        if lowered in PROTOCOLS:
            return lowered
    else:
        if 0 <= number <= 255:
            return str(number)
    raise invalid(f"Security group rule protocol {value} not supported. Only protocol values {_supported()} and "
                  "integer representations [0 to 255] are supported.", "SecurityGroupRuleInvalidProtocol")


def convert_port(value: object) -> int | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        try:
            number = int(value)  # type: ignore[call-overload]  # any JSON value: TypeError refuses the others
        except (TypeError, ValueError):
            number = -1
        if 0 <= number <= 65535 and str(value).strip().lstrip("+").isdigit():
            return number
    raise invalid(f"Invalid value for port {value}", "SecurityGroupInvalidPortValue")


def convert_ethertype(value: str) -> str:
    for ethertype in ETHERTYPES:
        if ethertype.lower() == value.lower():
            return ethertype
    raise invalid(f"Security group rule for ethertype '{value}' not supported. Allowed values are "
                  f"{list(ETHERTYPES)}.", "SecurityGroupRuleInvalidEtherType")


def convert_prefix(value: str | None) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface | None:
    if not value:
        return None
    try:
        return ipaddress.ip_interface(value.strip())
    except ValueError:
        raise invalid(f"Invalid CIDR {value} given as IP prefix.", "InvalidCIDR") from None


def protocol_number(protocol: str | None) -> int | None:
    if protocol is None:
        return None
    return PROTOCOLS[protocol] if protocol in PROTOCOLS else int(protocol)


def _name_and_number(protocol: str | None, ethertype: str) -> tuple[str, str] | None:
    """The duplicate-check key of a protocol: "tcp" and "6" are the same rule."""
    if protocol is None:
        return None
    if ethertype == "IPv6":
        if protocol in ("icmp", "icmpv6"):
            protocol = "ipv6-icmp"
        elif protocol == "1":
            protocol = "58"
    if protocol in PROTOCOLS:
        return (protocol, str(PROTOCOLS[protocol]))
    names = {str(num): name for name, num in PROTOCOLS.items() if name not in ("icmpv6", "ip")}
    return (names.get(protocol, protocol), protocol)


def normalize_rule(body: SecurityGroupRuleCreate) -> dict:
    """The rule as stored, or the first Neutron error its fields deserve (400)."""
    if body.direction not in DIRECTIONS:
        raise invalid(f"Invalid input for direction. Reason: '{body.direction}' is not in {list(DIRECTIONS)}.")
    rule = {"direction": body.direction, "protocol": convert_protocol(body.protocol),
            "port_range_min": convert_port(body.port_range_min), "port_range_max": convert_port(body.port_range_max),
            "ethertype": convert_ethertype(body.ethertype), "remote_group_id": body.remote_group_id,
            "remote_address_group_id": body.remote_address_group_id, "description": body.description}
    prefix = convert_prefix(body.remote_ip_prefix)
    # Canonical forms first (Neutron's _make_canonical_ipv6_icmp_protocol and _make_canonical_port_range).
    if rule["ethertype"] == "IPv6":
        if rule["protocol"] in ("icmp", "icmpv6"):
            rule["protocol"] = "ipv6-icmp"
        elif rule["protocol"] == "1":
            rule["protocol"] = "58"
    if rule["port_range_min"] == PORT_RANGE_MIN and rule["port_range_max"] == PORT_RANGE_MAX:
        rule["port_range_min"] = rule["port_range_max"] = None
    _check_port_range(rule)
    rule["remote_ip_prefix"] = str(prefix) if prefix is not None else None
    if prefix is not None and rule["ethertype"] != f"IPv{prefix.version}":
        raise invalid(f"Conflicting value ethertype {rule['ethertype']} for CIDR {body.remote_ip_prefix}",
                      "SecurityGroupRuleParameterConflict")
    if rule["protocol"] in IPV6_ONLY and rule["ethertype"] == "IPv4":
        raise invalid(f"Invalid ethertype {rule['ethertype']} for protocol {rule['protocol']}.",
                      "SecurityGroupEthertypeConflictWithProtocol")
    remotes = [rule["remote_ip_prefix"], rule["remote_group_id"], rule["remote_address_group_id"]]
    if sum(1 for remote in remotes if remote) > 1:
        raise invalid("Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be "
                      "provided.", "SecurityGroupMultipleRemoteEntites")
    return rule


def _check_port_range(rule: dict) -> None:
    low, high = rule["port_range_min"], rule["port_range_max"]
    if low is None and high is None:
        return
    if rule["protocol"] is None:
        raise invalid("Must also specify protocol if port range is given.", "SecurityGroupProtocolRequiredWithPorts")
    number = protocol_number(rule["protocol"])
    if number in PORT_PROTOCOL_NUMBERS:
        if low == 0 or high == 0:
            raise invalid("Invalid value for port 0", "SecurityGroupInvalidPortValue")
        if low is None or high is None or low > high:
            raise invalid("For TCP/UDP protocols, port_range_min must be <= port_range_max",
                          "SecurityGroupInvalidPortRange")
    elif number in ICMP_NUMBERS:
        for attr, field, value in (("port_range_min", "type", low), ("port_range_max", "code", high)):
            if value is not None and not 0 <= value <= 255:
                raise invalid(f"Invalid value for ICMP {field} ({attr}) {value}. It must be 0 to 255.",
                              "SecurityGroupInvalidIcmpValue")
        if low is None and high is not None:
            raise invalid(f"ICMP code (port-range-max) {high} is provided but ICMP type (port-range-min) is "
                          "missing.", "SecurityGroupMissingIcmpType")
    else:
        raise invalid(f"Ports cannot be specified for protocol {number}. Ports are only supported for "
                      f"{', '.join(p.upper() for p in PORT_PROTOCOLS)}.", "SecurityGroupInvalidProtocolForPort")


def rule_key(rule: dict | SecurityGroupRule, security_group_id: str) -> tuple:
    """Neutron's _rule_to_key: two rules with the same key are duplicates (409 SecurityGroupRuleExists)."""
    get: Callable[[str], Any] = rule.get if isinstance(rule, dict) else (lambda name: getattr(rule, name, None))
    prefix = get("remote_ip_prefix")
    return (get("direction"), get("ethertype"), get("port_range_max"), get("port_range_min"),
            _name_and_number(get("protocol"), get("ethertype")), get("remote_group_id"),
            get("remote_address_group_id"), None if prefix in ("0.0.0.0/0", "::/0") else prefix,
            security_group_id)


# ---- groups -------------------------------------------------------------------------------------

def _visible(ctx: RequestContext, group: SecurityGroup) -> bool:
    return ctx.is_admin or group.project_id == ctx.project_id


def get_group(session: Session, ctx: RequestContext, group_id: str) -> SecurityGroup:
    group = session.get(SecurityGroup, group_id)
    if group is None or not _visible(ctx, group):
        raise group_not_found(group_id)
    return group


def default_group_ids(session: Session, group_ids: list[str]) -> set[str]:
    if not group_ids:
        return set()
    return set(session.scalars(select(DefaultSecurityGroup.security_group_id)
                               .where(DefaultSecurityGroup.security_group_id.in_(group_ids))))


def _default_rules(group_id: str, project_id: str) -> list[SecurityGroupRule]:
    now = utcnow()
    rules = []
    for direction, ethertype in (("ingress", "IPv4"), ("ingress", "IPv6"), ("egress", "IPv4"), ("egress", "IPv6")):
        rules.append(SecurityGroupRule(
            id=str(uuid.uuid4()), security_group_id=group_id, project_id=project_id, direction=direction,
            ethertype=ethertype, protocol=None, port_range_min=None, port_range_max=None, remote_ip_prefix=None,
            remote_group_id=group_id if direction == "ingress" else None, description="", revision_number=0,
            created_at=now, updated_at=now))
    return rules


def _claim_default(session: Session, project_id: str, group_id: str) -> None:
    """INSERT the claim unless the project already has one (a concurrent request may have won)."""
    dialect = session.get_bind().dialect.name
    values = {"project_id": project_id, "security_group_id": group_id}
    if dialect == "postgresql":
        session.execute(postgresql.insert(DefaultSecurityGroup).values(**values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite.insert(DefaultSecurityGroup).values(**values).on_conflict_do_nothing())
    else:  # pragma: no cover - the two supported databases are handled above
        session.add(DefaultSecurityGroup(**values))
        session.flush()


def ensure_default(session: Session, project_id: str | None) -> str | None:
    """The id of the project's `default` group, made on first use with Neutron's four rules.

    Only for a project that exists: an admin's `?project_id=` filter names any text, and a read must not leave
    a group behind for it (Neutron, which does not ask Keystone, would)."""
    if not project_id:
        return None
    found = session.scalar(select(DefaultSecurityGroup.security_group_id)
                           .where(DefaultSecurityGroup.project_id == project_id))
    if found:
        return found
    if resource.find_project(session, project_id=project_id, name=None, domain_id=None) is None:
        return None
    now = utcnow()
    group = SecurityGroup(id=str(uuid.uuid4()), project_id=project_id, name=DEFAULT_NAME,
                          description=DEFAULT_DESCRIPTION, stateful=True, tags=[], revision_number=0,
                          created_at=now, updated_at=now)
    session.add(group)
    session.flush()
    _claim_default(session, project_id, group.id)
    winner = session.scalar(select(DefaultSecurityGroup.security_group_id)
                            .where(DefaultSecurityGroup.project_id == project_id))
    if winner != group.id:
        session.delete(group)
        session.flush()
        return winner
    session.add_all(_default_rules(group.id, project_id))
    session.flush()
    return group.id


def list_groups(session: Session, ctx: RequestContext, project_filter: list[str]) -> list[SecurityGroup]:
    target = project_filter[0] if project_filter and ctx.is_admin else ctx.project_id
    ensure_default(session, target)
    query = select(SecurityGroup).order_by(SecurityGroup.created_at, SecurityGroup.id)
    if not ctx.is_admin:
        query = query.where(SecurityGroup.project_id == ctx.project_id)
    return list(session.scalars(query))


def create_group(session: Session, ctx: RequestContext, body: SecurityGroupCreate) -> SecurityGroup:
    if body.name.lower() == DEFAULT_NAME:
        raise Conflict("Default security group already exists.", extra={"type": "SecurityGroupDefaultAlreadyExists"})
    project_id = owner_project(ctx, body)
    ensure_default(session, project_id)
    quotas.check(session, project_id, "security_group")
    now = utcnow()
    group = SecurityGroup(id=str(uuid.uuid4()), project_id=project_id, name=body.name, description=body.description,
                          stateful=body.stateful, tags=sorted(set(body.tags)), revision_number=0, created_at=now,
                          updated_at=now)
    session.add(group)
    session.flush()
    # Neutron gives every new group the two egress rules of its template.
    quotas.check(session, project_id, "security_group_rule", adding=2)
    session.add_all([r for r in _default_rules(group.id, project_id) if r.direction == "egress"])
    session.flush()
    return group


def _in_use(session: Session, group_id: str) -> bool:
    return session.scalars(select(PortSecurityGroup.port_id)
                           .where(PortSecurityGroup.security_group_id == group_id)).first() is not None


def update_group(session: Session, ctx: RequestContext, group_id: str, body: SecurityGroupUpdate) -> SecurityGroup:
    group = get_group(session, ctx, group_id)
    fields = body.model_fields_set
    if "stateful" in fields and body.stateful is not None and body.stateful != group.stateful \
            and _in_use(session, group.id):
        raise Conflict(f"Security Group {group.id} in use.", extra={"type": "SecurityGroupInUse"})
    if "name" in fields and group.id in default_group_ids(session, [group.id]):
        raise Conflict("Updating default security group not allowed.",
                       extra={"type": "SecurityGroupCannotUpdateDefault"})
    if "name" in fields and (body.name or "").lower() == DEFAULT_NAME:
        raise Conflict("Default security group already exists.", extra={"type": "SecurityGroupDefaultAlreadyExists"})
    for name in fields:
        value = getattr(body, name)
        if value is not None:
            setattr(group, name, value)
    _touch(group)
    return group


def _touch(group: SecurityGroup) -> None:
    group.revision_number += 1
    group.updated_at = utcnow()


def delete_group(session: Session, ctx: RequestContext, group_id: str) -> None:
    group = get_group(session, ctx, group_id)
    if _in_use(session, group.id):
        raise Conflict(f"Security Group {group.id} in use.", extra={"type": "SecurityGroupInUse"})
    if group.id in default_group_ids(session, [group.id]) and not ctx.is_admin:
        raise Conflict("Insufficient rights for removing default security group.",
                       extra={"type": "SecurityGroupCannotRemoveDefault"})
    referencing = list(session.scalars(select(SecurityGroupRule.security_group_id)
                                       .where(SecurityGroupRule.remote_group_id == group.id)))
    session.execute(delete(SecurityGroupRule).where(SecurityGroupRule.remote_group_id == group.id))
    session.execute(delete(SecurityGroupRule).where(SecurityGroupRule.security_group_id == group.id))
    session.execute(delete(DefaultSecurityGroup).where(DefaultSecurityGroup.security_group_id == group.id))
    for other_id in set(referencing) - {group.id}:
        other = session.get(SecurityGroup, other_id)
        if other is not None:
            _touch(other)
    session.delete(group)
    session.flush()


def rules_of(session: Session, group_ids: list[str]) -> dict[str, list[SecurityGroupRule]]:
    found: dict[str, list[SecurityGroupRule]] = {gid: [] for gid in group_ids}
    if group_ids:
        for rule in session.scalars(select(SecurityGroupRule).where(SecurityGroupRule.security_group_id.in_(group_ids))
                                    .order_by(SecurityGroupRule.created_at, SecurityGroupRule.id)):
            found[rule.security_group_id].append(rule)
    return found


# ---- rules --------------------------------------------------------------------------------------

def get_rule(session: Session, ctx: RequestContext, rule_id: str) -> SecurityGroupRule:
    rule = session.get(SecurityGroupRule, rule_id)
    group = session.get(SecurityGroup, rule.security_group_id) if rule else None
    if rule is None or group is None or not _visible(ctx, group):
        raise rule_not_found(rule_id)
    return rule


def list_rules(session: Session, ctx: RequestContext, project_filter: list[str]) -> list[SecurityGroupRule]:
    target = project_filter[0] if project_filter and ctx.is_admin else ctx.project_id
    ensure_default(session, target)
    query = select(SecurityGroupRule).order_by(SecurityGroupRule.created_at, SecurityGroupRule.id)
    if not ctx.is_admin:
        query = query.join(SecurityGroup, SecurityGroup.id == SecurityGroupRule.security_group_id).where(
            SecurityGroup.project_id == ctx.project_id)
    return list(session.scalars(query))


def create_rule(session: Session, ctx: RequestContext, body: SecurityGroupRuleCreate) -> SecurityGroupRule:
    owner_project(ctx, body)  # a member may not create rules on behalf of another project
    fields = normalize_rule(body)
    if fields["remote_group_id"]:
        get_group(session, ctx, fields["remote_group_id"])
    if fields["remote_address_group_id"]:
        raise NotFound(f"Address group {fields['remote_address_group_id']} could not be found.",
                       extra={"type": "AddressGroupNotFound"})
    group = get_group(session, ctx, body.security_group_id)
    key = rule_key(fields, group.id)
    for existing in rules_of(session, [group.id])[group.id]:
        if rule_key(existing, group.id) == key:
            raise Conflict(f"Security group rule already exists. Rule id is {existing.id}.",
                           extra={"type": "SecurityGroupRuleExists"})
    quotas.check(session, group.project_id, "security_group_rule")
    now = utcnow()
    rule = SecurityGroupRule(id=str(uuid.uuid4()), security_group_id=group.id, project_id=group.project_id,
                             direction=fields["direction"], ethertype=fields["ethertype"],
                             protocol=fields["protocol"], port_range_min=fields["port_range_min"],
                             port_range_max=fields["port_range_max"], remote_ip_prefix=fields["remote_ip_prefix"],
                             remote_group_id=fields["remote_group_id"], description=fields["description"],
                             revision_number=0, created_at=now, updated_at=now)
    session.add(rule)
    _touch(group)
    session.flush()
    return rule


def update_rule(session: Session, ctx: RequestContext, rule_id: str,
                body: SecurityGroupRuleUpdate) -> SecurityGroupRule:
    rule = get_rule(session, ctx, rule_id)
    if body.description is not None:
        rule.description = body.description
    rule.revision_number += 1
    rule.updated_at = utcnow()
    return rule


def delete_rule(session: Session, ctx: RequestContext, rule_id: str) -> None:
    rule = get_rule(session, ctx, rule_id)
    group = session.get(SecurityGroup, rule.security_group_id)
    session.delete(rule)
    if group is not None:
        _touch(group)
    session.flush()


# ---- ports --------------------------------------------------------------------------------------

def port_security_required() -> BadRequest:
    return invalid("Port security must be enabled and port must have an IP address in order to use security "
                   "groups.", "PortSecurityAndIPRequiredForSecurityGroups")


def _check_groups(session: Session, ctx: RequestContext, project_id: str, group_ids: list[str]) -> list[str]:
    wanted = list(dict.fromkeys(group_ids))
    rows = {g.id: g for g in session.scalars(select(SecurityGroup).where(SecurityGroup.id.in_(wanted)))} \
        if wanted else {}
    missing = [gid for gid in wanted if gid not in rows or not (ctx.is_admin or rows[gid].project_id == project_id)]
    if missing:
        raise group_not_found(", ".join(missing))
    stateful = {rows[gid].stateful for gid in wanted}
    if len(stateful) > 1:
        raise Conflict("Error Cannot apply both stateful and stateless security groups on the same port at the "
                       "same time while attempting the operation.", extra={"type": "SecurityGroupConflict"})
    return wanted


def groups_for_new_port(session: Session, ctx: RequestContext, project_id: str, *, requested: list[str] | None,
                        specified: bool, port_security: bool, device_owner: str) -> list[str]:
    """The groups a port being created gets (validated), following Neutron's port-security rules."""
    if device_owner.startswith(TRUSTED_OWNER_PREFIX):
        return []
    if not port_security:
        if specified and requested:
            raise port_security_required()
        return []
    if not specified:
        default = ensure_default(session, project_id)
        return [default] if default else []
    return _check_groups(session, ctx, project_id, requested or [])


def resolve(session: Session, ctx: RequestContext, project_id: str, names_or_ids: list[str]) -> list[str]:
    """Group ids for names or ids of the project's groups (Nova's `--security-group NAME`); 404 if one is unknown."""
    ensure_default(session, project_id)
    groups = list(session.scalars(select(SecurityGroup).where(SecurityGroup.project_id == project_id)))
    found = []
    for wanted in names_or_ids:
        matches = [g.id for g in groups if g.id == wanted] or [g.id for g in groups if g.name == wanted]
        if len(matches) != 1:
            raise group_not_found(wanted)
        found.append(matches[0])
    return list(dict.fromkeys(found))


def port_group_ids(session: Session, port_id: str) -> list[str]:
    return list(session.scalars(select(PortSecurityGroup.security_group_id)
                                .where(PortSecurityGroup.port_id == port_id)
                                .order_by(PortSecurityGroup.security_group_id)))


def ports_group_ids(session: Session, port_ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {pid: [] for pid in port_ids}
    if port_ids:
        for row in session.scalars(select(PortSecurityGroup).where(PortSecurityGroup.port_id.in_(port_ids))
                                   .order_by(PortSecurityGroup.security_group_id)):
            found[row.port_id].append(row.security_group_id)
    return found


def bind(session: Session, port_id: str, group_ids: list[str]) -> None:
    """Make the port's groups exactly these. Row by row, not one bulk DELETE: each membership written tells which
    hosts' documents change (network/changes.py); a bulk statement would wake every host."""
    current = {row.security_group_id: row for row in session.scalars(
        select(PortSecurityGroup).where(PortSecurityGroup.port_id == port_id))}
    for group_id, row in current.items():
        if group_id not in group_ids:
            session.delete(row)
    session.add_all([PortSecurityGroup(port_id=port_id, security_group_id=gid) for gid in group_ids
                     if gid not in current])
    session.flush()


def update_port_groups(session: Session, ctx: RequestContext, port: Port, *, requested: list[str] | None,
                       specified: bool, port_security: bool | None) -> None:
    """Apply a port update's security_groups / port_security_enabled, with Neutron's checks (before any write)."""
    enabled = port.port_security_enabled if port_security is None else port_security
    current = port_group_ids(session, port.id)
    if specified and requested:
        if not enabled:
            raise port_security_required()
        if port.device_owner.startswith(TRUSTED_OWNER_PREFIX):
            return
        bind(session, port.id, _check_groups(session, ctx, port.project_id, requested))
    elif specified:
        bind(session, port.id, [])
    elif not enabled and current:
        raise Conflict("Port has security group associated. Cannot disable port security or IP address until "
                       "security group is removed", extra={"type": "PortSecurityPortHasSecurityGroup"})


# ---- the host agent's view ----------------------------------------------------------------------

_DATA_PLANE_PROTOCOLS = ("tcp", "udp", "icmp", "icmpv6")


def data_plane_protocol(protocol: str | None, ethertype: str) -> str | None:
    """A stored protocol (any known name, a number, icmp on IPv6) as the agents' filters take it: None (any), tcp,
    udp, icmp, icmpv6 or the protocol's number."""
    if protocol is None:
        return None
    if protocol in ("icmp", "ipv6-icmp", "icmpv6", "1", "58"):
        return "icmpv6" if ethertype == "IPv6" else "icmp"
    if protocol in _DATA_PLANE_PROTOCOLS or protocol.isdigit():
        return {"6": "tcp", "17": "udp"}.get(protocol, protocol)
    return str(PROTOCOLS[protocol])


def _rule_doc(rule: SecurityGroupRule) -> contract.SecurityGroupRule:
    prefix = rule.remote_ip_prefix
    return contract.SecurityGroupRule.model_validate({  # direction and ethertype checked against the contract
        "direction": rule.direction, "ethertype": rule.ethertype,
        "protocol": data_plane_protocol(rule.protocol, rule.ethertype), "port_range_min": rule.port_range_min,
        "port_range_max": rule.port_range_max,
        "remote_ip_prefix": None if prefix is None else str(ipaddress.ip_network(prefix, strict=False)),
        "remote_group_id": rule.remote_group_id})


def _members(session: Session, group_ids: list[str]) -> dict[str, dict[str, list[str]]]:
    members: dict[str, dict[str, set[str]]] = {gid: {"IPv4": set(), "IPv6": set()} for gid in group_ids}
    if not group_ids:
        return {}
    bindings = list(session.scalars(select(PortSecurityGroup)
                                    .where(PortSecurityGroup.security_group_id.in_(group_ids))))
    port_ids = sorted({b.port_id for b in bindings})
    addresses: dict[str, set[str]] = defaultdict(set)
    if port_ids:
        for fixed in session.scalars(select(FixedIp).where(FixedIp.port_id.in_(port_ids))):
            addresses[fixed.port_id].add(fixed.ip_address)
        for port in session.scalars(select(Port).where(Port.id.in_(port_ids))):
            for pair in port.allowed_address_pairs or []:
                if pair.get("ip_address"):
                    addresses[port.id].add(pair["ip_address"])
    for binding in bindings:
        for address in addresses[binding.port_id]:
            try:
                version = ipaddress.ip_network(address, strict=False).version
            except ValueError:
                continue
            members[binding.security_group_id][f"IPv{version}"].add(address)
    return {gid: {k: sorted(v) for k, v in by_version.items()} for gid, by_version in members.items()}


@dataclass(frozen=True)
class AgentView:
    port_groups: dict[str, list[str]]  # port id -> its group ids
    groups: dict[str, contract.SecurityGroup]  # every group the ports are in or whose rules name as remote


def agent_view(session: Session, port_ids: list[str]) -> AgentView:
    """For the host agent: the groups of these ports, every group their rules name as remote, rules and members.

    Member addresses are fixed IPs and allowed-address-pair addresses of every port (on any host) in the group;
    rules are in the data plane's terms (data_plane_protocol, prefixes without host bits).
    """
    port_groups = ports_group_ids(session, list(port_ids))
    wanted = sorted({gid for gids in port_groups.values() for gid in gids})
    rules = rules_of(session, wanted)
    remote = sorted({r.remote_group_id for rs in rules.values() for r in rs if r.remote_group_id} - set(wanted))
    rules.update(rules_of(session, remote))
    all_ids = wanted + remote
    members = _members(session, all_ids)
    return AgentView(port_groups, {
        gid: contract.SecurityGroup(rules=tuple(_rule_doc(r) for r in rules[gid]),
                                    members=contract.Members(ipv4=tuple(members[gid]["IPv4"]),
                                                             ipv6=tuple(members[gid]["IPv6"])))
        for gid in all_ids})
