"""Neutron's default RBAC: readers read, members manage their project's networks, subnets and ports.

Visibility (own, shared, external) and the admin-only attributes are decided by the network service,
so another project's resource is a 404 and never a 403.
"""

from __future__ import annotations

from andromede.policy.checks import (
    ADMIN,
    MEMBER,
    PROJECT_READER,
    READER,
    all_of,
    any_of,
    authenticated,
    project_scoped_to,
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
