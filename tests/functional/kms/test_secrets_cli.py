"""The key manager through python-barbicanclient's `openstack secret ...` and `openstack acl ...` commands, as a
project's members use them: store, list, get with the payload, order a key, share by ACL, delete."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from tests.support.accounts import Admin, cli_as
from tests.support.server import Server


def _json(result: object) -> dict | list:
    return json.loads(result.stdout)  # type: ignore[attr-defined]


def test_store_list_get_delete(server: Server, admin: Admin, tmp_path: Path) -> None:
    member = admin.account("member")
    cli = cli_as(server, member, tmp_path)
    payload = f"canary-{secrets.token_hex(8)}"
    stored = _json(cli("secret", "store", "--name", "db-password", "--payload", payload, "-f", "json"))
    ref = stored["Secret href"]
    assert ref.startswith(server.base_url + "/key-manager/v1/secrets/")
    assert stored["Name"] == "db-password"

    listed = _json(cli("secret", "list", "-f", "json"))
    assert [s["Secret href"] for s in listed] == [ref]
    # The CLI sends --payload as bytes: application/octet-stream, base64 in the body, as with Barbican.
    assert listed[0]["Content types"] == {"default": "application/octet-stream"}

    got = _json(cli("secret", "get", ref, "--payload", "-f", "json"))
    assert got["Payload"] == payload
    shown = _json(cli("secret", "get", ref, "-f", "json"))
    assert shown["Secret type"] == "opaque" and "Payload" not in shown

    cli("secret", "delete", ref)
    assert _json(cli("secret", "list", "-f", "json")) == []
    gone = cli("secret", "get", ref, check=False)
    assert gone.returncode != 0 and "Not Found: Secret not found." in gone.stderr


def test_binary_payload_and_expiration(server: Server, admin: Admin, tmp_path: Path) -> None:
    cli = cli_as(server, admin.account("member"), tmp_path)
    stored = _json(cli("secret", "store", "--name", "bin", "--payload", "AAECAwQ=", "--payload-content-type",
                       "application/octet-stream", "--payload-content-encoding", "base64", "--secret-type",
                       "symmetric", "--expiration", "2099-01-01T00:00:00Z", "-f", "json"))
    shown = _json(cli("secret", "get", stored["Secret href"], "-f", "json"))
    assert shown["Secret type"] == "symmetric" and shown["Expiration"].startswith("2099-01-01")
    file = tmp_path / "out.bin"
    cli("secret", "get", stored["Secret href"], "--file", str(file), "-t", "application/octet-stream")
    assert file.read_bytes() == bytes([0, 1, 2, 3, 4])


def test_order_a_key(server: Server, admin: Admin, tmp_path: Path) -> None:
    cli = cli_as(server, admin.account("member"), tmp_path)
    order = _json(cli("secret", "order", "create", "key", "--algorithm", "aes", "--bit-length", "256",
                      "--name", "generated", "-f", "json"))
    order_ref = order["Order href"]
    shown = _json(cli("secret", "order", "get", order_ref, "-f", "json"))
    assert shown["Status"] == "ACTIVE" and shown["Secret href"]
    secret = _json(cli("secret", "get", shown["Secret href"], "-f", "json"))
    assert secret["Algorithm"] == "aes" and secret["Bit length"] == 256 and secret["Secret type"] == "symmetric"
    key_file = tmp_path / "key.bin"
    cli("secret", "get", shown["Secret href"], "--file", str(key_file), "-t", "application/octet-stream")
    assert len(key_file.read_bytes()) == 32
    assert [o["Order href"] for o in _json(cli("secret", "order", "list", "-f", "json"))] == [order_ref]
    cli("secret", "order", "delete", order_ref)
    assert _json(cli("secret", "order", "list", "-f", "json")) == []


def test_acl_user_of_another_project_reads_the_secret(server: Server, admin: Admin, tmp_path: Path) -> None:
    owner, other = admin.account("member"), admin.account("member")
    owner_cli, other_cli = cli_as(server, owner, tmp_path), cli_as(server, other, tmp_path)
    ref = _json(owner_cli("secret", "store", "--payload", "shared-value", "-f", "json"))["Secret href"]
    assert other_cli("secret", "get", ref, "--payload", check=False).returncode != 0

    owner_cli("acl", "user", "add", "--user", other.user_id, ref)
    acl = _json(owner_cli("acl", "get", ref, "-f", "json"))
    assert other.user_id in str(acl)
    assert _json(other_cli("secret", "get", ref, "--payload", "-f", "json"))["Payload"] == "shared-value"

    owner_cli("acl", "user", "remove", "--user", other.user_id, ref)
    assert other_cli("secret", "get", ref, "--payload", check=False).returncode != 0
    owner_cli("acl", "delete", ref)
    assert _json(owner_cli("secret", "get", ref, "--payload", "-f", "json"))["Payload"] == "shared-value"
