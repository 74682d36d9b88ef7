"""Issue 13, item 8: a member filling the controller's disk, flooding image metadata, taking a deleted
image's id, or uploading a VMDK descriptor that names a host file. Each attack is refused with nothing
changed: no image row, no file in the images directory, the project's usage as it was."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.accounts import Account, Admin, auth_headers, cli_as
from tests.support.postgres import fresh_database
from tests.support.server import Server, free_port

COUNT_TOTAL = 3
SIZE_TOTAL = 3 * 1024 * 1024
MEMBER_QUOTA = 4
MiB = 1024 * 1024


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def cloud(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A cloud whose image quotas are small enough to reach with small uploads."""
    postgres = request.param == "postgresql"
    database_url = fresh_database(request.getfixturevalue("postgres_url"), "images") if postgres else ""
    root = tmp_path_factory.mktemp(f"image-quota-{request.param}")
    data_dir = root / "data"
    srv = Server(data_dir=data_dir, port=free_port(), database_url=database_url,
                 env={"ANDROMEDE_IMAGE_COUNT_TOTAL": str(COUNT_TOTAL),
                      "ANDROMEDE_IMAGE_SIZE_TOTAL_BYTES": str(SIZE_TOTAL),
                      "ANDROMEDE_IMAGE_MEMBER_QUOTA": str(MEMBER_QUOTA),
                      "PATH": f"{_qemu_img_recorder(root)}:{os.environ['PATH']}"})
    srv.start()
    yield srv
    srv.stop()


def _qemu_img_recorder(root: Path) -> Path:
    """A `qemu-img` first on the server's PATH that notes each file it is asked to open, then runs the real one."""
    real = shutil.which("qemu-img")
    assert real, "qemu-img is needed"
    bin_dir = root / "bin"
    bin_dir.mkdir()
    script = bin_dir / "qemu-img"
    script.write_text(f'#!/bin/sh\nfor arg; do last="$arg"; done\necho "$last" >> {root / "qemu-img.log"}\n'
                      f'exec {real} "$@"\n')
    script.chmod(0o755)
    return bin_dir


def _qemu_img_opened(cloud: Server) -> list[str]:
    log = cloud.data_dir.parent / "qemu-img.log"
    return log.read_text().splitlines() if log.exists() else []


@pytest.fixture(scope="module")
def cloud_admin(cloud: Server) -> Iterator[Admin]:
    helper = Admin(cloud)
    yield helper
    helper.client.close()


@pytest.fixture()
def member(cloud_admin: Admin) -> Account:
    return cloud_admin.account("member")


@pytest.fixture()
def cli(cloud: Server, member: Account, tmp_path: Path) -> Callable[..., object]:
    return cli_as(cloud, member, tmp_path)


def _images_dir(cloud: Server) -> Path:
    return cloud.data_dir / "images"


def _files(cloud: Server) -> set[str]:
    return {path.name for path in _images_dir(cloud).iterdir()}


def _owned(cloud_admin: Admin, project_id: str) -> list[dict]:
    response = cloud_admin.client.get("/image/v2/images", params={"owner": project_id, "limit": 1000})
    assert response.status_code == 200, response.text
    return response.json()["images"]


def _usage(cloud_admin: Admin, project_id: str) -> tuple[int, int]:
    images = _owned(cloud_admin, project_id)
    return len(images), sum(image["size"] or 0 for image in images)


def _random_file(tmp_path: Path, size: int) -> Path:
    path = tmp_path / f"disk-{secrets.token_hex(3)}.raw"
    path.write_bytes(secrets.token_bytes(size))
    return path


def _nothing_stored(cloud_admin: Admin, project_id: str, name: str) -> None:
    """The CLI (openstacksdk) deletes an image whose upload failed; if one is left it is queued, with no data."""
    for image in _owned(cloud_admin, project_id):
        if image["name"] == name:
            assert image["status"] == "queued" and image["size"] is None and image["checksum"] is None, image


def _refused(result: object, status: int) -> str:
    assert result.returncode != 0, result.stdout  # type: ignore[attr-defined]
    stderr = result.stderr  # type: ignore[attr-defined]
    assert str(status) in stderr and "Traceback" not in stderr, stderr
    return stderr


# ---- quotas ------------------------------------------------------------------------------------

def test_image_count_quota(cloud: Server, cloud_admin: Admin, member: Account, cli,
                           tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    disk = _random_file(tmp_path, 4096)
    for index in range(COUNT_TOTAL):
        cli("image", "create", "--disk-format", "raw", "--file", str(disk), f"img-{index}")
    files = _files(cloud)
    stderr = _refused(cli("image", "create", "--disk-format", "raw", "--file", str(disk), "one-too-many",
                          check=False), 413)
    assert f"image_count_total is over limit of {COUNT_TOTAL}" in stderr
    assert _usage(cloud_admin, member.project_id) == (COUNT_TOTAL, COUNT_TOTAL * 4096)
    assert "one-too-many" not in {image["name"] for image in _owned(cloud_admin, member.project_id)}
    assert _files(cloud) == files
    with cloud.http() as http:  # what the project sees of its quotas (Glance's /v2/info/usage)
        usage = http.get("/image/v2/info/usage", headers=auth_headers(member.token(cloud))).json()["usage"]
    assert usage["image_count_total"] == {"limit": COUNT_TOTAL, "usage": COUNT_TOTAL}
    assert usage["image_size_total"] == {"limit": SIZE_TOTAL // MiB, "usage": 0}
    assert usage["image_count_uploading"]["usage"] == 0


def test_bytes_quota_refuses_an_upload_before_storing_it(cloud: Server, cloud_admin: Admin, member: Account,
                                                        cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("image", "create", "--disk-format", "raw", "--file", str(_random_file(tmp_path, 2 * MiB)), "first")
    assert _qemu_img_opened(cloud), "the recorder sees what qemu-img opens"
    before, files = _usage(cloud_admin, member.project_id), _files(cloud)
    stderr = _refused(cli("image", "create", "--disk-format", "raw", "--file",
                          str(_random_file(tmp_path, 2 * MiB)), "second", check=False), 413)
    assert "storage quota" in stderr
    _nothing_stored(cloud_admin, member.project_id, "second")
    assert _usage(cloud_admin, member.project_id)[1] == before[1]
    assert _files(cloud) == files  # neither the image nor a partial upload


def test_bytes_quota_stops_a_stream_of_unknown_length(cloud: Server, cloud_admin: Admin, member: Account) -> None:
    token = member.token(cloud)
    with cloud.http() as http:
        created = http.post("/image/v2/images", headers=auth_headers(token),
                            json={"name": "stream", "disk_format": "raw", "container_format": "bare"})
        assert created.status_code == 201, created.text
        image_id = created.json()["id"]
        sent = []

        def endless() -> Iterator[bytes]:  # chunked: no Content-Length to refuse it up front
            while sum(sent) < 4 * SIZE_TOTAL:
                sent.append(256 * 1024)
                yield b"\0" * sent[-1]

        try:
            response = http.put(f"/image/v2/images/{image_id}/file", content=endless(),
                                headers={**auth_headers(token), "Content-Type": "application/octet-stream"})
        except httpx.TransportError:  # the server may close the connection once it has answered
            response = None
        if response is not None:
            assert response.status_code == 413, response.text
            assert "storage quota" in response.json()["message"]
        image = http.get(f"/image/v2/images/{image_id}", headers=auth_headers(token)).json()
    assert image["status"] == "queued" and image["size"] is None
    assert not (_images_dir(cloud) / image_id).exists()
    assert not list(_images_dir(cloud).glob(".upload-*"))
    assert _usage(cloud_admin, member.project_id) == (1, 0)


def test_property_flood(cloud: Server, cloud_admin: Admin, member: Account, cli,
                        tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    disk = ("--disk-format", "raw", "--file", str(_random_file(tmp_path, 4096)))
    many = [arg for index in range(129) for arg in ("--property", f"k{index}=v")]
    stderr = _refused(cli("image", "create", *disk, *many, "flood", check=False), 413)
    assert "number of allowed image properties. Attempted: " in stderr and "Maximum: 128" in stderr

    tags = [arg for index in range(129) for arg in ("--tag", f"t{index}")]
    stderr = _refused(cli("image", "create", *disk, *tags, "tagged", check=False), 413)
    assert "number of allowed image tags" in stderr

    big = "x" * 40000
    stderr = _refused(cli("image", "create", *disk, "--property", f"a={big}", "--property", f"b={big}", "heavy",
                          check=False), 413)
    assert "total size of image properties" in stderr
    assert _owned(cloud_admin, member.project_id) == []

    # Growing an image's properties one request at a time meets the same bound, and changes nothing.
    cli("image", "create", *disk, "--property", f"a={big}", "grown")
    before = next(image for image in _owned(cloud_admin, member.project_id) if image["name"] == "grown")
    _refused(cli("image", "set", "--property", f"b={big}", "grown", check=False), 413)
    after = next(image for image in _owned(cloud_admin, member.project_id) if image["name"] == "grown")
    assert after == before


def test_member_flood(cloud: Server, member: Account) -> None:
    token = member.token(cloud)
    with cloud.http() as http:
        image = http.post("/image/v2/images", headers=auth_headers(token),
                          json={"name": "shared", "visibility": "shared"}).json()
        members = f"/image/v2/images/{image['id']}/members"
        for index in range(MEMBER_QUOTA):
            assert http.post(members, json={"member": f"p{index}"}, headers=auth_headers(token)).status_code == 200
        refused = http.post(members, json={"member": "one-more"}, headers=auth_headers(token))
        assert refused.status_code == 413, refused.text
        assert f"Attempted: {MEMBER_QUOTA + 1}, Maximum: {MEMBER_QUOTA}" in refused.json()["message"]
        listed = http.get(members, headers=auth_headers(token)).json()["members"]
    assert sorted(row["member_id"] for row in listed) == [f"p{index}" for index in range(MEMBER_QUOTA)]


# ---- ids are never reused ----------------------------------------------------------------------

def test_a_deleted_image_id_is_never_given_again(cloud: Server, cloud_admin: Admin, member: Account, cli,
                                                 tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    created = cli("image", "create", "--disk-format", "raw", "--file", str(_random_file(tmp_path, 4096)),
                  "--property", "purpose=golden", "-f", "value", "-c", "id", "golden")
    image_id = created.stdout.strip()
    cli("image", "delete", image_id)
    files = _files(cloud)

    thief = cli_as(cloud, cloud_admin.account("member"), tmp_path)
    for attacker in (thief, cli):  # another project, then the same one
        stderr = _refused(attacker("image", "create", "--id", image_id, "--disk-format", "raw", "--file",
                                   str(_random_file(tmp_path, 4096)), "impostor", check=False), 409)
        assert f"Image ID {image_id} already exists!" in stderr
    # Not even a cloud administrator can bring it back.
    response = cloud_admin.client.post("/image/v2/images", json={"id": image_id, "name": "admin-impostor"})
    assert response.status_code == 409, response.text
    assert cloud_admin.client.get(f"/image/v2/images/{image_id}").status_code == 404
    assert _files(cloud) == files and image_id not in files


# ---- VMDK descriptors naming host files --------------------------------------------------------

def _descriptor(tmp_path: Path, extent: str, create_type: str, prologue: str) -> Path:
    path = tmp_path / f"desc-{secrets.token_hex(3)}.vmdk"
    path.write_text(f'{prologue}version=1\nCID=fffffffe\nparentCID=ffffffff\n'
                    f'createType="{create_type}"\nRW 2048 FLAT "{extent}" 0\n')
    return path


# QEMU takes any text whose first line past comments is `version=N` for a descriptor, headed or not.
@pytest.mark.parametrize("prologue", ["# Disk DescriptorFile\n", ""])
@pytest.mark.parametrize("declared", ["vmdk", "raw", "qcow2"])
@pytest.mark.parametrize("extent,create_type", [("/etc/shadow", "monolithicFlat"),
                                                ("../../../../etc/shadow", "twoGbMaxExtentFlat"),
                                                ("../andromede.db", "monolithicFlat")])
def test_vmdk_descriptor_naming_a_host_file(cloud: Server, cloud_admin: Admin, member: Account, cli,
                                            tmp_path: Path, declared: str, extent: str, create_type: str,
                                            prologue: str) -> None:  # type: ignore[no-untyped-def]
    files, opened = _files(cloud), _qemu_img_opened(cloud)
    stderr = _refused(cli("image", "create", "--disk-format", declared, "--file",
                          str(_descriptor(tmp_path, extent, create_type, prologue)), "extent", check=False), 400)
    assert "root:" not in stderr and "shadow" not in stderr
    assert _qemu_img_opened(cloud) == opened  # refused from its bytes: qemu-img never saw it
    _nothing_stored(cloud_admin, member.project_id, "extent")
    assert _usage(cloud_admin, member.project_id)[1] == 0
    assert _files(cloud) == files
