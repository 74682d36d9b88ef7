"""The config drive the agent builds carries the same network_data.json as the metadata service, for every NIC.

No cloud image with its own cloud-init is available to the tests, so the test takes the host's desired state from
the internal API as the agent does, builds the ISO with the agent's own code and decodes it with pycdlib.
"""

from __future__ import annotations

import io
import json
import secrets
from pathlib import Path

import pycdlib
import pytest

from andromede.compute.agent.configdrive import build_config_drive
from andromede.compute.agent.reconciler import config_drive_for, parse_instances
from andromede.contracts import metadata as signing
from tests.functional.image import corpus
from tests.support.accounts import Account, Admin, cli_as
from tests.support.hosts import local_agent
from tests.support.server import Server


@pytest.fixture(scope="module")
def image_id(server: Server, admin: Admin, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = corpus.small_qcow2(tmp_path_factory.mktemp("img") / "base.qcow2", "64M")
    return admin.public_image(path, "cd")


def _read(iso_path: Path, volume_path: str) -> bytes:
    iso = pycdlib.PyCdlib()
    iso.open(str(iso_path))
    try:
        out = io.BytesIO()
        iso.get_file_from_iso_fp(out, rr_path="/" + volume_path)
        return out.getvalue()
    finally:
        iso.close()


def _drive_of(server: Server, server_id: str, tmp_path: Path) -> Path:
    """The ISO the agent writes for this instance, from the host's desired state as the agent reads it."""
    agent = local_agent(server)
    with agent.client() as client:
        answer = client.get(f"/internal/v1/hosts/{agent.name}/instances")
    assert answer.status_code == 200, answer.text
    [doc] = [d for d in parse_instances(answer.json()).instances if d.uuid == server_id]
    path = tmp_path / "disk.config"
    build_config_drive(config_drive_for(doc), path)
    return path


def test_the_config_drive_carries_the_metadata_services_network_data(
        server: Server, admin: Admin, image_id: str, tmp_path: Path) -> None:
    account: Account = admin.account()
    cli = cli_as(server, account, tmp_path)
    suffix = secrets.token_hex(3)
    cli("network", "create", f"v4-{suffix}")
    cli("subnet", "create", "--network", f"v4-{suffix}", "--subnet-range", "10.88.0.0/24", f"v4-{suffix}")
    cli("network", "create", f"v6-{suffix}")
    cli("subnet", "create", "--network", f"v6-{suffix}", "--ip-version", "6", "--subnet-range", "2001:db8:88::/64",
        "--ipv6-ra-mode", "slaac", "--ipv6-address-mode", "slaac", f"v6-{suffix}")
    made = json.loads(cli("server", "create", "--image", image_id, "--flavor", "1", "--config-drive", "true",
                          "--nic", f"net-id=v4-{suffix}", "--nic", f"net-id=v6-{suffix}", "-f", "json",
                          f"cd-{suffix}").stdout)
    server_id = made["id"]
    try:
        secret = (server.data_dir / signing.SECRET_FILE).read_bytes()
        headers = {"X-Instance-ID": server_id, "X-Tenant-ID": account.project_id,
                   "X-Instance-ID-Signature": signing.sign(secret, server_id)}
        with server.http() as http:
            served = http.get("/metadata/openstack/latest/network_data.json", headers=headers)
        assert served.status_code == 200, served.text
        expected = served.json()
        assert [n["type"] for n in expected["networks"]] == ["ipv4_dhcp", "ipv6_slaac"]
        assert len(expected["links"]) == 2

        drive = _drive_of(server, server_id, tmp_path)
        for version in ("latest", "2018-08-27"):
            assert json.loads(_read(drive, f"openstack/{version}/network_data.json")) == expected
        assert json.loads(_read(drive, "openstack/latest/meta_data.json"))["uuid"] == server_id
    finally:
        cli("server", "delete", "--wait", server_id)
