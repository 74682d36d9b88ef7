"""Flavors and keypairs through openstack CLI / SDK and raw Nova requests."""

from __future__ import annotations

import base64
import hashlib
import secrets

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tests.support.accounts import Admin, auth_headers
from tests.support.server import Server


def _openssh(key) -> str:  # type: ignore[no-untyped-def]
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def _fingerprint(public: str) -> str:
    digest = hashlib.md5(base64.b64decode(public.split()[1]), usedforsecurity=False).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


def test_standard_flavors_and_discovery(server: Server, http: httpx.Client) -> None:
    listed = {f["Name"]: f for f in server.openstack_json("flavor", "list")}
    assert listed["m1.tiny"]["RAM"] == 256 and listed["m1.tiny"]["Disk"] == 1 and listed["m1.tiny"]["VCPUs"] == 1
    assert listed["m1.small"]["RAM"] == 512
    root = http.get("/compute/")
    assert root.status_code == 200 and root.json()["versions"][0]["id"] == "v2.0"
    v21 = http.get("/compute/v2.1/").json()["version"]
    assert v21["min_version"] == "2.1" and v21["status"] == "CURRENT"
    token = server.openstack_json("token", "issue")["id"]
    answer = http.get("/compute/v2.1/flavors", headers={**auth_headers(token), "OpenStack-API-Version": "compute 2.1"})
    assert answer.headers["OpenStack-API-Version"] == "compute 2.1"
    too_new = http.get("/compute/v2.1/flavors", headers={**auth_headers(token), "OpenStack-API-Version": "compute 9.9"})
    assert too_new.status_code == 406
    assert http.get("/compute/v2.1/flavors", headers={**auth_headers(token),
                                                       "X-OpenStack-Nova-API-Version": "bogus"}).status_code == 400


def test_admin_manages_flavors_and_private_access(server: Server, admin: Admin, http: httpx.Client) -> None:
    name = f"f-{secrets.token_hex(3)}"
    created = server.openstack_json("flavor", "create", "--ram", "128", "--vcpus", "1", "--disk", "1", "--private",
                                    "--property", "hw:cpu=1", name, cloud="andromede-admin")
    assert created["name"] == name and created["os-flavor-access:is_public"] is False
    member = admin.account()
    token = member.token(server)
    assert http.get(f"/compute/v2.1/flavors/{created['id']}", headers=auth_headers(token)).status_code == 404
    server.openstack("flavor", "set", "--project", member.project_id, name, cloud="andromede-admin")
    assert http.get(f"/compute/v2.1/flavors/{created['id']}", headers=auth_headers(token)).status_code == 200
    refused = http.post("/compute/v2.1/flavors", json={"flavor": {"name": "x", "ram": 1, "vcpus": 1, "disk": 0}},
                        headers=auth_headers(token))
    assert refused.status_code == 403 and refused.json()["forbidden"]["code"] == 403
    server.openstack("flavor", "delete", name, cloud="andromede-admin")
    gone = http.get(f"/compute/v2.1/flavors/{created['id']}", headers=admin.client.headers)
    assert gone.status_code == 404 and "itemNotFound" in gone.json()


@pytest.mark.parametrize("make", [ed25519.Ed25519PrivateKey.generate, lambda: ec.generate_private_key(ec.SECP384R1()),
                                  lambda: ec.generate_private_key(ec.SECP256R1()),
                                  lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)])
def test_keypair_import_with_nova_fingerprint(server: Server, http: httpx.Client, admin: Admin, make) -> None:  # type: ignore[no-untyped-def]
    account = admin.account()
    headers = auth_headers(account.token(server))
    public = _openssh(make())
    created = http.post("/compute/v2.1/os-keypairs", json={"keypair": {"name": "k1", "public_key": public}},
                        headers=headers)
    assert created.status_code == 200, created.text
    assert created.json()["keypair"]["fingerprint"] == _fingerprint(public)
    assert "private_key" not in created.json()["keypair"]
    listed = http.get("/compute/v2.1/os-keypairs", headers=headers).json()["keypairs"]
    assert [k["keypair"]["name"] for k in listed] == ["k1"]
    assert http.delete("/compute/v2.1/os-keypairs/k1", headers=headers).status_code == 202
    assert http.get("/compute/v2.1/os-keypairs/k1", headers=headers).status_code == 404


def test_keypair_generation_and_isolation(server: Server, http: httpx.Client, admin: Admin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    alice, bob = admin.account(), admin.account()
    made = http.post("/compute/v2.1/os-keypairs", json={"keypair": {"name": "gen"}},
                     headers=auth_headers(alice.token(server))).json()["keypair"]
    assert made["private_key"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert http.get("/compute/v2.1/os-keypairs/gen", headers=auth_headers(bob.token(server))).status_code == 404
    for bad in ("ssh-rsa AAAA", "not a key", "ssh-dss AAAAB3NzaC1kc3MAAACBAP", "ssh-ed25519 AAAA\nssh-ed25519 AAAA"):
        response = http.post("/compute/v2.1/os-keypairs", json={"keypair": {"name": "bad", "public_key": bad}},
                             headers=auth_headers(bob.token(server)))
        assert response.status_code == 400 and "badRequest" in response.json()
    cli = server.openstack_json("keypair", "create", "--public-key", str(_write(tmp_path, made)), "cli-key")
    assert cli["name"] == "cli-key"


def _write(tmp_path, made: dict):  # type: ignore[no-untyped-def]
    path = tmp_path / "key.pub"
    path.write_text(made["public_key"])
    return path
