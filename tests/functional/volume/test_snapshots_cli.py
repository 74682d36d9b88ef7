"""Volume snapshots through the real client: `openstack volume snapshot create/list/show/set/delete` take a
snapshot inside the volume's qcow2+LUKS file on its host (qemu-img, the real FileDriver), count in the snapshots and
gigabytes quotas, keep their volume from being deleted, and leave the file when deleted."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.functional.volume.test_volume_agent import DEADLINE, _json, qemu_info, volume_file, wait_gone, wait_status
from tests.support.accounts import Admin, cli_as
from tests.support.polling import poll
from tests.support.server import Server


def wait_snapshot(cli: object, snapshot_id: str, wanted: str) -> dict:
    shown: dict = {}

    def reached() -> bool:
        nonlocal shown
        shown = _json(cli("volume", "snapshot", "show", snapshot_id, "-f", "json"))  # type: ignore[operator]
        assert shown["status"] != "error", shown
        return shown["status"] == wanted

    poll(reached, DEADLINE, f"snapshot {snapshot_id} {wanted}", interval=0.5)
    return shown


def _held_snapshots(server: Server, volume_id: str) -> list[str]:
    return [s["name"].replace("-", "") for s in qemu_info(volume_file(server, volume_id)).get("snapshots", [])]


def test_a_snapshot_is_taken_in_the_volume_file_listed_renamed_and_deleted(
        server: Server, admin: Admin, tmp_path: Path) -> None:
    cli = cli_as(server, admin.account("member"), tmp_path)
    volume = _json(cli("volume", "create", "--size", "1", "base", "-f", "json"))
    wait_status(cli, volume["id"], "available")

    made = _json(cli("volume", "snapshot", "create", "--volume", "base", "--description", "before upgrade",
                     "--property", "k=v", "snap", "-f", "json"))
    assert made["status"] == "creating" and made["volume_id"] == volume["id"] and made["size"] == 1
    shown = wait_snapshot(cli, made["id"], "available")
    assert shown["name"] == "snap" and shown["description"] == "before upgrade"
    assert _held_snapshots(server, volume["id"]) == [made["id"]]

    listed = _json(cli("volume", "snapshot", "list", "--volume", "base", "-f", "json"))
    assert [row["ID"] for row in listed] == [made["id"]]
    assert _json(cli("volume", "snapshot", "list", "--name", "other", "-f", "json")) == []
    cli("volume", "snapshot", "set", "--name", "renamed", "--description", "kept", made["id"])
    shown = _json(cli("volume", "snapshot", "show", "renamed", "-f", "json"))
    assert shown["id"] == made["id"] and shown["description"] == "kept"

    used = {row["Resource"]: row["In Use"]
            for row in _json(cli("quota", "show", "--volume", "--usage", "-f", "json"))}
    assert used["snapshots"] == 1 and used["gigabytes"] == 2  # the volume's GiB and its snapshot's, as in Cinder

    refused = cli("volume", "delete", volume["id"], check=False)
    assert refused.returncode != 0  # type: ignore[attr-defined]
    assert wait_status(cli, volume["id"], "available")

    cli("volume", "snapshot", "delete", made["id"])
    poll(lambda: cli("volume", "snapshot", "show", made["id"], check=False).returncode != 0,  # type: ignore
         DEADLINE, "snapshot gone", interval=0.5)
    assert _held_snapshots(server, volume["id"]) == []
    cli("volume", "delete", volume["id"])
    wait_gone(cli, volume["id"])


def test_snapshots_beyond_the_quota_are_refused(server: Server, admin: Admin, tmp_path: Path) -> None:
    account = admin.account("member")
    cli = cli_as(server, account, tmp_path)
    project_id = cli("token", "issue", "-f", "value", "-c", "project_id").stdout.strip()  # type: ignore
    cloud = dict(server.clouds()["andromede-admin"])
    cloud["block_storage_endpoint_override"] = f"{server.base_url}/volume/v3/{project_id}"
    path = tmp_path / "clouds-admin.yaml"
    path.write_text(yaml.safe_dump({"clouds": {"operator": cloud}}))
    server.openstack("quota", "set", "--snapshots", "1", project_id, cloud="operator",
                     env={"OS_CLIENT_CONFIG_FILE": str(path)})
    volume = _json(cli("volume", "create", "--size", "1", "q", "-f", "json"))
    wait_status(cli, volume["id"], "available")
    first = _json(cli("volume", "snapshot", "create", "--volume", volume["id"], "one", "-f", "json"))
    second = cli("volume", "snapshot", "create", "--volume", volume["id"], "two", check=False)
    assert second.returncode != 0 and "SnapshotLimitExceeded" in second.stderr  # type: ignore[attr-defined]
    wait_snapshot(cli, first["id"], "available")
    assert [row["Name"] for row in _json(cli("volume", "snapshot", "list", "-f", "json"))] == ["one"]


def test_a_volume_is_extended_on_its_host(server: Server, admin: Admin, tmp_path: Path) -> None:
    """`openstack volume set --size` grows the file (still LUKS); the new size shows once the host has grown it."""
    cli = cli_as(server, admin.account("member"), tmp_path)
    volume = _json(cli("volume", "create", "--size", "1", "growing", "-f", "json"))
    wait_status(cli, volume["id"], "available")
    cli("volume", "set", "--size", "2", "growing")
    shown = wait_status(cli, volume["id"], "available")
    poll(lambda: _json(cli("volume", "show", volume["id"], "-f", "json"))["size"] == 2, DEADLINE, "size 2",
         interval=0.5)
    info = qemu_info(volume_file(server, volume["id"]))
    assert info["virtual-size"] == 2 * 1024**3 and info["format-specific"]["data"]["encrypt"]["format"] == "luks"
    assert shown["status"] == "available"
    cli("volume", "delete", volume["id"])
    wait_gone(cli, volume["id"])


def test_volumes_are_made_from_a_snapshot_and_from_a_volume(server: Server, admin: Admin, tmp_path: Path) -> None:
    """`openstack volume create --snapshot` / `--source`: full copies on the source's host, each under its own
    LUKS key (no backing file), at least the source's size."""
    cli = cli_as(server, admin.account("member"), tmp_path)
    volume = _json(cli("volume", "create", "--size", "1", "origin", "-f", "json"))
    wait_status(cli, volume["id"], "available")
    snap = _json(cli("volume", "snapshot", "create", "--volume", "origin", "s", "-f", "json"))
    wait_snapshot(cli, snap["id"], "available")

    from_snapshot = _json(cli("volume", "create", "--snapshot", "s", "--size", "2", "from-snap", "-f", "json"))
    clone = _json(cli("volume", "create", "--source", "origin", "--size", "1", "clone", "-f", "json"))
    shown = wait_status(cli, from_snapshot["id"], "available")
    assert shown["snapshot_id"] == snap["id"] and shown["size"] == 2
    shown = wait_status(cli, clone["id"], "available")
    assert shown["source_volid"] == volume["id"]
    for made, size in ((from_snapshot, 2), (clone, 1)):
        info = qemu_info(volume_file(server, made["id"]))
        assert info["virtual-size"] == size * 1024**3 and "backing-filename" not in info
        assert info["format-specific"]["data"]["encrypt"]["format"] == "luks"

    for made in (from_snapshot, clone):
        cli("volume", "delete", made["id"])
        wait_gone(cli, made["id"])
    cli("volume", "snapshot", "delete", snap["id"])
    poll(lambda: cli("volume", "snapshot", "show", snap["id"], check=False).returncode != 0,  # type: ignore
         DEADLINE, "snapshot gone", interval=0.5)
    cli("volume", "delete", volume["id"])
    wait_gone(cli, volume["id"])
