"""openstacksdk's cloud layer, which Ansible's openstack.cloud modules and many scripts call: a server made with
auto_ip gets a floating IP from the external network its router reaches, and the SDK finds it as the server's
public address; deleting with delete_ips gives it back."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import pytest

from tests.functional.compute.test_servers import image_id  # noqa: F401
from tests.functional.network.test_routers import external_networks
from tests.support.accounts import Admin
from tests.support.server import Server


@pytest.fixture()
def public_networks(admin: Admin) -> Iterator[Callable[..., dict]]:
    yield from external_networks(admin)


def test_create_server_with_auto_ip(server: Server, image_id: str,  # noqa: F811
                                    public_networks: Callable[..., dict]) -> None:
    public = public_networks("172.24.32.0/24")
    name = f"ai-{secrets.token_hex(3)}"
    conn = server.sdk()
    network = conn.network.create_network(name=name)
    subnet = conn.network.create_subnet(network_id=network.id, cidr="10.32.0.0/24", ip_version=4, name=name)
    router = conn.network.create_router(name=name, external_gateway_info={"network_id": public["id"]})
    conn.network.add_interface_to_router(router, subnet=subnet.id)
    try:
        made = conn.create_server(name, image=image_id, flavor="m1.tiny", network=name, auto_ip=True, wait=True,
                                  timeout=120)
        assert made.status == "ACTIVE"
        public_v4 = conn.get_server(made.id).public_v4 or made.public_v4
        assert public_v4 and public_v4.startswith("172.24.32."), made.addresses
        [fip] = list(conn.network.ips(floating_ip_address=public_v4))
        assert fip.port_id and fip.floating_network_id == public["id"]
        assert conn.delete_server(made.id, wait=True, delete_ips=True, timeout=120)
        assert not list(conn.network.ips(floating_ip_address=public_v4))
    finally:
        for leftover in conn.compute.servers(name=name):
            conn.compute.delete_server(leftover)
            conn.compute.wait_for_delete(leftover)
        for fip in conn.network.ips(floating_network_id=public["id"]):
            conn.network.delete_ip(fip)
        conn.network.remove_interface_from_router(router, subnet=subnet.id)
        conn.network.delete_router(router)
        conn.network.delete_network(network)
