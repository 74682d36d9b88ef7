"""The metadata service of a real cloud: a server made through the compute API, read back at /metadata with the
instance signature computed from DIR/metadata-secret (no token), and through the agent's relay configured
from DIR/agent.yaml (controller URL, installation CA, key)."""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from andromede.contracts import metadata as signing
from andromede.network.agent.metadata_relay import MetadataRelay
from tests.functional.image import corpus
from tests.support.accounts import Account, Admin, auth_headers
from tests.support.server import Server

USER_DATA = b"#!/bin/sh\necho metadata-service-user-data\n"
PUBLIC_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH8G9xvG1y8Vg3Lr6x0nX1mF5yWmG2y3sQ2p4rQ2r9vK "
              "metadata@test")


@pytest.fixture(scope="module")
def image_id(server: Server, admin: Admin, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = corpus.small_qcow2(tmp_path_factory.mktemp("img") / "base.qcow2", "64M")
    return admin.public_image(path, "md")


@pytest.fixture(scope="module")
def account(server: Server, admin: Admin) -> Account:
    return admin.account()


@pytest.fixture(scope="module")
def instance(server: Server, account: Account, image_id: str) -> Iterator[dict]:
    token = account.token(server)
    with server.http() as http:
        key_name = f"k-{secrets.token_hex(3)}"
        made = http.post("/compute/v2.1/os-keypairs", headers=auth_headers(token),
                         json={"keypair": {"name": key_name, "public_key": PUBLIC_KEY}})
        assert made.status_code in (200, 201), made.text
        body = {"server": {"name": f"md-{secrets.token_hex(3)}", "imageRef": image_id, "flavorRef": "1",
                           "networks": "none", "key_name": key_name, "metadata": {"role": "db"},
                           "user_data": base64.b64encode(USER_DATA).decode()}}
        created = http.post("/compute/v2.1/servers", json=body, headers=auth_headers(token))
        assert created.status_code == 202, created.text
        server_id = created.json()["server"]["id"]
        shown = http.get(f"/compute/v2.1/servers/{server_id}", headers=auth_headers(token)).json()["server"]
        yield {"id": server_id, "name": body["server"]["name"], "project_id": account.project_id,
               "key_name": key_name, "token": token, "server": shown}
        http.delete(f"/compute/v2.1/servers/{server_id}", headers=auth_headers(token))


def _secret(server: Server) -> bytes:
    return (server.data_dir / signing.SECRET_FILE).read_bytes()


def _signed(server: Server, instance_id: str, tenant: str) -> dict[str, str]:
    return {"X-Instance-ID": instance_id, "X-Tenant-ID": tenant,
            "X-Instance-ID-Signature": signing.sign(_secret(server), instance_id)}


def test_the_secret_is_private_and_given_to_the_agent(server: Server) -> None:
    path = server.data_dir / signing.SECRET_FILE
    assert len(path.read_bytes()) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    agent = yaml.safe_load((server.data_dir / "agent.yaml").read_text())
    # The host's own key, derived from the installation's, which stays on the controller.
    assert signing.secret_from_config(agent) == signing.host_secret(_secret(server), agent["host"]) != _secret(server)


def test_signed_requests_read_the_instance(server: Server, http: httpx.Client, instance: dict) -> None:
    headers = _signed(server, instance["id"], instance["project_id"])
    meta = http.get("/metadata/openstack/latest/meta_data.json", headers=headers)
    assert meta.status_code == 200, meta.text
    assert meta.headers["content-type"] == "application/json"
    doc = meta.json()
    assert doc["uuid"] == instance["id"] and doc["name"] == instance["name"]
    assert doc["project_id"] == instance["project_id"] and doc["meta"] == {"role": "db"}
    assert doc["public_keys"] == {instance["key_name"]: PUBLIC_KEY}
    assert doc["keys"] == [{"name": instance["key_name"], "type": "ssh", "data": PUBLIC_KEY}]
    assert doc["hostname"] and doc["availability_zone"] and doc["launch_index"] == 0 and doc["devices"] == []
    # What the tiny guest fetches when it has no config drive (guest/tiny/init: fetch_metadata_service).
    assert http.get("/metadata/openstack/latest/user_data", headers=headers).content == USER_DATA
    assert json.loads(http.get("/metadata/openstack/latest/network_data.json", headers=headers).text) == {
        "links": [], "networks": [], "services": []}
    assert http.get("/metadata/openstack", headers=headers).text.splitlines()[-1] == "latest"
    assert http.get("/metadata/latest/meta-data/instance-id", headers=headers).text.startswith("i-")
    assert http.get("/metadata/latest/meta-data/public-keys/0/openssh-key", headers=headers).text == PUBLIC_KEY
    assert http.get("/metadata/latest/user-data", headers=headers).content == USER_DATA
    assert http.get("/metadata/openstack/latest/nothing", headers=headers).status_code == 404


def test_forged_identity_is_refused(server: Server, http: httpx.Client, instance: dict) -> None:
    forged = {"X-Instance-ID": instance["id"], "X-Tenant-ID": instance["project_id"]}
    for headers in (forged, {**forged, "X-Instance-ID-Signature": "00" * 32}, {},
                    {**forged, "X-Auth-Token": instance["token"]}):  # a user's token names no instance
        response = http.get("/metadata/openstack/latest/meta_data.json", headers=headers)
        assert response.status_code == 403, headers
        assert response.text == "403 Forbidden\n" and instance["id"] not in response.text
    other_tenant = _signed(server, instance["id"], "0" * 32)
    assert http.get("/metadata/openstack/latest/meta_data.json", headers=other_tenant).status_code == 404
    assert http.post("/metadata/openstack/latest/meta_data.json",
                     headers=_signed(server, instance["id"], instance["project_id"])).status_code == 405


def test_through_the_relay_with_the_agents_configuration(server: Server, instance: dict, tmp_path: Path) -> None:
    network_id = "11111111-2222-4333-8444-555555555555"
    owners = {(network_id, "10.1.2.3"): (instance["id"], instance["project_id"])}
    relay = MetadataRelay.from_agent_config(server.data_dir / "agent.yaml", tmp_path / "metadata.sock",
                                            lambda network, ip: owners.get((network, ip)))
    relay.start()
    try:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(30)
            conn.connect(str(relay.socket_path))
            conn.sendall(("GET /openstack/latest/meta_data.json HTTP/1.0\r\n"
                          f"X-Andromede-Network-ID: {network_id}\r\nX-Forwarded-For: 10.1.2.3\r\n\r\n").encode())
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
    finally:
        relay.stop()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200 "), answer[:500]
    assert json.loads(body)["uuid"] == instance["id"]


def test_a_deleted_server_has_no_metadata(server: Server, http: httpx.Client, account: Account,
                                          image_id: str) -> None:
    token = account.token(server)
    body = {"server": {"name": f"md-{secrets.token_hex(3)}", "imageRef": image_id, "flavorRef": "1",
                       "networks": "none"}}
    created = http.post("/compute/v2.1/servers", json=body, headers=auth_headers(token))
    assert created.status_code == 202, created.text
    server_id = created.json()["server"]["id"]
    headers = _signed(server, server_id, account.project_id)
    assert http.get("/metadata/openstack/latest/meta_data.json", headers=headers).status_code == 200
    assert http.get("/metadata/openstack/latest/user_data", headers=headers).status_code == 404  # none given
    assert http.delete(f"/compute/v2.1/servers/{server_id}", headers=auth_headers(token)).status_code == 204
    assert http.get("/metadata/openstack/latest/meta_data.json", headers=headers).status_code == 404


@contextlib.contextmanager
def _server_on_subnets(server: Server, http: httpx.Client, account: Account, image_id: str,
                       subnets: tuple[dict, ...]) -> Iterator[tuple[dict, dict]]:
    """A server on a new network with these subnets: (its port, its network_data.json); deleted afterwards."""
    headers = auth_headers(account.token(server))
    name = f"nd-{secrets.token_hex(3)}"
    network = http.post("/network/v2.0/networks", headers=headers, json={"network": {"name": name}}).json()["network"]
    for subnet in subnets:
        made = http.post("/network/v2.0/subnets", headers=headers,
                         json={"subnet": {"network_id": network["id"], **subnet}})
        assert made.status_code == 201, made.text
    body = {"server": {"name": name, "imageRef": image_id, "flavorRef": "1", "networks": [{"uuid": network["id"]}]}}
    created = http.post("/compute/v2.1/servers", json=body, headers=headers)
    assert created.status_code == 202, created.text
    server_id = created.json()["server"]["id"]
    try:
        [port] = http.get("/network/v2.0/ports", headers=headers, params={"device_id": server_id}).json()["ports"]
        document = http.get("/metadata/openstack/latest/network_data.json",
                            headers=_signed(server, server_id, account.project_id)).json()
        yield port, document
    finally:
        http.delete(f"/compute/v2.1/servers/{server_id}", headers=headers)


def _address(port: dict, version: int) -> str:
    return next(f["ip_address"] for f in port["fixed_ips"] if (":" in f["ip_address"]) == (version == 6))


def test_network_data_tells_the_guest_how_to_configure_each_address(server: Server, http: httpx.Client,
                                                                    account: Account, image_id: str) -> None:
    subnets = ({"cidr": "10.66.0.0/24", "ip_version": 4},
               {"cidr": "2001:db8:66::/64", "ip_version": 6, "ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"})
    with _server_on_subnets(server, http, account, image_id, subnets) as (port, document):
        link = f"tap{port['id'][:11]}"
        assert [(n["type"], n["link"], n.get("ip_address")) for n in document["networks"]] == [
            ("ipv4_dhcp", link, None), ("ipv6_slaac", link, _address(port, 6))]
        assert document["networks"][1]["netmask"] == "ffff:ffff:ffff:ffff::"


def test_network_data_gives_static_addresses_with_their_routes_and_dns(server: Server, http: httpx.Client,
                                                                       account: Account, image_id: str) -> None:
    """What no DHCP or router advertisement hands out (IPv4 without DHCP, IPv6 static or dhcpv6-stateful) is
    given to the guest statically, with its default route, host routes and DNS servers, as Nova writes it."""
    subnets = (
        {"cidr": "10.67.0.0/24", "ip_version": 4, "enable_dhcp": False, "dns_nameservers": ["10.67.0.53"],
         "host_routes": [{"destination": "10.68.0.0/16", "nexthop": "10.67.0.254"}]},
        {"cidr": "2001:db8:67::/64", "ip_version": 6, "ipv6_ra_mode": "dhcpv6-stateful",
         "ipv6_address_mode": "dhcpv6-stateful", "dns_nameservers": ["2001:db8:67::53", "10.67.0.53"]},
    )
    with _server_on_subnets(server, http, account, image_id, subnets) as (port, document):
        by_type = {n["type"]: n for n in document["networks"]}
        assert sorted(by_type) == ["ipv4", "ipv6"]
        assert by_type["ipv4"]["ip_address"] == _address(port, 4)
        assert by_type["ipv4"]["netmask"] == "255.255.255.0"
        assert by_type["ipv4"]["routes"] == [
            {"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.67.0.1"},  # noqa: S104 (a route)
            {"network": "10.68.0.0", "netmask": "255.255.0.0", "gateway": "10.67.0.254"}]
        assert by_type["ipv4"]["services"] == [{"type": "dns", "address": "10.67.0.53"}]
        assert by_type["ipv6"]["ip_address"] == _address(port, 6)
        assert by_type["ipv6"]["netmask"] == "ffff:ffff:ffff:ffff::"
        assert by_type["ipv6"]["routes"] == [{"network": "::", "netmask": "::", "gateway": "2001:db8:67::1"}]
        assert all(n["link"] == f"tap{port['id'][:11]}" for n in document["networks"])
        assert document["services"] == [{"type": "dns", "address": "10.67.0.53"},
                                        {"type": "dns", "address": "2001:db8:67::53"}]
