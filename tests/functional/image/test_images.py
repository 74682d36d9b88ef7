"""Glance v2 through the real openstack CLI and openstacksdk: upload, download, metadata, sharing, safety."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

import httpx
import pytest
import yaml

from tests.functional.image import corpus
from tests.support.accounts import Admin, auth_headers
from tests.support.server import Server


@pytest.fixture()
def qcow2(tmp_path: Path) -> Path:
    return corpus.small_qcow2(tmp_path / "disk.qcow2")


def _create(http: httpx.Client, token: str, **fields: object) -> dict:
    body = {"name": f"img-{secrets.token_hex(3)}", "disk_format": "qcow2", "container_format": "bare", **fields}
    response = http.post("/image/v2/images", json=body, headers=auth_headers(token))
    assert response.status_code == 201, response.text
    return response.json()


def _upload(http: httpx.Client, token: str, image_id: str, data: bytes) -> httpx.Response:
    return http.put(f"/image/v2/images/{image_id}/file", content=data,
                    headers={**auth_headers(token), "Content-Type": "application/octet-stream"})


def test_cli_create_show_download_set_delete(server: Server, qcow2: Path, tmp_path: Path) -> None:
    name = f"cli-{secrets.token_hex(3)}"
    created = server.openstack("image", "create", "--disk-format", "qcow2", "--file", str(qcow2), "--property",
                               "os_distro=tiny", "--min-disk", "1", name, "-f", "yaml")
    image = yaml.safe_load(created.stdout)
    data = qcow2.read_bytes()
    assert image["status"] == "active"
    assert image["checksum"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert image["properties"]["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert image["size"] == len(data) and image["virtual_size"] == 16 * 1024 * 1024
    assert image["properties"]["os_distro"] == "tiny"

    listed = server.openstack_json("image", "list")
    assert name in {row["Name"] for row in listed}
    saved = tmp_path / "saved.qcow2"
    server.openstack("image", "save", "--file", str(saved), name)
    assert saved.read_bytes() == data

    server.openstack("image", "set", "--property", "colour=blue", "--name", f"{name}-2", name)
    shown = server.openstack_json("image", "show", f"{name}-2")
    assert shown["properties"]["colour"] == "blue"
    server.openstack("image", "delete", f"{name}-2")
    assert server.openstack("image", "show", f"{name}-2", check=False).returncode != 0


def test_sdk_download_is_verified_against_the_hashes(server: Server, qcow2: Path, tmp_path: Path) -> None:
    conn = server.sdk()
    image = conn.image.create_image(name=f"sdk-{secrets.token_hex(3)}", filename=str(qcow2), disk_format="qcow2",
                                    container_format="bare", wait=True)
    out = tmp_path / "out"
    conn.image.download_image(image, output=str(out))
    assert out.read_bytes() == qcow2.read_bytes()
    conn.image.delete_image(image)


def test_private_images_are_404_to_other_projects(server: Server, admin: Admin, http: httpx.Client,
                                                   qcow2: Path) -> None:
    alice, bob = admin.account(), admin.account()
    a, b = alice.token(server), bob.token(server)
    image = _create(http, a, visibility="private")
    assert _upload(http, a, image["id"], qcow2.read_bytes()).status_code == 204
    for method, suffix in (("GET", ""), ("GET", "/file"), ("DELETE", ""), ("PUT", "/file")):
        response = http.request(method, f"/image/v2/images/{image['id']}{suffix}", headers=auth_headers(b))
        assert response.status_code == 404, (method, suffix)
        assert "message" in response.json()
    patch = http.patch(f"/image/v2/images/{image['id']}", json=[{"op": "replace", "path": "/name", "value": "x"}],
                       headers={**auth_headers(b), "Content-Type": "application/openstack-images-v2.1-json-patch"})
    assert patch.status_code == 404
    assert image["id"] not in {i["id"] for i in http.get("/image/v2/images", headers=auth_headers(b)).json()["images"]}
    assert http.get(f"/image/v2/images/{image['id']}", headers=auth_headers(a)).json()["name"] == image["name"]


def test_sharing_with_members(server: Server, admin: Admin, http: httpx.Client) -> None:
    alice, bob = admin.account(), admin.account()
    a, b = alice.token(server), bob.token(server)
    image = _create(http, a, visibility="shared")
    added = http.post(f"/image/v2/images/{image['id']}/members", json={"member": bob.project_id},
                      headers=auth_headers(a))
    assert added.status_code == 200 and added.json()["status"] == "pending"
    assert http.get(f"/image/v2/images/{image['id']}", headers=auth_headers(b)).status_code == 200
    listed = {i["id"] for i in http.get("/image/v2/images", headers=auth_headers(b)).json()["images"]}
    assert image["id"] not in listed  # not until accepted
    accepted = http.put(f"/image/v2/images/{image['id']}/members/{bob.project_id}", json={"status": "accepted"},
                        headers=auth_headers(b))
    assert accepted.status_code == 200
    listed = {i["id"] for i in http.get("/image/v2/images", headers=auth_headers(b)).json()["images"]}
    assert image["id"] in listed
    # Bob sees the image but may not change it.
    assert http.delete(f"/image/v2/images/{image['id']}", headers=auth_headers(b)).status_code == 403


def test_public_needs_admin_and_reader_cannot_create(server: Server, admin: Admin, http: httpx.Client) -> None:
    member = admin.account()
    response = http.post("/image/v2/images", json={"name": "pub", "visibility": "public"},
                         headers=auth_headers(member.token(server)))
    assert response.status_code == 403
    reader = admin.account("reader")
    response = http.post("/image/v2/images", json={"name": "r"}, headers=auth_headers(reader.token(server)))
    assert response.status_code == 403
    public = _create(http, admin.client.headers["X-Auth-Token"], visibility="public")
    assert http.get(f"/image/v2/images/{public['id']}", headers=auth_headers(member.token(server))).status_code == 200
    http.delete(f"/image/v2/images/{public['id']}", headers=admin.client.headers)


def test_pagination_follows_next(server: Server, admin: Admin, http: httpx.Client) -> None:
    account = admin.account()
    token = account.token(server)
    made = {_create(http, token)["id"] for _ in range(5)}
    seen: list[str] = []
    url = f"/image/v2/images?limit=2&owner={account.project_id}"  # other tests publish images too
    while url:
        page = http.get("/image" + url if url.startswith("/v2") else url, headers=auth_headers(token)).json()
        assert len(page["images"]) <= 2
        seen += [image["id"] for image in page["images"]]
        url = page.get("next", "")
    assert set(seen) == made and len(seen) == len(made)
    by_name = http.get(f"/image/v2/images?sort=name:asc&owner={account.project_id}",
                       headers=auth_headers(token)).json()["images"]
    names = [image["name"] for image in by_name]
    assert names == sorted(names)


def test_lifecycle_rules(server: Server, admin: Admin, http: httpx.Client, qcow2: Path) -> None:
    token = admin.account().token(server)
    queued = _create(http, token, protected=True)
    assert http.get(f"/image/v2/images/{queued['id']}/file", headers=auth_headers(token)).status_code == 204
    assert _upload(http, token, queued["id"], qcow2.read_bytes()).status_code == 204
    again = _upload(http, token, queued["id"], qcow2.read_bytes())
    assert again.status_code == 409
    assert http.delete(f"/image/v2/images/{queued['id']}", headers=auth_headers(token)).status_code == 403
    patch_headers = {**auth_headers(token), "Content-Type": "application/openstack-images-v2.1-json-patch"}
    readonly = http.patch(f"/image/v2/images/{queued['id']}", headers=patch_headers,
                          json=[{"op": "replace", "path": "/checksum", "value": "0" * 32}])
    assert readonly.status_code == 403
    unprotect = http.patch(f"/image/v2/images/{queued['id']}", headers=patch_headers,
                           json=[{"op": "replace", "path": "/protected", "value": False}])
    assert unprotect.status_code == 200 and unprotect.json()["protected"] is False
    deactivated = http.post(f"/image/v2/images/{queued['id']}/actions/deactivate", headers=auth_headers(token))
    assert deactivated.status_code == 204
    assert http.get(f"/image/v2/images/{queued['id']}/file", headers=auth_headers(token)).status_code == 403
    http.post(f"/image/v2/images/{queued['id']}/actions/reactivate", headers=auth_headers(token))
    assert http.delete(f"/image/v2/images/{queued['id']}", headers=auth_headers(token)).status_code == 204
    assert http.get(f"/image/v2/images/{queued['id']}", headers=auth_headers(token)).status_code == 404


@pytest.mark.parametrize("body", [b"{not json", b'{"disk_format": "floppy"}', b'{"name": 5}', b'{"min_disk": -1}',
                                  b'{"size": 5}', b'{"tags": "x"}', b'{"colour": 7}'])
def test_bad_create_bodies(server: Server, admin: Admin, http: httpx.Client, body: bytes) -> None:
    token = admin.account().token(server)
    before = http.get("/image/v2/images", headers=auth_headers(token)).json()["images"]
    response = http.post("/image/v2/images", content=body,
                         headers={**auth_headers(token), "Content-Type": "application/json"})
    assert response.status_code in (400, 403), response.text
    assert response.json()["message"] and "Traceback" not in response.text
    assert http.get("/image/v2/images", headers=auth_headers(token)).json()["images"] == before


@pytest.mark.parametrize("make,declared", [
    (corpus.backing_file, "qcow2"),
    (corpus.data_file, "qcow2"),
    (corpus.vmdk_flat_extent, "vmdk"),
    (corpus.huge_virtual_size, "qcow2"),
    (lambda tmp: corpus.small_qcow2(tmp / "as-raw.qcow2"), "raw"),
])
def test_malicious_images_are_rejected(server: Server, admin: Admin, http: httpx.Client, tmp_path: Path,
                                       make, declared: str) -> None:  # type: ignore[no-untyped-def]
    token = admin.account().token(server)
    image = _create(http, token, disk_format=declared)
    response = _upload(http, token, image["id"], make(tmp_path).read_bytes())
    assert response.status_code == 400, response.text
    assert "root:" not in response.text and "/etc/passwd" not in response.text
    after = http.get(f"/image/v2/images/{image['id']}", headers=auth_headers(token)).json()
    assert after["status"] == "queued" and after["size"] is None and after["checksum"] is None
    assert not (server.data_dir / "images" / image["id"]).exists()
    assert not list((server.data_dir / "images").glob(".upload-*"))
