"""Which port attribute rules a request triggers, and who passes them on a shared, an owned and an external network."""

from __future__ import annotations

import pytest

from andromede.common.context import RequestContext
from andromede.common.errors import Forbidden
from andromede.network import port_policy
from andromede.network.models import Network
from andromede.network.schemas import PortCreate, PortUpdate

NET_ID = "0f0e0d0c-0000-4000-8000-000000000001"
SUBNET = "0f0e0d0c-0000-4000-8000-000000000002"


def _ctx(project: str, *roles: str) -> RequestContext:
    return RequestContext(request_id="r", user_id=f"u-{project}", project_id=project,
                          roles=frozenset(roles or ("member", "reader")))


OWNER, TENANT = _ctx("owner"), _ctx("tenant")
ADMIN = RequestContext(request_id="r", user_id="u-operator", system_scope=True,
                       roles=frozenset(("admin", "manager", "member", "reader")))
PROJECT_ADMIN = _ctx("tenant", "admin", "manager", "member", "reader")  # a customer's admin: no cloud operator


def _network(*, shared: bool = True, external: bool = False) -> Network:
    return Network(id=NET_ID, project_id="owner", shared=shared, external=external)


def _create(**fields: object) -> PortCreate:
    return PortCreate.model_validate({"network_id": NET_ID, **fields})


def _update(**fields: object) -> PortUpdate:
    return PortUpdate.model_validate(fields)


def test_triggered_names_attributes_and_the_keys_their_entries_set() -> None:
    body = _create(fixed_ips=[{"subnet_id": SUBNET}, {"ip_address": "10.0.0.5"}],
                   allowed_address_pairs=[{"ip_address": "0.0.0.0/0"}], **{"binding:host_id": "h"})
    assert {"fixed_ips", "fixed_ips:subnet_id", "fixed_ips:ip_address", "allowed_address_pairs",
            "allowed_address_pairs:ip_address", "binding:host_id"} <= set(port_policy.triggered(body))
    assert "allowed_address_pairs:mac_address" not in port_policy.triggered(body)


def test_a_creates_null_is_not_given_but_an_updates_is_a_change() -> None:
    # Nova builds PortCreate(fixed_ips=None) for a server without a chosen address.
    assert "fixed_ips" not in port_policy.triggered(PortCreate(network_id=NET_ID, fixed_ips=None))
    assert "allowed_address_pairs" in port_policy.triggered(_update(allowed_address_pairs=None))


@pytest.mark.parametrize("fields", [
    {"port_security_enabled": False}, {"port_security_enabled": True},
    {"allowed_address_pairs": [{"ip_address": "0.0.0.0/0"}]}, {"allowed_address_pairs": []},
    {"fixed_ips": [{"subnet_id": SUBNET, "ip_address": "10.0.0.9"}]}, {"fixed_ips": [{"ip_address": "10.0.0.9"}]},
    {"mac_address": "fa:16:3e:00:00:01"}, {"device_owner": "network:dhcp"},
    {"device_owner": "network:router_interface"}, {"binding:host_id": "h"}, {"binding:profile": {}}])
def test_on_a_shared_network_only_the_owner_and_admins_hold_these_powers(fields: dict) -> None:
    body = _create(**fields)
    with pytest.raises(Forbidden) as refused:
        port_policy.check(TENANT, "create_port", _network(), body, body.device_owner)
    assert refused.value.status == 403 and refused.value.extra == {"type": "PolicyNotAuthorized"}
    assert refused.value.message.startswith("(") and refused.value.message.endswith(") is disallowed by policy")
    port_policy.check(ADMIN, "create_port", _network(), body, body.device_owner)
    with pytest.raises(Forbidden):  # admin of one's own project is no power over another project's network
        port_policy.check(PROJECT_ADMIN, "create_port", _network(), body, body.device_owner)
    if set(fields) & {"binding:host_id", "binding:profile"} or body.device_owner.startswith("network:"):
        with pytest.raises(Forbidden):  # those stay the admin's, even on one's own network
            port_policy.check(OWNER, "create_port", _network(), body, body.device_owner)
    else:
        port_policy.check(OWNER, "create_port", _network(), body, body.device_owner)


@pytest.mark.parametrize("fields", [{}, {"fixed_ips": [{"subnet_id": SUBNET}]}, {"device_owner": "compute:nova"},
                                    {"device_id": "vm", "name": "p", "security_groups": []}])
def test_a_tenant_on_a_shared_network_gets_a_port_from_a_subnet(fields: dict) -> None:
    body = _create(**fields)
    port_policy.check_network(TENANT, _network())
    port_policy.check(TENANT, "create_port", _network(), body, body.device_owner)


def test_the_refusal_names_every_rule_the_request_was_held_to() -> None:
    body = _create(fixed_ips=[{"subnet_id": SUBNET, "ip_address": "10.0.0.9"}])
    with pytest.raises(Forbidden) as refused:
        port_policy.check(TENANT, "create_port", _network(), body, "")
    assert refused.value.message == ("(((rule:create_port and rule:create_port:fixed_ips) and "
                                     "rule:create_port:fixed_ips:ip_address) and "
                                     "rule:create_port:fixed_ips:subnet_id) is disallowed by policy")


def test_updates_of_addresses_are_the_owners_even_by_subnet() -> None:
    for fields in ({"fixed_ips": [{"subnet_id": SUBNET}]}, {"port_security_enabled": True},
                   {"allowed_address_pairs": None}, {"device_owner": "network:dhcp"}, {"binding:host_id": "h"}):
        body = _update(**fields)
        with pytest.raises(Forbidden):
            port_policy.check(TENANT, "update_port", _network(), body, body.device_owner or "compute:nova")
    body = _update(name="renamed", device_owner="compute:nova", security_groups=[])
    port_policy.check(TENANT, "update_port", _network(), body, "compute:nova")
    port_policy.check(OWNER, "update_port", _network(), _update(fixed_ips=[{"ip_address": "10.0.0.9"}]), "")


def test_a_readers_role_on_the_owning_project_is_not_the_owners_power() -> None:
    reader = _ctx("owner", "reader")
    with pytest.raises(Forbidden):
        port_policy.check(reader, "create_port", _network(), _create(port_security_enabled=False), "")


def test_an_external_network_takes_ports_from_its_owner_and_admins_only() -> None:
    external = _network(shared=False, external=True)
    with pytest.raises(Forbidden) as refused:
        port_policy.check_network(TENANT, external)
    assert refused.value.message == "rule:create_port is disallowed by policy"
    port_policy.check_network(OWNER, external)
    port_policy.check_network(ADMIN, external)
    port_policy.check_network(TENANT, _network(shared=True, external=True))
