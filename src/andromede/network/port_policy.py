"""Neutron's attribute rules for ports: which ones a request triggers, checked against the port's network.

On a network the caller's project does not own (a shared one), a tenant gets a port and an address from a subnet;
choosing the address, the MAC, address pairs, port security or a platform device owner stays with the network's
owner and admins (the rules are in andromede.policy.network). A refusal is a 403 in Neutron's own words.
"""

from __future__ import annotations

from typing import Any

from andromede.common.context import RequestContext
from andromede.common.errors import Forbidden
from andromede.network.models import Network
from andromede.network.schemas import PortCreate, PortUpdate
from andromede.policy import enforce
from andromede.policy.network import PORT_ATTRIBUTE_RULES

_SUB_ATTRIBUTES = {"fixed_ips": ("ip_address", "subnet_id"), "allowed_address_pairs": ("mac_address", "ip_address")}


def _sent(body: PortCreate | PortUpdate, *, with_nulls: bool) -> dict[str, Any]:
    """Wire name -> value of each attribute the request sets. A create's nulls mean "not given" (Nova's
    PortCreate(fixed_ips=None)); an update's are a change, checked like any other."""
    fields = type(body).model_fields
    return {fields[name].alias or name: getattr(body, name) for name in body.model_fields_set
            if with_nulls or getattr(body, name) is not None}


def triggered(body: PortCreate | PortUpdate) -> list[str]:
    """The attribute rules (without their action) the request triggers, as Neutron orders them: each
    attribute, then the keys its entries set."""
    sent = _sent(body, with_nulls=isinstance(body, PortUpdate))
    names = []
    for attribute, value in sent.items():
        names.append(attribute)
        for key in _SUB_ATTRIBUTES.get(attribute, ()):
            if any(getattr(entry, key) is not None for entry in value or []):
                names.append(f"{attribute}:{key}")
    return names


def _refused(action: str, rules: list[str]) -> Forbidden:
    shown = f"rule:{action}"
    for rule in rules:  # Neutron's wording: every rule the request was held to, and-ed in order
        shown = f"({shown} and rule:{action}:{rule})"
    return Forbidden(f"{shown} is disallowed by policy", extra={"type": "PolicyNotAuthorized"})


def check(ctx: RequestContext, action: str, network: Network, body: PortCreate | PortUpdate,
          device_owner: str) -> None:
    """action: create_port or update_port; device_owner: the one the port would have."""
    target = {"network:project_id": network.project_id, "network:shared": network.shared,
              "device_owner": device_owner}
    rules = [rule for rule in triggered(body) if rule in PORT_ATTRIBUTE_RULES[action]]
    for rule in rules:
        try:
            enforce(ctx, f"network:{action}:{rule}", target)
        except Forbidden:
            raise _refused(action, rules) from None


def check_network(ctx: RequestContext, network: Network) -> None:
    """create_port itself: the network's owner, an admin, or anyone on a shared network. Others see the network
    (an external one) but may not plug into it."""
    if not (ctx.is_admin or network.shared or network.project_id == ctx.project_id):
        raise _refused("create_port", [])
