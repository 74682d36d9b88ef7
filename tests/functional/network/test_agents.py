"""Neutron's agents API: `openstack network agent list/show` tells an admin which hosts wire networks and whether
their agents are alive; the network host also lists its DHCP, L3 and metadata agents."""

from __future__ import annotations

import secrets
import socket
from pathlib import Path

from tests.support.accounts import Admin, cli_as
from tests.support.hosts import add_host
from tests.support.server import Server

HOST = "/internal/v1/hosts"
NO_CAPACITY = {"vcpus": 0, "memory_mib": 0, "disk_gib": 0, "accelerator": "fake"}  # never scheduled onto


def test_agents_show_each_host_and_its_heartbeat(server: Server, admin: Admin, tmp_path: Path) -> None:
    network_host = socket.gethostname()  # the session server's own agent polls for it
    listed = server.openstack_json("network", "agent", "list", "--host", network_host, cloud="andromede-admin")
    assert sorted(a["Agent Type"] for a in listed) == ["DHCP agent", "L3 agent", "Linux bridge agent",
                                                      "Metadata agent"]
    assert all(a["Alive"] is True and a["State"] is True and a["Binary"] == "andromede-agent" for a in listed)

    other = f"hv-agents-{secrets.token_hex(3)}"
    with add_host(server, other).client() as agent:
        assert agent.post(f"{HOST}/{other}", json={**NO_CAPACITY, "vtep_address": "192.0.2.77"}).status_code == 200
        # No network agent has polled for that host yet: nothing to list.
        assert server.openstack_json("network", "agent", "list", "--host", other, cloud="andromede-admin") == []
        assert agent.get(f"{HOST}/{other}/network").status_code == 200  # its agent polls: a heartbeat
    [agent] = server.openstack_json("network", "agent", "list", "--host", other, cloud="andromede-admin")
    assert agent["Agent Type"] == "Linux bridge agent" and agent["Alive"] is True
    shown = server.openstack_json("network", "agent", "show", agent["ID"], cloud="andromede-admin")
    assert shown["host"] == other and shown["configuration"]["tunneling_ip"] == "192.0.2.77"
    assert shown["configuration"]["tunnel_types"] == ["vxlan"] and shown["last_heartbeat_at"]
    dhcp = server.openstack_json("network", "agent", "list", "--agent-type", "dhcp", cloud="andromede-admin")
    assert [a["Host"] for a in dhcp] == [network_host]

    missing = server.openstack("network", "agent", "show", "0" * 8 + "-0000-4000-8000-" + "0" * 12,
                               cloud="andromede-admin", check=False)
    assert missing.returncode != 0 and "could not be found" in missing.stderr

    member = cli_as(server, admin.account("member"), tmp_path)
    hidden = member("network", "agent", "list", "-f", "json")  # as Neutron: none visible, not refused
    assert hidden.stdout.strip() == "[]"  # type: ignore[attr-defined]


def test_ip_availability_counts_pools_and_taken_addresses(server: Server, admin: Admin, tmp_path: Path) -> None:
    name = f"ipa-{secrets.token_hex(3)}"
    network = server.openstack_json("network", "create", name)
    server.openstack("subnet", "create", "--network", name, "--subnet-range", "10.71.0.0/24",
                     "--allocation-pool", "start=10.71.0.10,end=10.71.0.29", "--no-dhcp", f"{name}-v4")
    server.openstack("subnet", "create", "--network", name, "--ip-version", "6", "--subnet-range",
                     "2001:db8:71::/120", "--no-dhcp", f"{name}-v6")
    for index in range(3):
        server.openstack("port", "create", "--network", name, f"{name}-p{index}")
    shown = server.openstack_json("ip", "availability", "show", network["id"], cloud="andromede-admin")
    by_version = {s["ip_version"]: s for s in shown["subnet_ip_availability"]}
    assert by_version[4]["total_ips"] == 20 and by_version[4]["used_ips"] == 3
    assert by_version[6]["total_ips"] == 254 and by_version[6]["used_ips"] == 3  # not :: nor the gateway ::1
    assert shown["total_ips"] == 274 and shown["used_ips"] == 6 and shown["network_name"] == name
    listed = server.openstack_json("ip", "availability", "list", "--ip-version", "4", cloud="andromede-admin")
    assert any(row["Network ID"] == network["id"] and row["Total IPs"] == 20 and row["Used IPs"] == 3
               for row in listed)
    page = admin.client.get("/network/v2.0/network-ip-availabilities", params={"limit": "1"}).json()
    [first] = page["network_ip_availabilities"]
    after = admin.client.get("/network/v2.0/network-ip-availabilities", params={"marker": first["network_id"]})
    assert after.status_code == 200, after.text
    assert first["network_id"] not in {n["network_id"] for n in after.json()["network_ip_availabilities"]}
    bad = admin.client.get("/network/v2.0/network-ip-availabilities", params={"ip_version": "5"})
    assert bad.status_code == 400 and "ip_version" in bad.json()["NeutronError"]["message"]
    missing = server.openstack("ip", "availability", "show", "0" * 8 + "-0000-4000-8000-" + "0" * 12,
                               cloud="andromede-admin", check=False)
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    member = cli_as(server, admin.account("member"), tmp_path)
    refused = member("ip", "availability", "list", check=False)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr


def test_agents_hosting_a_network_or_a_router(server: Server, admin: Admin) -> None:
    name = f"hosted-{secrets.token_hex(3)}"
    admin_cli = {"cloud": "andromede-admin"}
    owner = ("--project", "admin")  # a system-scoped token has no project of its own
    server.openstack("network", "create", *owner, name, **admin_cli)
    server.openstack("network", "create", *owner, f"{name}-nodhcp", **admin_cli)
    try:
        server.openstack("subnet", "create", *owner, "--network", name, "--subnet-range", "10.72.0.0/24", name,
                         **admin_cli)
        server.openstack("subnet", "create", *owner, "--network", f"{name}-nodhcp", "--no-dhcp", "--subnet-range",
                         "10.73.0.0/24", f"{name}-nodhcp", **admin_cli)
        server.openstack("router", "create", *owner, name, **admin_cli)
        [dhcp] = server.openstack_json("network", "agent", "list", "--network", name, **admin_cli)
        assert dhcp["Agent Type"] == "DHCP agent" and dhcp["Host"] == socket.gethostname()
        assert server.openstack_json("network", "agent", "list", "--network", f"{name}-nodhcp", **admin_cli) == []
        [l3] = server.openstack_json("network", "agent", "list", "--router", name, **admin_cli)
        assert l3["Agent Type"] == "L3 agent" and l3["Host"] == socket.gethostname()
        missing = admin.client.get(f"/network/v2.0/networks/{'0' * 8}-0000-4000-8000-{'0' * 12}/dhcp-agents")
        assert missing.status_code == 404 and missing.json()["NeutronError"]["type"] == "NetworkNotFound"
    finally:
        server.openstack("router", "delete", name, check=False, **admin_cli)
        server.openstack("network", "delete", name, f"{name}-nodhcp", check=False, **admin_cli)
