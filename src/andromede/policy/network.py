"""Neutron's default RBAC: readers read, members manage their project's networks, subnets and ports.

Visibility (own, shared, external) is decided by the network service, so another project's resource is a 404
and never a 403. A port's sensitive attributes are checked by the service against a target that carries the
network's owner: on a shared network a tenant gets an address, not its owner's powers.
"""

from __future__ import annotations

from andromede.common.context import RequestContext
from andromede.policy.checks import (
    ADMIN,
    MEMBER,
    PROJECT_READER,
    READER,
    Target,
    all_of,
    any_of,
    authenticated,
    project_scoped_to,
    role,
)
from andromede.policy.enforcer import register, rule_maker

_rule = rule_maker("network", "/network/v2.0")

register(
    _rule("get_extensions", authenticated, "List API extensions.", ("GET", "/extensions")),
    _rule("get_tags", READER, "Read the tags of a network, subnet or port.", ("GET", "/{collection}/{id}/tags")),
    _rule("update_tags", MEMBER, "Change the tags of a network, subnet or port.", ("PUT", "/{collection}/{id}/tags")),
    _rule("get_agent", ADMIN, "List the network agents and their health.", ("GET", "/agents")),
    _rule("get_network_ip_availability", ADMIN, "Count the free and used addresses of every network.",
          ("GET", "/network-ip-availabilities")),
    *[_rule(f"{verb}_{noun}", READER if verb == "get" else MEMBER, f"{verb.capitalize()} a {noun}.",
            ("GET" if verb == "get" else {"create": "POST", "update": "PUT", "delete": "DELETE"}[verb],
             f"/{noun}s" if verb in ("get", "create") else f"/{noun}s/{{id}}"))
      for noun in ("network", "subnet", "port") for verb in ("get", "create", "update", "delete")],
)

# ---- port attributes on a network (Neutron's neutron/conf/policies/port.py defaults) -------------
# The service builds the target: `network:project_id` and `network:shared` of the port's network, and the
# `device_owner` the port would have. A rule is checked only for an attribute the request sets.


def _network_device(_ctx: RequestContext, target: Target) -> bool:
    return str(target.get("device_owner") or "").startswith("network:")


def _shared(_ctx: RequestContext, target: Target) -> bool:
    return bool(target.get("network:shared"))


NET_OWNER_MEMBER = all_of(role("member"), project_scoped_to("network:project_id"))
ADMIN_OR_NET_OWNER_MEMBER = any_of(ADMIN, NET_OWNER_MEMBER)
ADMIN_OR_NET_OWNER_MEMBER_OR_SHARED = any_of(ADMIN, NET_OWNER_MEMBER, _shared)
# Neutron also lets the network's owner make network:* ports. Here they are the platform's: never refused by the
# port quota, deleted with their network, trusted without security groups; so they stay the admin's.
NOT_NETWORK_DEVICE_OR_ADMIN = any_of(lambda ctx, target: not _network_device(ctx, target), ADMIN)
_PORT_ATTRIBUTES = {
    "create": (
        ("device_owner", NOT_NETWORK_DEVICE_OR_ADMIN, "a network:* device owner"),
        ("mac_address", ADMIN_OR_NET_OWNER_MEMBER, "a chosen MAC address"),
        ("fixed_ips", ADMIN_OR_NET_OWNER_MEMBER_OR_SHARED, "fixed IPs"),
        ("fixed_ips:ip_address", ADMIN_OR_NET_OWNER_MEMBER, "a chosen IP address in fixed_ips"),
        ("fixed_ips:subnet_id", ADMIN_OR_NET_OWNER_MEMBER_OR_SHARED, "a subnet in fixed_ips"),
        ("port_security_enabled", ADMIN_OR_NET_OWNER_MEMBER, "port_security_enabled"),
        ("binding:host_id", ADMIN, "binding:host_id"),
        ("binding:profile", ADMIN, "binding:profile"),
        # Neutron lets members pick a vnic_type; only `normal` exists here, so it stays the admin's.
        ("binding:vnic_type", ADMIN, "binding:vnic_type"),
        ("allowed_address_pairs", ADMIN_OR_NET_OWNER_MEMBER, "allowed address pairs"),
        ("allowed_address_pairs:mac_address", ADMIN_OR_NET_OWNER_MEMBER, "a MAC address in allowed address pairs"),
        ("allowed_address_pairs:ip_address", ADMIN_OR_NET_OWNER_MEMBER, "an IP address in allowed address pairs"),
    ),
    "update": (
        ("device_owner", NOT_NETWORK_DEVICE_OR_ADMIN, "a network:* device owner"),
        # As Neutron: changing a port's addresses is the network owner's, even by subnet alone.
        ("fixed_ips", ADMIN_OR_NET_OWNER_MEMBER, "fixed IPs"),
        ("fixed_ips:ip_address", ADMIN_OR_NET_OWNER_MEMBER, "a chosen IP address in fixed_ips"),
        ("fixed_ips:subnet_id", ADMIN_OR_NET_OWNER_MEMBER_OR_SHARED, "a subnet in fixed_ips"),
        ("port_security_enabled", ADMIN_OR_NET_OWNER_MEMBER, "port_security_enabled"),
        ("binding:host_id", ADMIN, "binding:host_id"),
        ("allowed_address_pairs", ADMIN_OR_NET_OWNER_MEMBER, "allowed address pairs"),
        ("allowed_address_pairs:mac_address", ADMIN_OR_NET_OWNER_MEMBER, "a MAC address in allowed address pairs"),
        ("allowed_address_pairs:ip_address", ADMIN_OR_NET_OWNER_MEMBER, "an IP address in allowed address pairs"),
    ),
}
# action (create_port, update_port) -> the attributes that have a rule
PORT_ATTRIBUTE_RULES = {f"{action}_port": frozenset(attribute for attribute, _, _ in attributes)
                        for action, attributes in _PORT_ATTRIBUTES.items()}
register(*[_rule(f"{action}_port:{attribute}", check, f"{action.capitalize()} a port with {what}.",
                 ("POST", "/ports") if action == "create" else ("PUT", "/ports/{id}"))
           for action, attributes in _PORT_ATTRIBUTES.items() for attribute, check, what in attributes])

# ---- L3: routers, their interfaces and gateway, floating IPs (Neutron's defaults) ----------------
ADMIN_ONLY = ADMIN
register(
    *[_rule(f"{verb}_{noun}", READER if verb == "get" else MEMBER, f"{verb.capitalize()} a {noun}.",
            ("GET" if verb == "get" else {"create": "POST", "update": "PUT", "delete": "DELETE"}[verb],
             f"/{noun}s" if verb in ("get", "create") else f"/{noun}s/{{id}}"))
      for noun in ("router", "floatingip") for verb in ("get", "create", "update", "delete")],
    _rule("add_router_interface", MEMBER, "Add an interface (subnet or port) to a router.",
          ("PUT", "/routers/{id}/add_router_interface")),
    _rule("remove_router_interface", MEMBER, "Remove an interface from a router.",
          ("PUT", "/routers/{id}/remove_router_interface")),
    _rule("add_extraroutes", MEMBER, "Add extra routes to a router.", ("PUT", "/routers/{id}/add_extraroutes")),
    _rule("remove_extraroutes", MEMBER, "Remove extra routes from a router.",
          ("PUT", "/routers/{id}/remove_extraroutes")),
    # Attributes only admins may set (Neutron checks them whenever they are present, whatever the value).
    *[_rule(f"{action}_router:{attribute}", ADMIN_ONLY, f"Set {attribute} on a router.",
            ("POST", "/routers") if action == "create" else ("PUT", "/routers/{id}"))
      for action in ("create", "update")
      for attribute in ("external_gateway_info:enable_snat", "external_gateway_info:external_fixed_ips",
                        "distributed", "ha")],
    _rule("create_floatingip:floating_ip_address", ADMIN_ONLY, "Choose the address of a new floating IP.",
          ("POST", "/floatingips")),
)

# Security groups and their rules: visibility (own project, or any for admins) is decided by the service.
register(
    *[_rule(f"{verb}_{noun}", READER if verb == "get" else MEMBER, f"{verb.capitalize()} a {noun.replace('_', ' ')}.",
            ("GET" if verb == "get" else {"create": "POST", "update": "PUT", "delete": "DELETE"}[verb],
             f"/{path}" if verb in ("get", "create") else f"/{path}/{{id}}"))
      for noun, path in (("security_group", "security-groups"), ("security_group_rule", "security-group-rules"))
      for verb in ("get", "create", "update", "delete")],
)

# Quotas: members read their own project's, admins read, set and reset any.
register(
    _rule("get_quota", any_of(ADMIN, all_of(PROJECT_READER, project_scoped_to("project_id"))),
          "Show a project's network quotas, their defaults or their usage.",
          ("GET", "/quotas/{project_id}"), ("GET", "/quotas/{project_id}/default"),
          ("GET", "/quotas/{project_id}/details"), ("GET", "/quotas/project")),
    _rule("get_quotas", ADMIN, "List the projects with non-default network quotas.", ("GET", "/quotas")),
    _rule("update_quota", ADMIN, "Set a project's network quotas.", ("PUT", "/quotas/{project_id}")),
    _rule("delete_quota", ADMIN, "Reset a project's network quotas to the defaults.",
          ("DELETE", "/quotas/{project_id}")),
)
