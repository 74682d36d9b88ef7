"""Rules as code: every rule documents itself and the operations it guards, and checks behave as Keystone's."""

from __future__ import annotations

import pytest

import andromede.api.app  # noqa: F401  (registers every service's rules)
from andromede.common.context import RequestContext
from andromede.common.errors import Forbidden, Unauthorized
from andromede.policy import enforce, rule_names
from andromede.policy.enforcer import _RULES

PREFIXES = ("/identity/", "/image/", "/compute/", "/network/", "/key-manager/", "/volume/", "/internal/")


def test_every_rule_is_documented_with_its_operations() -> None:
    assert len(rule_names()) > 90
    for name in rule_names():
        rule = _RULES[name]
        assert rule.description, name
        assert rule.operations, name
        for method, path in rule.operations:
            assert method in {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}, name
            assert path.startswith(PREFIXES), (name, path)


def _ctx(*roles: str, **scope: object) -> RequestContext:
    return RequestContext(request_id="r", user_id="u1", roles=frozenset(roles), **scope)  # type: ignore[arg-type]


def test_enforce_marks_the_request_and_refuses_in_keystone_terms() -> None:
    anonymous = RequestContext(request_id="r")
    with pytest.raises(Unauthorized):
        enforce(anonymous, "identity:list_users")
    assert anonymous.policy_checked
    with pytest.raises(Forbidden):
        enforce(_ctx("member", project_id="p"), "identity:create_user")
    enforce(_ctx("admin", system_scope=True), "identity:create_user")
    with pytest.raises(Forbidden):  # admin of one project is not the cloud's
        enforce(_ctx("admin", project_id="p"), "identity:create_user")
    enforce(_ctx("reader", domain_id="d"), "identity:list_users", {"domain_id": "d"})
    with pytest.raises(Forbidden):
        enforce(_ctx("reader", domain_id="d"), "identity:list_users", {"domain_id": "other"})
    enforce(_ctx("member", project_id="p"), "identity:get_user", {"user_id": "u1"})  # oneself


def test_readers_read_members_write() -> None:
    reader, member = _ctx("reader", project_id="p"), _ctx("member", project_id="p")
    enforce(reader, "compute:servers:index")
    with pytest.raises(Forbidden):
        enforce(reader, "compute:servers:create")
    enforce(member, "compute:servers:create")
    with pytest.raises(Forbidden):
        enforce(member, "compute:flavors:create")
    with pytest.raises(Forbidden):
        enforce(member, "internal:agent")
    with pytest.raises(Forbidden):  # the role alone is no host: only a credential bound to one acts here
        enforce(_ctx("service", project_id="s"), "internal:agent")
    enforce(_ctx("service", project_id="s", host="hv1"), "internal:agent")
    with pytest.raises(Forbidden):  # and a host credential is nothing on the public APIs
        enforce(_ctx("admin", project_id="s", host="hv1"), "compute:servers:index")


def test_port_attribute_rules_carry_neutrons_names_and_check_the_network_owner() -> None:
    for name in ("create_port:port_security_enabled", "create_port:allowed_address_pairs", "create_port:mac_address",
                 "create_port:fixed_ips:ip_address", "create_port:fixed_ips:subnet_id", "create_port:device_owner",
                 "create_port:binding:host_id", "create_port:binding:profile", "update_port:fixed_ips",
                 "update_port:port_security_enabled", "update_port:allowed_address_pairs:ip_address"):
        assert f"network:{name}" in rule_names(), name
    owned = {"network:project_id": "p", "network:shared": False}
    shared = {"network:project_id": "owner", "network:shared": True}
    enforce(_ctx("member", project_id="p"), "network:create_port:port_security_enabled", owned)
    with pytest.raises(Forbidden):
        enforce(_ctx("member", project_id="p"), "network:create_port:port_security_enabled", shared)
    enforce(_ctx("member", project_id="p"), "network:create_port:fixed_ips:subnet_id", shared)  # rule:shared
    enforce(_ctx("admin", system_scope=True), "network:create_port:fixed_ips:ip_address", shared)
    with pytest.raises(Forbidden):  # admin of another project is no admin of this network
        enforce(_ctx("admin", "member", project_id="p"), "network:create_port:fixed_ips:ip_address", shared)
    enforce(_ctx("member", project_id="p"), "network:create_port:device_owner", {**shared, "device_owner": "compute:x"})
    with pytest.raises(Forbidden):
        enforce(_ctx("member", project_id="p"), "network:create_port:device_owner",
                {**shared, "device_owner": "network:dhcp"})


PERSONAS = {
    "system admin": {"roles": ("admin", "manager", "member", "reader"), "system_scope": True},
    "system reader": {"roles": ("reader",), "system_scope": True},
    "project admin": {"roles": ("admin", "manager", "member", "reader"), "project_id": "p"},
    "project member": {"roles": ("member", "reader"), "project_id": "p"},
    "domain manager": {"roles": ("manager", "member", "reader"), "domain_id": "d"},
}


@pytest.mark.parametrize("rule,target,allowed", [
    ("compute:flavors:create", {}, {"system admin"}),
    ("compute:hypervisors", {}, {"system admin", "system reader"}),
    ("compute:servers:create", {}, {"project admin", "project member"}),  # Nova: never system-scoped
    ("compute:servers:delete", {}, {"system admin", "project admin", "project member"}),
    ("network:update_quota", {"project_id": "q"}, {"system admin"}),
    ("network:get_quota", {"project_id": "p"}, {"system admin", "project admin", "project member"}),
    ("network:get_agent", {}, {"system admin"}),
    ("identity:list_projects", {"domain_id": "d"}, {"system admin", "system reader", "domain manager"}),
    ("identity:list_projects", {"domain_id": "other"}, {"system admin", "system reader"}),
    ("identity:create_user", {"domain_id": "d"}, {"system admin", "domain manager"}),
    ("identity:create_user", {"domain_id": "other"}, {"system admin"}),
    ("identity:create_grant", {"domain_id": "d", "actor_domain_id": "d", "role_name": "member"},
     {"system admin", "domain manager"}),
    ("identity:create_grant", {"domain_id": "d", "actor_domain_id": "d", "role_name": "admin"}, {"system admin"}),
    ("identity:create_grant", {"domain_id": "d", "actor_domain_id": "other", "role_name": "member"},
     {"system admin"}),
    ("identity:create_system_grant", {}, {"system admin"}),
])
def test_every_rule_checks_the_scope(rule: str, target: dict, allowed: set[str]) -> None:
    for persona, spec in PERSONAS.items():
        ctx = _ctx(*spec["roles"], **{k: v for k, v in spec.items() if k != "roles"})
        if persona in allowed:
            enforce(ctx, rule, target)
        else:
            with pytest.raises(Forbidden):
                enforce(ctx, rule, target)


def test_is_admin_means_the_system() -> None:
    assert _ctx("admin", system_scope=True).is_admin
    assert not _ctx("admin", project_id="p").is_admin
    assert not _ctx("admin", domain_id="d").is_admin
