"""Item 4: one agent credential was every host. Each host now holds its own credential, bound to its name.

Every attack is made over raw HTTP with host A's credential (issued by `andromede host add`, as an operator
would) against the session server's own host, which runs a tenant's server: A must not register or resize other
hosts, read their desired state, report for their instances or ports, fetch their images, nor use any public API.
Each refusal is checked to have changed nothing.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from andromede.contracts import metadata as signing
from tests.functional.image import corpus
from tests.support.accounts import Account, Admin, auth_headers
from tests.support.hosts import HostAgent, add_host, host_command
from tests.support.polling import poll
from tests.support.server import Server

INTERNAL = "/internal/v1"
NO_CAPACITY = {"vcpus": 0, "memory_mib": 0, "disk_gib": 0, "accelerator": "fake"}
GREEDY = {"vcpus": 4096, "memory_mib": 1 << 24, "disk_gib": 1 << 20, "accelerator": "kvm"}


@dataclass
class Victim:
    """A tenant's server on the session server's own host (host B), booted from the tenant's private image."""

    account: Account
    token: str
    host: str
    server_id: str
    image_id: str
    port_id: str


@pytest.fixture(scope="module")
def host_a(server: Server) -> Iterator[HostAgent]:
    agent = add_host(server, f"hv-attacker-{secrets.token_hex(3)}")
    with agent.client() as client:  # A is a real, live host: its own heartbeat works (and offers nothing)
        assert client.post(f"{INTERNAL}/hosts/{agent.name}", json=NO_CAPACITY).status_code == 200
    yield agent
    host_command(server, "remove", agent.name)


@pytest.fixture(scope="module")
def attacker(host_a: HostAgent) -> Iterator[httpx.Client]:
    with host_a.client() as client:
        yield client


@pytest.fixture(scope="module")
def victim(server: Server, admin: Admin, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Victim]:
    account = admin.account()
    token = account.token(server)
    headers = auth_headers(token)
    with server.http() as http:
        image = http.post("/image/v2/images", headers=headers, json={
            "name": f"private-{secrets.token_hex(3)}", "disk_format": "qcow2", "container_format": "bare"}).json()
        data = corpus.small_qcow2(tmp_path_factory.mktemp("victim") / "disk.qcow2", "64M").read_bytes()
        uploaded = http.put(f"/image/v2/images/{image['id']}/file", content=data,
                            headers={**headers, "Content-Type": "application/octet-stream"})
        assert uploaded.status_code == 204, uploaded.text
        created = http.post("/compute/v2.1/servers", headers=headers, json={"server": {
            "name": f"victim-{secrets.token_hex(3)}", "imageRef": image["id"], "flavorRef": "1",
            "user_data": "ZWNobyBzZWNyZXQ="}})
        assert created.status_code == 202, created.text
        server_id = created.json()["server"]["id"]
        # The local agent fetched the private image through its own host's route and booted it.
        poll(lambda: _status(http, token, server_id) == "ACTIVE", what="the victim's server to be ACTIVE")
    network = admin.client.post("/network/v2.0/networks", json={"network": {
        "name": "victim-net", "project_id": admin.project_id}}).json()["network"]
    port = admin.client.post("/network/v2.0/ports", json={"port": {
        "project_id": admin.project_id, "network_id": network["id"], "binding:host_id": socket.gethostname(),
        "device_owner": "compute:nova",
        "device_id": secrets.token_hex(8)}}).json()["port"]
    yield Victim(account, token, socket.gethostname(), server_id, image["id"], port["id"])
    with server.http() as http:
        http.delete(f"/compute/v2.1/servers/{server_id}", headers=headers)
    admin.client.delete(f"/network/v2.0/ports/{port['id']}")
    admin.client.delete(f"/network/v2.0/networks/{network['id']}")


def _status(http: httpx.Client, token: str, server_id: str) -> str | None:
    return http.get(f"/compute/v2.1/servers/{server_id}", headers=auth_headers(token)).json()["server"]["status"]


def _hypervisors(admin: Admin) -> dict[str, dict]:
    listed = admin.client.get("/compute/v2.1/os-hypervisors/detail").json()["hypervisors"]
    return {h["hypervisor_hostname"]: h for h in listed}


def _console(admin: Admin, server_id: str) -> str:
    return admin.client.post(f"/compute/v2.1/servers/{server_id}/action",
                             json={"os-getConsoleOutput": {}}).json()["output"]


def test_a_host_registers_no_other_host_and_claims_no_capacity_but_its_own(
        server: Server, admin: Admin, attacker: httpx.Client, host_a: HostAgent, victim: Victim) -> None:
    before = _hypervisors(admin)
    invented = f"hv-invented-{secrets.token_hex(3)}"
    for target in (invented, victim.host):
        response = attacker.post(f"{INTERNAL}/hosts/{target}", json=GREEDY)
        assert response.status_code == 403, response.text
        assert "Traceback" not in response.text
    after = _hypervisors(admin)
    assert invented not in after and invented not in host_command(server, "list").stdout
    for name in (victim.host, host_a.name):
        assert (after[name]["vcpus"], after[name]["memory_mb"], after[name]["local_gb"]) == \
            (before[name]["vcpus"], before[name]["memory_mb"], before[name]["local_gb"])


def test_a_host_reads_no_other_hosts_desired_state(attacker: httpx.Client, host_a: HostAgent,
                                                   victim: Victim) -> None:
    for path in (f"/hosts/{victim.host}/instances", f"/hosts/{victim.host}/instances?since=0&wait=0",
                 f"/hosts/{victim.host}/network"):
        response = attacker.get(INTERNAL + path)
        assert response.status_code == 403, (path, response.text)
        assert victim.server_id not in response.text and "ZWNobyBzZWNyZXQ=" not in response.text
    own = attacker.get(f"{INTERNAL}/hosts/{host_a.name}/instances")  # its own: nothing runs there
    assert own.status_code == 200 and own.json()["instances"] == []
    assert victim.server_id not in attacker.get(f"{INTERNAL}/hosts/{host_a.name}/network").text


def test_a_host_reports_nothing_for_another_hosts_instance(admin: Admin, attacker: httpx.Client,
                                                           victim: Victim, server: Server) -> None:
    # The fake host writes the guest's console a moment after the boot: compare with its final text.
    poll(lambda: "ready" in _console(admin, victim.server_id), what="the victim's console")
    console_before = _console(admin, victim.server_id)
    forged = {"power": "shutoff", "console": "forged console", "fault": "forged fault"}
    response = attacker.put(f"{INTERNAL}/instances/{victim.server_id}/observed", json=forged)
    unknown = attacker.put(f"{INTERNAL}/instances/{secrets.token_hex(4)}-0000-4000-8000-000000000000/observed",
                           json=forged)
    # 404 as for an instance that does not exist: the host learns nothing of what runs elsewhere.
    assert response.status_code == unknown.status_code == 404, response.text
    assert response.json().keys() == unknown.json().keys()
    with server.http() as http:
        assert _status(http, victim.token, victim.server_id) == "ACTIVE"
        shown = http.get(f"/compute/v2.1/servers/{victim.server_id}", headers=auth_headers(victim.token)).json()
    assert "fault" not in shown["server"]
    assert _console(admin, victim.server_id) == console_before


def test_a_host_sets_no_status_on_another_hosts_ports(admin: Admin, attacker: httpx.Client, host_a: HostAgent,
                                                      victim: Victim) -> None:
    before = admin.client.get(f"/network/v2.0/ports/{victim.port_id}").json()["port"]["status"]
    flipped = "DOWN" if before == "ACTIVE" else "ACTIVE"
    forged = {"ports": {victim.port_id: flipped}}
    response = attacker.post(f"{INTERNAL}/hosts/{victim.host}/network/status", json=forged)
    assert response.status_code == 403, response.text
    # Through its own path, another host's port is not its to report: ignored.
    own = attacker.post(f"{INTERNAL}/hosts/{host_a.name}/network/status", json=forged)
    assert own.status_code == 200 and own.json() == {"changed": 0}
    assert admin.client.get(f"/network/v2.0/ports/{victim.port_id}").json()["port"]["status"] == before


def test_a_host_fetches_only_the_images_its_own_servers_boot(attacker: httpx.Client, host_a: HostAgent,
                                                             victim: Victim) -> None:
    foreign = attacker.get(f"{INTERNAL}/hosts/{host_a.name}/images/{victim.image_id}/file")
    assert foreign.status_code == 404, foreign.text
    assert attacker.get(f"{INTERNAL}/hosts/{victim.host}/images/{victim.image_id}/file").status_code == 403
    public_route = attacker.get(f"/image/v2/images/{victim.image_id}/file")
    assert public_route.status_code == 403 and not public_route.content.startswith(b"QFI")


def test_a_hosts_metadata_key_reads_no_other_hosts_guest(server: Server, host_a: HostAgent, victim: Victim) -> None:
    """A's relay key (in its agent.yaml) signs for A's guests only: not for a guest on another host, whichever host
    it claims to be; the installation's key never leaves the controller."""
    key = signing.secret_from_config(host_a.config)
    assert key is not None and key != (server.data_dir / signing.SECRET_FILE).read_bytes()
    signed = {signing.INSTANCE_ID_HEADER: victim.server_id, signing.TENANT_ID_HEADER: victim.account.project_id,
              signing.SIGNATURE_HEADER: signing.sign(key, victim.server_id)}
    path = "/metadata/openstack/latest/user_data"
    with server.http() as http:
        as_itself = http.get(path, headers={**signed, signing.HOST_HEADER: host_a.name})
        assert as_itself.status_code == 404 and b"secret" not in as_itself.content
        for claimed in (victim.host, None):
            headers = {**signed, **({signing.HOST_HEADER: claimed} if claimed else {})}
            assert http.get(path, headers=headers).status_code == 403


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/compute/v2.1/servers"), ("GET", "/compute/v2.1/servers/detail?all_tenants=1"),
    ("GET", "/compute/v2.1/os-hypervisors"), ("GET", "/compute/v2.1/flavors"),
    ("GET", "/identity/v3/users"), ("GET", "/identity/v3/projects"), ("GET", "/identity/v3/auth/projects"),
    ("GET", "/network/v2.0/networks"), ("GET", "/network/v2.0/ports"),
    ("GET", "/image/v2/images"),
])
def test_a_host_credential_is_useless_on_the_public_apis(attacker: httpx.Client, victim: Victim,
                                                         method: str, path: str) -> None:
    response = attacker.request(method, path)
    assert response.status_code == 403, (path, response.text)
    assert victim.server_id not in response.text and victim.account.project_id not in response.text


def test_a_host_credential_makes_no_more_credentials(server: Server, admin: Admin, attacker: httpx.Client,
                                                     host_a: HostAgent) -> None:
    user_id = attacker.get("/identity/v3/auth/tokens",
                           headers={"X-Subject-Token": attacker.headers["X-Auth-Token"]})
    assert user_id.status_code == 403  # not even its own token's details
    users = admin.client.get("/identity/v3/users", params={"name": f"host:{host_a.name}"}).json()["users"]
    [user] = users
    made = attacker.post(f"/identity/v3/users/{user['id']}/application_credentials",
                         json={"application_credential": {"name": "more", "unrestricted": True}})
    assert made.status_code == 403, made.text
    assert attacker.get(f"/identity/v3/users/{user['id']}").status_code == 403
    listed = admin.client.get(f"/identity/v3/users/{user['id']}/application_credentials").json()
    assert [c["name"] for c in listed["application_credentials"]] == ["host-agent"]


def test_only_host_credentials_act_on_the_internal_api(admin: Admin, server: Server, victim: Victim) -> None:
    """An administrator is no host either: hosts are added on the controller, not through an API."""
    invented = f"hv-admin-{secrets.token_hex(3)}"
    assert admin.client.post(f"{INTERNAL}/hosts/{invented}", json=GREEDY).status_code == 403
    assert admin.client.get(f"{INTERNAL}/hosts/{victim.host}/instances").status_code == 403
    with server.http() as http:
        member = http.get(f"{INTERNAL}/hosts/{victim.host}/instances", headers=auth_headers(victim.token))
    assert member.status_code == 403
    assert invented not in _hypervisors(admin)


def test_a_revoked_host_credential_and_its_tokens_stop_at_once(server: Server) -> None:
    agent = add_host(server, f"hv-revoked-{secrets.token_hex(3)}")
    token = agent.token()
    with server.http() as http:
        heartbeat = http.post(f"{INTERNAL}/hosts/{agent.name}", json=NO_CAPACITY, headers=auth_headers(token))
        assert heartbeat.status_code == 200, heartbeat.text
        assert "revoked" in host_command(server, "revoke", agent.name).stdout
        # Refused as soon as the server sees the write (the CLI is another process: within the identity cache's
        # check interval, 1 s).
        poll(lambda: http.post(f"{INTERNAL}/hosts/{agent.name}", json=NO_CAPACITY,
                               headers=auth_headers(token)).status_code == 401, timeout=5, what="401")
        again = http.post("/identity/v3/auth/tokens", json={"auth": {"identity": {
            "methods": ["application_credential"], "application_credential": {
                "id": agent.config["application_credential_id"],
                "secret": agent.config["application_credential_secret"]}}}})
        assert again.status_code == 401
        # A new credential for the same host works; the old one stays dead.
        fresh = add_host(server, agent.name)
        assert fresh.config["application_credential_id"] != agent.config["application_credential_id"]
        assert http.get(f"{INTERNAL}/hosts/{agent.name}/instances",
                        headers=auth_headers(fresh.token())).status_code == 200
        assert http.get(f"{INTERNAL}/hosts/{agent.name}/instances", headers=auth_headers(token)).status_code == 401
    assert "removed" in host_command(server, "remove", agent.name).stdout
    assert agent.name not in host_command(server, "list").stdout


def test_host_commands_refuse_what_they_cannot_do(server: Server, host_a: HostAgent, tmp_path: Path) -> None:
    twice = host_command(server, "add", host_a.name, check=False)
    assert twice.returncode == 1 and "already has a credential" in twice.stderr and "Traceback" not in twice.stderr
    for bad in ("-rf", "a b", "x" * 251, "../etc", "host\nname"):
        refused = host_command(server, "add", bad, check=False)
        assert refused.returncode != 0 and "Traceback" not in refused.stderr, bad
    missing = host_command(server, "revoke", f"hv-missing-{secrets.token_hex(3)}", check=False)
    assert missing.returncode == 1 and "No host named" in missing.stderr
    listed = host_command(server, "list").stdout
    assert any(line.split()[:2] == [host_a.name, "yes"] for line in listed.splitlines())
    # --output: agent.yaml (0600) with the CA beside it, ready to copy to the host.
    name = f"hv-file-{secrets.token_hex(3)}"
    output = tmp_path / "agent.yaml"
    host_command(server, "add", name, "--output", str(output))
    assert output.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "andromede-ca.pem").read_bytes() == Path(server.cacert).read_bytes()
    host_command(server, "remove", name)
