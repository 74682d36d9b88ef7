"""Cinder v3 through the real clients: `openstack volume create/list/show/set/delete`, volume types, quotas and
limits, as a project's member uses them (the host's volume agent makes and removes them: test_volume_agent.py)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.support.accounts import Admin, cli_as
from tests.support.polling import poll
from tests.support.server import Server


def _json(result: object) -> dict | list:
    return json.loads(result.stdout)  # type: ignore[attr-defined]


def test_volume_crud_through_the_cli(server: Server, admin: Admin, tmp_path: Path) -> None:
    cli = cli_as(server, admin.account("member"), tmp_path)
    made = _json(cli("volume", "create", "--size", "2", "--description", "first", "--property", "tier=gold",
                     "v1", "-f", "json"))
    assert made["size"] == 2 and made["name"] == "v1" and made["status"] == "creating"
    assert made["type"] == "__DEFAULT__" and made["encrypted"] is True and made["availability_zone"] == "nova"

    listed = _json(cli("volume", "list", "-f", "json"))
    assert [(v["ID"], v["Name"], v["Size"]) for v in listed] == [(made["id"], "v1", 2)]

    cli("volume", "set", "--name", "v1-renamed", "--description", "changed", "--property", "owner=me", made["id"])
    shown = _json(cli("volume", "show", "v1-renamed", "-f", "json"))
    assert shown["description"] == "changed" and shown["properties"] == {"tier": "gold", "owner": "me"}

    types = _json(cli("volume", "type", "list", "-f", "json"))
    assert "__DEFAULT__" in [t["Name"] for t in types]  # (other tests on this cloud may add types)
    assert _json(cli("volume", "type", "show", "__DEFAULT__", "-f", "json"))["name"] == "__DEFAULT__"

    limits = {row["Name"]: row["Value"] for row in _json(cli("limits", "show", "--absolute", "-f", "json"))}
    assert limits["max_total_volumes"] == 10 and limits["total_volumes_used"] == 1
    assert limits["total_gigabytes_used"] == 2

    cli("volume", "delete", made["id"])
    poll(lambda: _json(cli("volume", "list", "-f", "json")) == [], 120, "the volume gone")  # deleting, then gone
    gone = cli("volume", "show", made["id"], check=False)
    assert gone.returncode != 0  # type: ignore[attr-defined]


def test_openstacksdk_block_storage(server: Server, admin: Admin) -> None:
    import openstack

    account = admin.account("member")
    conn = openstack.connect(auth_url=server.identity_url, username=account.name, password=account.password,
                             project_name=account.project_name, user_domain_name="Default",
                             project_domain_name="Default", region_name="RegionOne", cacert=server.cacert)
    volume = conn.block_storage.create_volume(size=1, name="sdk-vol", metadata={"k": "v"})
    assert conn.block_storage.get_volume(volume.id).metadata == {"k": "v"}
    assert [v.id for v in conn.block_storage.volumes(name="sdk-vol")] == [volume.id]
    assert [z.name for z in conn.block_storage.availability_zones()] == ["nova"]
    conn.block_storage.delete_volume(volume.id)
    poll(lambda: list(conn.block_storage.volumes()) == [], 120, "the volume gone")


def test_admin_makes_types_with_and_without_encryption(server: Server, admin: Admin, tmp_path: Path) -> None:
    # The operator's token is system-scoped: its catalog has no project for Cinder's URL, so the CLI is pointed at
    # one (as with Cinder, whose project-less URLs need microversion 3.67).
    clouds = server.clouds()
    cloud = dict(clouds["andromede-admin"])
    project = admin.project()
    cloud["block_storage_endpoint_override"] = f"{server.base_url}/volume/v3/{project[0]}"
    path = tmp_path / "clouds-admin.yaml"
    path.write_text(yaml.safe_dump({"clouds": {"operator": cloud}}))

    def operator(*args: str) -> dict:
        result = server.openstack(*args, "-f", "json", cloud="operator", env={"OS_CLIENT_CONFIG_FILE": str(path)})
        return json.loads(result.stdout)

    made = operator("volume", "type", "create", "--encryption-provider", "luks", "--encryption-cipher",
                    "aes-xts-plain64", "--encryption-key-size", "512", "--encryption-control-location", "front-end",
                    "secure")
    assert made["name"] == "secure" and made["encryption"]["provider"] == "luks"
    plain = operator("volume", "type", "create", "--description", "no encryption", "plain")
    assert "encryption" not in plain or not plain["encryption"]
    shown = operator("volume", "type", "show", "--encryption-type", "secure")
    assert shown["encryption"]["key_size"] == 512 and shown["encryption"]["cipher"] == "aes-xts-plain64"

    member = cli_as(server, admin.account("member"), tmp_path)
    vol = _json(member("volume", "create", "--size", "1", "--type", "plain", "clear", "-f", "json"))
    assert vol["type"] == "plain" and vol["encrypted"] is False
    owner = member("token", "issue", "-f", "json")
    project_id = json.loads(owner.stdout)["project_id"]  # type: ignore[attr-defined]
    server.openstack("quota", "set", "--volumes", "1", "--gigabytes", "5", project_id, cloud="operator",
                     env={"OS_CLIENT_CONFIG_FILE": str(path)})
    over = member("volume", "create", "--size", "1", "second", check=False)
    assert over.returncode != 0 and "VolumeLimitExceeded" in over.stderr  # type: ignore[attr-defined]
    refused = member("volume", "type", "create", "mine", check=False)
    assert refused.returncode != 0 and "403" in refused.stderr  # type: ignore[attr-defined]
    assert sorted(t["Name"] for t in _json(member("volume", "type", "list", "-f", "json"))) == [
        "__DEFAULT__", "plain", "secure"]


def test_quota_show_counts_volumes(server: Server, admin: Admin, tmp_path: Path) -> None:
    cli = cli_as(server, admin.account("member"), tmp_path)
    cli("volume", "create", "--size", "3", "counted")
    shown = {row["Resource"]: row["Limit"] for row in _json(cli("quota", "show", "--volume", "-f", "json"))}
    assert shown["volumes"] == 10 and shown["gigabytes"] == 1000 and shown["snapshots"] == 10
    used = {row["Resource"]: row["In Use"] for row in _json(cli("quota", "show", "--volume", "--usage", "-f", "json"))}
    assert used["volumes"] == 1 and used["gigabytes"] == 3
