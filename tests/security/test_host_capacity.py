"""Issue 13 item 4: a host's credential cannot make it claim any capacity and attract every tenant's new servers.

A compromised hypervisor sends its own heartbeat claiming 16 TiB of RAM; the scheduler weighs by free RAM, so it
would receive every tenant's next servers, with their user-data, keys and images. Capacity is the operator's word
(`andromede host add|set --vcpus --memory-mib --disk-gib`), or the host's first report when none was given: a report
is capped at those ceilings before the scheduler sees it.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import yaml

from tests.support.accounts import Admin, auth_headers
from tests.support.hosts import HostAgent, add_host, host_command
from tests.support.server import Server

V3 = "/identity/v3"
GREEDY = {"vcpus": 4096, "memory_mib": 1 << 24, "disk_gib": 1 << 20, "accelerator": "kvm"}
# Too little RAM for m1.tiny (256 MiB): nothing may be scheduled there, whatever it claims next.
MODEST = {"vcpus": 1, "memory_mib": 128, "disk_gib": 1, "accelerator": "kvm"}


def _login(http: httpx.Client, name: str, password: str, project_id: str) -> str:
    response = http.post(f"{V3}/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"],
                     "password": {"user": {"name": name, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"id": project_id}}}})
    assert response.status_code == 201, response.text
    return response.headers["X-Subject-Token"]


def _new_servers_land_on(server: Server, image_id: str, count: int = 3) -> list[str | None]:
    admin, http = Admin(server), server.http()
    tenant = admin.account("member")
    token = _login(http, tenant.name, tenant.password, tenant.project_id)
    landed, made = [], []
    try:
        for _ in range(count):
            created = http.post("/compute/v2.1/servers", headers=auth_headers(token), json={"server": {
                "name": f"vm-{secrets.token_hex(3)}", "imageRef": image_id, "flavorRef": "1", "networks": "none"}})
            assert created.status_code == 202, created.text
            made.append(created.json()["server"]["id"])
            shown = admin.client.get(f"/compute/v2.1/servers/{made[-1]}").json()["server"]
            landed.append(shown.get("OS-EXT-SRV-ATTR:host"))
    finally:
        admin.delete_servers(made)
    return landed


def _report(host: HostAgent, report: dict) -> None:
    with host.client() as client:
        assert client.post(f"/internal/v1/hosts/{host.name}", json=report).status_code == 200


def _hypervisor(server: Server, name: str) -> dict:
    listing = Admin(server).client.get("/compute/v2.1/os-hypervisors/detail").json()["hypervisors"]
    return next(h for h in listing if h["hypervisor_hostname"] == name)


def test_a_compromised_host_cannot_attract_every_new_server(server: Server, tmp_path: Path) -> None:
    """Its first report set its ceiling (no flags at `host add`); a later, greedier one is capped at it."""
    from tests.functional.image import corpus

    image_id = Admin(server).public_image(corpus.small_qcow2(tmp_path / "base.qcow2", "64M"))
    evil = add_host(server, f"hv-evil-{secrets.token_hex(3)}")
    _report(evil, MODEST)
    _report(evil, GREEDY)
    landed = _new_servers_land_on(server, image_id)
    assert evil.name not in landed, f"every new server went to the host that overstated its capacity: {landed}"
    seen = _hypervisor(server, evil.name)
    assert (seen["vcpus"], seen["memory_mb"]) == (1, 128), seen


def test_the_operators_ceiling_caps_even_the_first_report(server: Server, tmp_path: Path) -> None:
    from tests.functional.image import corpus

    image_id = Admin(server).public_image(corpus.small_qcow2(tmp_path / "base.qcow2", "64M"))
    name = f"hv-evil-{secrets.token_hex(3)}"
    evil = HostAgent(server, yaml.safe_load(host_command(
        server, "add", name, "--vcpus", "1", "--memory-mib", "128", "--disk-gib", "1").stdout))
    _report(evil, GREEDY)
    landed = _new_servers_land_on(server, image_id)
    assert evil.name not in landed, landed
    host_command(server, "set", name, "--memory-mib", "64")
    assert _hypervisor(server, name)["memory_mb"] == 64
