"""Nova details clients rely on: accessIPv4/accessIPv6, /servers/{id}/ips, floating IP status, teardown order.

Driven through the openstack CLI and openstacksdk against the real API, with the fake hypervisor behind the agent.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.functional.compute.test_servers import image_id  # noqa: F401
from tests.functional.network.test_routers import external_networks
from tests.support.accounts import Account, Admin, auth_headers, cli_as
from tests.support.polling import poll
from tests.support.server import Server

V21 = "/compute/v2.1"


@pytest.fixture()
def public_networks(admin: Admin) -> Iterator[Callable[..., dict]]:
    yield from external_networks(admin)


@pytest.fixture()
def member(admin: Admin) -> Account:
    return admin.account()


def _json(cli: Callable[..., object], *args: str) -> object:
    return json.loads(cli(*args, "-f", "json").stdout)  # type: ignore[attr-defined]


def _sdk(server: Server, account: Account):  # type: ignore[no-untyped-def]
    """openstacksdk as this account, in its own project."""
    import openstack.connection

    return openstack.connection.Connection(
        auth_url=server.identity_url, username=account.name, password=account.password,
        project_name=account.project_name, user_domain_name="Default", project_domain_name="Default",
        region_name="RegionOne", identity_api_version="3", cacert=server.cacert)


def _boot(http: httpx.Client, token: str, image: str, **extra: object) -> dict:
    body = {"server": {"name": f"nd-{secrets.token_hex(3)}", "imageRef": image, "flavorRef": "1",
                       "networks": "none", **extra}}
    created = http.post(f"{V21}/servers", json=body, headers=auth_headers(token))
    assert created.status_code == 202, created.text
    return created.json()["server"]


def test_access_ips_are_kept_shown_and_updated(server: Server, member: Account, image_id: str) -> None:  # noqa: F811
    sdk = _sdk(server, member)
    made = sdk.compute.create_server(name=f"ax-{secrets.token_hex(3)}", image_id=image_id, flavor_id="1",
                                     networks="none", access_ipv4="203.0.113.7", access_ipv6="2001:db8::7")
    try:
        shown = sdk.compute.get_server(made.id)
        assert (shown.access_ipv4, shown.access_ipv6) == ("203.0.113.7", "2001:db8::7")
        sdk.compute.update_server(made.id, access_ipv4="203.0.113.8")
        shown = sdk.compute.get_server(made.id)
        assert (shown.access_ipv4, shown.access_ipv6) == ("203.0.113.8", "2001:db8::7")
        listed = [s for s in sdk.compute.servers(details=True) if s.id == made.id]
        assert listed[0].access_ipv4 == "203.0.113.8"
    finally:
        sdk.compute.delete_server(made.id)


def test_access_ips_that_are_not_addresses_are_refused(server: Server, http: httpx.Client, member: Account,
                                                       image_id: str) -> None:  # noqa: F811
    token = member.token(server)
    before = http.get(f"{V21}/servers", headers=auth_headers(token)).json()["servers"]
    for extra in ({"accessIPv4": "2001:db8::1"}, {"accessIPv4": "10.0.0.300"}, {"accessIPv6": "10.0.0.1"},
                  {"accessIPv6": "not-an-address"}, {"accessIPv4": ""}):
        body = {"server": {"name": "bad", "imageRef": image_id, "flavorRef": "1", "networks": "none", **extra}}
        refused = http.post(f"{V21}/servers", json=body, headers=auth_headers(token))
        assert refused.status_code == 400, (extra, refused.text)
        assert refused.json()["badRequest"]["code"] == 400
    assert http.get(f"{V21}/servers", headers=auth_headers(token)).json()["servers"] == before
    made = _boot(http, token, image_id, accessIPv4="192.0.2.1")
    try:
        refused = http.put(f"{V21}/servers/{made['id']}", json={"server": {"accessIPv6": "192.0.2.1"}},
                           headers=auth_headers(token))
        assert refused.status_code == 400, refused.text
        shown = http.get(f"{V21}/servers/{made['id']}", headers=auth_headers(token)).json()["server"]
        assert (shown["accessIPv4"], shown["accessIPv6"]) == ("192.0.2.1", "")
    finally:
        http.delete(f"{V21}/servers/{made['id']}", headers=auth_headers(token))


def test_server_ips_by_network(server: Server, http: httpx.Client, member: Account, admin: Admin,
                               image_id: str, tmp_path: Path) -> None:  # noqa: F811
    cli = cli_as(server, member, tmp_path)
    name = f"ips-{secrets.token_hex(3)}"
    cli("network", "create", name)
    cli("subnet", "create", "--network", name, "--subnet-range", "10.42.0.0/24", name)
    made = _json(cli, "server", "create", "--image", image_id, "--flavor", "1", "--nic", f"net-id={name}", name)
    server_id = made["id"]  # type: ignore[index]
    token = member.token(server)
    try:
        [port] = _json(cli, "port", "list", "--server", server_id)  # type: ignore[misc]
        address = port["Fixed IP Addresses"][0]["ip_address"]
        listed = http.get(f"{V21}/servers/{server_id}/ips", headers=auth_headers(token))
        assert listed.status_code == 200, listed.text
        assert listed.json() == {"addresses": {name: [{"version": 4, "addr": address}]}}
        one = http.get(f"{V21}/servers/{server_id}/ips/{name}", headers=auth_headers(token))
        assert one.status_code == 200 and one.json() == {name: [{"version": 4, "addr": address}]}
        sdk = _sdk(server, member)
        assert [(a.network_label, a.address) for a in sdk.compute.server_ips(server_id)] == [(name, address)]

        unknown = http.get(f"{V21}/servers/{server_id}/ips/nowhere", headers=auth_headers(token))
        assert unknown.status_code == 404 and unknown.json()["itemNotFound"]["code"] == 404
        # Another project's server is not there at all, whatever the label.
        stranger = admin.account().token(server)
        for path in (f"/servers/{server_id}/ips", f"/servers/{server_id}/ips/{name}"):
            hidden = http.get(V21 + path, headers=auth_headers(stranger))
            assert hidden.status_code == 404, hidden.text
            assert address not in hidden.text and "itemNotFound" in hidden.json()
    finally:
        cli("server", "delete", "--wait", server_id)
        cli("network", "delete", name)


def test_create_answers_an_admin_password_and_change_password_is_nova_s_409(
        server: Server, http: httpx.Client, member: Account, admin: Admin, image_id: str,  # noqa: F811
        tmp_path: Path) -> None:
    cli = cli_as(server, member, tmp_path)
    name = f"pw-{secrets.token_hex(3)}"
    cli("network", "create", name)
    cli("subnet", "create", "--network", name, "--subnet-range", "10.44.0.0/24", name)
    made = _json(cli, "server", "create", "--image", image_id, "--flavor", "1", "--nic", f"net-id={name}", "--wait",
                 name)
    server_id = made["id"]  # type: ignore[index]
    token = member.token(server)
    try:
        password = made["adminPass"]  # type: ignore[index]
        assert len(password) == 12 and password.isalnum()
        chosen = _boot(http, token, image_id, adminPass="Chosen-Pass-1")
        assert chosen["adminPass"] == "Chosen-Pass-1"
        http.delete(f"{V21}/servers/{chosen['id']}", headers=auth_headers(token))
        assert "adminPass" not in http.get(f"{V21}/servers/{server_id}", headers=auth_headers(token)).json()["server"]

        # No guest agent sets a password in our guests: Nova with libvirt answers 409 then.
        refused = cli("server", "set", "--password", "new-secret-1", name, check=False)
        assert refused.returncode != 0 and "QEMU guest agent is not enabled" in refused.stderr  # type: ignore
        answer = http.post(f"{V21}/servers/{server_id}/action", json={"changePassword": {"adminPass": "x"}},
                           headers=auth_headers(token))
        assert answer.status_code == 409
        assert answer.json() == {"conflictingRequest": {"code": 409, "message": "QEMU guest agent is not enabled"}}
        for bad in ({}, {"adminPass": 5}, {"adminPass": "x", "extra": 1}, "x"):
            refused_body = http.post(f"{V21}/servers/{server_id}/action", json={"changePassword": bad},
                                     headers=auth_headers(token))
            assert refused_body.status_code == 400, (bad, refused_body.text)
        stranger = admin.account().token(server)
        hidden = http.post(f"{V21}/servers/{server_id}/action", json={"changePassword": {"adminPass": "x"}},
                           headers=auth_headers(stranger))
        assert hidden.status_code == 404, hidden.text
        cli("server", "stop", name)
        poll(lambda: _json(cli, "server", "show", name)["status"] == "SHUTOFF", what="SHUTOFF")  # type: ignore
        stopped = http.post(f"{V21}/servers/{server_id}/action", json={"changePassword": {"adminPass": "x"}},
                            headers=auth_headers(token))
        assert stopped.status_code == 409 and "vm_state stopped" in stopped.json()["conflictingRequest"]["message"]
    finally:
        cli("server", "delete", "--wait", server_id)
        cli("network", "delete", name)


def test_a_floating_ip_is_active_while_associated_and_down_once_released(
        server: Server, member: Account, image_id: str, tmp_path: Path,  # noqa: F811
        public_networks: Callable[..., dict]) -> None:
    public = public_networks("172.24.42.0/24")
    cli = cli_as(server, member, tmp_path)
    name = f"fs-{secrets.token_hex(3)}"
    cli("network", "create", name)
    cli("subnet", "create", "--network", name, "--subnet-range", "10.43.0.0/24", name)
    cli("router", "create", name)
    cli("router", "set", "--external-gateway", public["id"], name)
    cli("router", "add", "subnet", name, name)
    made = _json(cli, "server", "create", "--image", image_id, "--flavor", "1", "--nic", f"net-id={name}",
                 "--wait", name)
    fip = _json(cli, "floating ip", "create", public["id"])
    fip_id = fip["id"]  # type: ignore[index]

    def status() -> str:
        return _json(cli, "floating ip", "show", fip_id)["status"]  # type: ignore[index]

    try:
        assert status() == "DOWN"
        for _ in range(2):  # associated again after a release, it turns ACTIVE again
            cli("server", "add", "floating ip", name, fip["floating_ip_address"])  # type: ignore[index]
            poll(lambda: status() == "ACTIVE", what="floating IP ACTIVE")
            cli("server", "remove", "floating ip", name, fip["floating_ip_address"])  # type: ignore[index]
            assert status() == "DOWN"
    finally:
        cli("server", "delete", "--wait", made["id"])  # type: ignore[index]
        cli("floating ip", "delete", fip_id)
        cli("router", "remove", "subnet", name, name)
        cli("router", "delete", name)
        cli("network", "delete", name)


def test_delete_server_then_its_subnet_network_and_security_group(server: Server, member: Account,
                                                                   image_id: str, tmp_path: Path) -> None:  # noqa: F811
    """The usual teardown: the server's ports let go of their addresses as the delete is accepted."""
    cli = cli_as(server, member, tmp_path)
    name = f"td-{secrets.token_hex(3)}"
    cli("network", "create", name)
    cli("subnet", "create", "--network", name, "--subnet-range", "10.41.0.0/24", name)
    cli("security group", "create", name)
    cli("server", "create", "--image", image_id, "--flavor", "1", "--nic", f"net-id={name}", "--security-group",
        name, "--wait", name)
    cli("server", "delete", name)  # no --wait: Nova has released the ports when the delete is accepted
    cli("subnet", "delete", name)
    cli("network", "delete", name)
    cli("security group", "delete", name)
    assert _json(cli, "network", "list", "--name", name) == []
