"""Neutron's default RBAC: readers read, members manage their project's networks, subnets and ports.

Visibility (own, shared, external) and the admin-only attributes are decided by the network service,
so another project's resource is a 404 and never a 403.
"""

from __future__ import annotations

from andromede.policy.checks import ADMIN, any_of, authenticated, role
from andromede.policy.enforcer import register, rule_maker

READER = any_of(ADMIN, role("reader"), role("member"))
MEMBER = any_of(ADMIN, role("member"))
_rule = rule_maker("network", "/network/v2.0")

register(
    _rule("get_extensions", authenticated, "List API extensions.", ("GET", "/extensions")),
    _rule("get_tags", READER, "Read the tags of a network, subnet or port.", ("GET", "/{collection}/{id}/tags")),
    _rule("update_tags", MEMBER, "Change the tags of a network, subnet or port.", ("PUT", "/{collection}/{id}/tags")),
    *[_rule(f"{verb}_{noun}", READER if verb == "get" else MEMBER, f"{verb.capitalize()} a {noun}.",
            ("GET" if verb == "get" else {"create": "POST", "update": "PUT", "delete": "DELETE"}[verb],
             f"/{noun}s" if verb in ("get", "create") else f"/{noun}s/{{id}}"))
      for noun in ("network", "subnet", "port") for verb in ("get", "create", "update", "delete")],
)
