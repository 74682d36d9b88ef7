"""Nova's everyday server actions beyond power, through the real `openstack` CLI where it has them: rebuild, lock /
unlock, reset-state, multiple create, disk config, os-server-password and the order of a server's NICs. Every
action is also tried by another project (404, nothing changed) and with bad input (Nova's error, nothing changed).
Fake hypervisor behind the agent."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from andromede.contracts import metadata as signing
from tests.functional.compute.test_server_networks import _network, _ports
from tests.functional.compute.test_servers import _server, _wait_status, image_id  # noqa: F401
from tests.functional.image import corpus
from tests.security.test_permanent_failures import fake_hypervisor_fails
from tests.support.accounts import Admin, auth_headers, cli_as
from tests.support.polling import poll
from tests.support.server import Server

V21 = "/compute/v2.1"


@pytest.fixture(scope="module")
def other_image(server: Server, admin: Admin, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = corpus.small_qcow2(tmp_path_factory.mktemp("img2") / "other.qcow2", "64M")
    return admin.public_image(path, "rebuilt")


def _action(http: httpx.Client, token: str, server_id: str, body: dict) -> httpx.Response:
    return http.post(f"{V21}/servers/{server_id}/action", json=body, headers=auth_headers(token))


def _events(http: httpx.Client, token: str, server_id: str) -> list[str]:
    listed = http.get(f"{V21}/servers/{server_id}/os-instance-actions", headers=auth_headers(token))
    return [action["action"] for action in listed.json()["instanceActions"]]


def _make(run: Callable[..., object], image: str, *extra: str) -> dict:
    name = f"lc-{secrets.token_hex(3)}"
    return json.loads(run("server", "create", "--image", image, "--flavor", "m1.tiny", *extra, "--wait", name,
                          "-f", "json").stdout)  # type: ignore[attr-defined]


def test_rebuild_remakes_the_server_from_another_image(server: Server, admin: Admin, http: httpx.Client,
                                                       image_id: str, other_image: str,  # noqa: F811
                                                       tmp_path: Path) -> None:
    owner, intruder = admin.account(), admin.account()
    run = cli_as(server, owner, tmp_path)
    created = _make(run, image_id)
    sid, token = created["id"], owner.token(server)
    try:
        out = run("server", "rebuild", "--image", other_image, "--name", "reborn", "--property", "role=web",
                  "--wait", sid, "-f", "json").stdout  # type: ignore[attr-defined]
        rebuilt = json.loads(out[out.index("{"):])  # after --wait's "Complete"
        assert rebuilt["id"] == sid
        shown = _wait_status(http, token, sid, "ACTIVE")
        assert shown["image"]["id"] == other_image and shown["name"] == "reborn"
        assert shown["metadata"] == {"role": "web"}
        assert _events(http, token, sid)[0] == "rebuild"
        action = admin.client.get(f"{V21}/servers/{sid}/os-instance-actions").json()["instanceActions"][0]
        events = admin.client.get(f"{V21}/servers/{sid}/os-instance-actions/{action['request_id']}").json()
        assert [(e["event"], e["result"]) for e in events["instanceAction"]["events"]] == [
            ("compute_rebuild_instance", "Success")]

        # A SHUTOFF server is rebuilt and stays SHUTOFF, as Nova leaves it.
        run("server", "stop", sid)
        _wait_status(http, token, sid, "SHUTOFF")
        answer = _action(http, token, sid, {"rebuild": {"imageRef": image_id, "OS-DCF:diskConfig": "AUTO"}})
        assert answer.status_code == 202, answer.text
        doc = answer.json()["server"]
        assert doc["status"] == "REBUILD" and doc["OS-DCF:diskConfig"] == "AUTO" and doc["id"] == sid
        shown = _wait_status(http, token, sid, "SHUTOFF")
        assert shown["image"]["id"] == image_id and shown["OS-DCF:diskConfig"] == "AUTO"

        # While the host has not done it, the server is REBUILD and refuses another rebuild (409).
        with fake_hypervisor_fails(server, operation="rebuild", uuid=sid, message="disk busy") as lift:
            assert _action(http, token, sid, {"rebuild": {"imageRef": other_image}}).status_code == 202
            assert _server(http, token, sid)["status"] == "REBUILD"
            again = _action(http, token, sid, {"rebuild": {"imageRef": other_image}})
            assert again.status_code == 409 and "task_state rebuilding" in again.json()["conflictingRequest"][
                "message"]
            lift()
            _wait_status(http, token, sid, "SHUTOFF")

        before = _server(http, token, sid)
        # Bad input and another project's image: Nova's 400, nothing changed.
        theirs = auth_headers(intruder.token(server))
        private = http.post("/image/v2/images", headers=theirs, json={
            "name": "mine", "disk_format": "qcow2", "container_format": "bare", "visibility": "private"}).json()
        bad = _action(http, token, sid, {"rebuild": {"imageRef": private["id"]}})
        assert bad.status_code == 400 and bad.json()["badRequest"]["message"] == "Cannot find image for rebuild"
        for body in ({"rebuild": {}}, {"rebuild": {"imageRef": image_id, "bogus": 1}},
                     {"rebuild": {"imageRef": image_id, "key_name": "k"}},  # 2.54, not at 2.1
                     {"rebuild": {"imageRef": image_id, "OS-DCF:diskConfig": "SOMETIMES"}}):
            refused = _action(http, token, sid, body)
            assert refused.status_code == 400 and set(refused.json()) == {"badRequest"}, (body, refused.text)
        # Another project: 404, as if there were no such server.
        stolen = _action(http, intruder.token(server), sid, {"rebuild": {"imageRef": image_id}})
        assert stolen.status_code == 404 and set(stolen.json()) == {"itemNotFound"}
        after = _server(http, token, sid)
        assert {k: after[k] for k in ("image", "name", "status", "updated")} == {
            k: before[k] for k in ("image", "name", "status", "updated")}

        # ERROR: Nova rebuilds it and it comes back ACTIVE.
        server.openstack("server", "set", "--auto-approve", "--state", "error", sid, cloud="andromede-admin")
        assert _server(http, token, sid)["status"] == "ERROR"
        assert _action(http, token, sid, {"rebuild": {"imageRef": image_id}}).status_code == 202
        _wait_status(http, token, sid, "ACTIVE")
    finally:
        admin.delete_servers([sid])


def test_a_locked_server_refuses_changes_until_unlocked(server: Server, admin: Admin, http: httpx.Client,
                                                         image_id: str, tmp_path: Path) -> None:  # noqa: F811
    owner, intruder = admin.account(), admin.account()
    run = cli_as(server, owner, tmp_path)
    sid = _make(run, image_id)["id"]
    token = owner.token(server)
    try:
        # Another project can neither lock nor unlock it: 404.
        for action in ("lock", "unlock"):
            stolen = _action(http, intruder.token(server), sid, {action: None})
            assert stolen.status_code == 404 and set(stolen.json()) == {"itemNotFound"}
        assert _events(http, token, sid) == ["create"]

        run("server", "lock", sid)
        assert _events(http, token, sid)[0] == "lock"
        for body in ({"os-stop": None}, {"reboot": {"type": "HARD"}}, {"rebuild": {"imageRef": image_id}}):
            refused = _action(http, token, sid, body)
            assert refused.status_code == 409, refused.text
            assert refused.json() == {"conflictingRequest": {"code": 409, "message": f"Instance {sid} is locked"}}
        deleted = http.delete(f"{V21}/servers/{sid}", headers=auth_headers(token))
        assert deleted.status_code == 409
        metadata = http.post(f"{V21}/servers/{sid}/metadata", json={"metadata": {"a": "b"}},
                             headers=auth_headers(token))
        assert metadata.status_code == 409
        failed = run("server", "stop", sid, check=False)
        assert failed.returncode != 0 and "is locked" in failed.stderr  # type: ignore[attr-defined]
        shown = _server(http, token, sid)
        assert shown["status"] == "ACTIVE" and shown["metadata"] == {}
        # Bad input: Nova's 400 (locked_reason is 2.73), nothing changed.
        bad = _action(http, token, sid, {"lock": {"locked_reason": "maintenance"}})
        assert bad.status_code == 400 and set(bad.json()) == {"badRequest"}
        assert _action(http, token, sid, {"unlock": {"x": 1}}).status_code == 400

        # The cloud admin is not held by the lock; the owner lifts its own lock.
        assert admin.client.post(f"{V21}/servers/{sid}/action", json={"reboot": {"type": "SOFT"}}).status_code == 202
        _wait_status(http, token, sid, "ACTIVE")
        run("server", "unlock", sid)
        run("server", "stop", sid)
        _wait_status(http, token, sid, "SHUTOFF")

        # A lock the cloud admin set: the owner cannot lift it (unlock_override is the admin's).
        server.openstack("server", "lock", sid, cloud="andromede-admin")
        refused = _action(http, token, sid, {"unlock": None})
        assert refused.status_code == 403, refused.text
        assert _action(http, token, sid, {"os-start": None}).status_code == 409
        server.openstack("server", "unlock", sid, cloud="andromede-admin")
        assert _action(http, token, sid, {"os-start": None}).status_code == 202
        assert [a for a in _events(http, token, sid) if a in ("lock", "unlock")] == ["unlock", "lock", "unlock",
                                                                                      "lock"]
    finally:
        admin.delete_servers([sid])


def test_reset_state_is_the_cloud_admins(server: Server, admin: Admin, http: httpx.Client, image_id: str,  # noqa: F811
                                         tmp_path: Path) -> None:
    owner = admin.account()
    run = cli_as(server, owner, tmp_path)
    sid = _make(run, image_id)["id"]
    token = owner.token(server)
    try:
        # The owner, and even an admin of the server's own project, are refused by policy (403).
        failed = run("server", "set", "--auto-approve", "--state", "error", sid, check=False)
        assert failed.returncode != 0  # type: ignore[attr-defined]
        assert _action(http, token, sid, {"os-resetState": {"state": "error"}}).status_code == 403
        project_admin = server.admin_token(project_scoped=True)  # admin of a project, not of the cloud
        assert _action(http, project_admin, sid, {"os-resetState": {"state": "error"}}).status_code == 403
        assert _server(http, token, sid)["status"] == "ACTIVE"
        # Bad input: 400, nothing changed.
        for body in ({"os-resetState": {"state": "stopped"}}, {"os-resetState": {}}, {"os-resetState": None}):
            refused = admin.client.post(f"{V21}/servers/{sid}/action", json=body)
            assert refused.status_code == 400 and set(refused.json()) == {"badRequest"}, refused.text
        assert _server(http, token, sid)["status"] == "ACTIVE"

        server.openstack("server", "set", "--auto-approve", "--state", "error", sid, cloud="andromede-admin")
        shown = _server(http, token, sid)
        assert (shown["status"], shown["OS-EXT-STS:task_state"]) == ("ERROR", None)
        assert _events(http, token, sid)[0] == "resetState"
        server.openstack("server", "set", "--auto-approve", "--state", "active", sid, cloud="andromede-admin")
        assert _server(http, token, sid)["status"] == "ACTIVE"
        missing = admin.client.post(f"{V21}/servers/{'0' * 8}-0000-0000-0000-{'0' * 12}/action",
                                    json={"os-resetState": {"state": "error"}})
        assert missing.status_code == 404
    finally:
        admin.delete_servers([sid])


def test_multiple_create_names_and_reservation(server: Server, admin: Admin, http: httpx.Client,
                                               image_id: str, tmp_path: Path) -> None:  # noqa: F811
    owner, intruder = admin.account(), admin.account()
    run = cli_as(server, owner, tmp_path)
    token = owner.token(server)
    name = f"many-{secrets.token_hex(3)}"
    run("server", "create", "--image", image_id, "--flavor", "m1.tiny", "--min", "2", "--max", "3",
        "--wait", name)
    mine = http.get(f"{V21}/servers/detail", headers=auth_headers(token)).json()["servers"]
    made = [s for s in mine if s["name"].startswith(name)]
    try:
        assert sorted(s["name"] for s in made) == [f"{name}-1", f"{name}-2", f"{name}-3"]
        body = {"server": {"name": "r", "imageRef": image_id, "flavorRef": "1", "min_count": 2, "max_count": 2,
                           "return_reservation_id": True}}
        reserved = http.post(f"{V21}/servers", json=body, headers=auth_headers(token))
        assert reserved.status_code == 202 and set(reserved.json()) == {"reservation_id"}, reserved.text
        rid = reserved.json()["reservation_id"]
        listed = http.get(f"{V21}/servers", params={"reservation_id": rid}, headers=auth_headers(token))
        ids = [s["id"] for s in listed.json()["servers"]]
        made += [{"id": i} for i in ids]
        assert len(ids) == 2
        assert sorted(s["name"] for s in http.get(f"{V21}/servers/detail", params={"reservation_id": rid},
                                                  headers=auth_headers(token)).json()["servers"]) == ["r-1", "r-2"]
        # Another project's filter finds nothing of ours.
        assert http.get(f"{V21}/servers", params={"reservation_id": rid},
                        headers=auth_headers(intruder.token(server))).json()["servers"] == []

        # The quota (10 servers) leaves 5: asking for at least 6 is refused and nothing is made; 3 to 9 makes 5.
        before = len(http.get(f"{V21}/servers", headers=auth_headers(token)).json()["servers"])
        too_many = http.post(f"{V21}/servers", headers=auth_headers(token), json={"server": {
            "name": "q", "imageRef": image_id, "flavorRef": "1", "min_count": 6, "max_count": 9}})
        assert too_many.status_code == 403 and "Quota exceeded for instances" in too_many.text
        assert len(http.get(f"{V21}/servers", headers=auth_headers(token)).json()["servers"]) == before
        bad = http.post(f"{V21}/servers", headers=auth_headers(token), json={"server": {
            "name": "q", "imageRef": image_id, "flavorRef": "1", "min_count": 3, "max_count": 2}})
        assert bad.status_code == 400
        fewer = http.post(f"{V21}/servers", headers=auth_headers(token), json={"server": {
            "name": "q", "imageRef": image_id, "flavorRef": "1", "min_count": 3, "max_count": 9,
            "return_reservation_id": True}})
        assert fewer.status_code == 202, fewer.text
        got = http.get(f"{V21}/servers", params={"reservation_id": fewer.json()["reservation_id"]},
                       headers=auth_headers(token)).json()["servers"]
        made += got
        assert sorted(s["name"] for s in got) == [f"q-{i}" for i in range(1, 6)]
    finally:
        admin.delete_servers([s["id"] for s in made])


def test_disk_config_is_kept_and_shown(server: Server, admin: Admin, http: httpx.Client,
                                       image_id: str) -> None:  # noqa: F811
    owner = admin.account()
    token = owner.token(server)
    made = http.post(f"{V21}/servers", headers=auth_headers(token), json={"server": {
        "name": "dcf", "imageRef": image_id, "flavorRef": "1", "OS-DCF:diskConfig": "AUTO"}})
    assert made.status_code == 202 and made.json()["server"]["OS-DCF:diskConfig"] == "AUTO"
    sid = made.json()["server"]["id"]
    try:
        assert _server(http, token, sid)["OS-DCF:diskConfig"] == "AUTO"
        updated = http.put(f"{V21}/servers/{sid}", headers=auth_headers(token),
                           json={"server": {"OS-DCF:diskConfig": "MANUAL"}})
        assert updated.status_code == 200 and updated.json()["server"]["OS-DCF:diskConfig"] == "MANUAL"
        bad = http.put(f"{V21}/servers/{sid}", headers=auth_headers(token),
                       json={"server": {"OS-DCF:diskConfig": "auto"}})
        assert bad.status_code == 400
        assert _server(http, token, sid)["OS-DCF:diskConfig"] == "MANUAL"
        stolen = http.put(f"{V21}/servers/{sid}", headers=auth_headers(admin.account().token(server)),
                          json={"server": {"OS-DCF:diskConfig": "AUTO"}})
        assert stolen.status_code == 404
        assert _server(http, token, sid)["OS-DCF:diskConfig"] == "MANUAL"
    finally:
        admin.delete_servers([sid])


def test_the_password_the_guest_posts(server: Server, admin: Admin, http: httpx.Client,
                                      image_id: str) -> None:  # noqa: F811
    owner, intruder = admin.account(), admin.account()
    token = owner.token(server)
    made = http.post(f"{V21}/servers", headers=auth_headers(token), json={"server": {
        "name": "pw", "imageRef": image_id, "flavorRef": "1", "networks": "none"}})
    sid = made.json()["server"]["id"]
    secret = (server.data_dir / signing.SECRET_FILE).read_bytes()
    guest = {"X-Instance-ID": sid, "X-Tenant-ID": owner.project_id,
             "X-Instance-ID-Signature": signing.sign(secret, sid)}
    path = f"{V21}/servers/{sid}/os-server-password"
    try:
        assert http.get(path, headers=auth_headers(token)).json() == {"password": ""}
        too_long = http.post("/metadata/openstack/latest/password", headers=guest, content=b"x" * 1021)
        assert too_long.status_code == 400
        posted = http.post("/metadata/openstack/latest/password", headers=guest, content=b"ZW5jcnlwdGVk")
        assert posted.status_code == 200, posted.text
        assert http.post("/metadata/openstack/latest/password", headers=guest, content=b"other").status_code == 409
        assert http.get("/metadata/openstack/latest/password", headers=guest).text == "ZW5jcnlwdGVk"
        assert http.post("/metadata/openstack/latest/meta_data.json", headers=guest).status_code == 405
        forged = {**guest, "X-Instance-ID-Signature": "00" * 32}
        assert http.post("/metadata/openstack/latest/password", headers=forged, content=b"x").status_code == 403

        assert http.get(path, headers=auth_headers(token)).json() == {"password": "ZW5jcnlwdGVk"}
        # Another project: 404, and the password stays.
        theirs = auth_headers(intruder.token(server))
        assert http.get(path, headers=theirs).status_code == 404
        assert http.delete(path, headers=theirs).status_code == 404
        assert http.get(path, headers=auth_headers(token)).json() == {"password": "ZW5jcnlwdGVk"}

        assert http.delete(path, headers=auth_headers(token)).status_code == 204
        assert http.get(path, headers=auth_headers(token)).json() == {"password": ""}
        # Cleared: the guest may post a new one.
        assert http.post("/metadata/openstack/latest/password", headers=guest, content=b"bmV3").status_code == 200
    finally:
        admin.delete_servers([sid])


def test_nics_keep_the_order_asked(server: Server, admin: Admin, http: httpx.Client, image_id: str,  # noqa: F811
                                   tmp_path: Path) -> None:
    owner = admin.account()
    token = owner.token(server)
    # Made in the opposite order to the one asked, with names that sort the other way too.
    second, _ = _network(http, token, "10.41.0.0/24")
    first, _ = _network(http, token, "10.42.0.0/24")
    http.put(f"/network/v2.0/networks/{first['id']}", headers=auth_headers(token),
             json={"network": {"name": f"z-{first['name']}"}})
    http.put(f"/network/v2.0/networks/{second['id']}", headers=auth_headers(token),
             json={"network": {"name": f"a-{second['name']}"}})
    run = cli_as(server, owner, tmp_path)
    made = _make(run, image_id, "--nic", f"net-id={first['id']}", "--nic", f"net-id={second['id']}",
                 "--config-drive", "True")
    sid = made["id"]
    try:
        shown = _wait_status(http, token, sid, "ACTIVE")
        assert list(shown["addresses"]) == [f"z-{first['name']}", f"a-{second['name']}"]
        interfaces = http.get(f"{V21}/servers/{sid}/os-interface", headers=auth_headers(token)).json()
        assert [i["net_id"] for i in interfaces["interfaceAttachments"]] == [first["id"], second["id"]]
        ports = {p["id"]: p["network_id"] for p in _ports(http, token, device_id=sid)}
        secret = (server.data_dir / signing.SECRET_FILE).read_bytes()
        guest = {"X-Instance-ID": sid, "X-Tenant-ID": owner.project_id,
                 "X-Instance-ID-Signature": signing.sign(secret, sid)}
        network_data = http.get("/metadata/openstack/latest/network_data.json", headers=guest).json()
        assert [n["network_id"] for n in network_data["networks"]] == [first["id"], second["id"]]
        assert [ports[link["vif_id"]] for link in network_data["links"]] == [first["id"], second["id"]]
        cli_order = json.loads(run("port", "list", "--server", sid, "-f", "json").stdout)  # type: ignore[attr-defined]
        assert {p["ID"] for p in cli_order} == set(ports)
        poll(lambda: all(p["status"] == "ACTIVE" for p in _ports(http, token, device_id=sid)), what="ports up")
    finally:
        admin.delete_servers([sid])


def test_hypervisor_uptime(server: Server, admin: Admin, http: httpx.Client) -> None:
    poll(lambda: admin.client.get(f"{V21}/os-hypervisors/1/uptime").json()["hypervisor"]["uptime"] is not None,
         what="an uptime heartbeat")
    doc = admin.client.get(f"{V21}/os-hypervisors/1/uptime").json()["hypervisor"]
    assert set(doc) == {"id", "hypervisor_hostname", "state", "status", "uptime"} and doc["id"] == 1
    assert " up " in doc["uptime"] and "load average: " in doc["uptime"]
    name = doc["hypervisor_hostname"]
    # OSC and openstacksdk negotiate 2.88, where the hypervisor's own document carries the uptime line
    shown = json.loads(server.openstack("hypervisor", "show", name, "-f", "json", cloud="andromede-admin").stdout)
    assert shown["uptime"] and shown["load_average"] and shown["aggregates"] == []  # OSC parses the uptime line
    assert json.loads(server.openstack("aggregate", "list", "-f", "json", cloud="andromede-admin").stdout) == []
    sdk = server.sdk(cloud="andromede-admin").compute
    found = sdk.find_hypervisor(name, ignore_missing=False)
    assert " up " in sdk.get_hypervisor(found.id).uptime
    at_288 = {"OpenStack-API-Version": "compute 2.88"}
    assert " up " in admin.client.get(f"{V21}/os-hypervisors/{found.id}", headers=at_288).json()["hypervisor"]["uptime"]
    assert admin.client.get(f"{V21}/os-hypervisors/{found.id}/uptime", headers=at_288).status_code == 404
    at_253 = {"OpenStack-API-Version": "compute 2.53"}
    assert admin.client.get(f"{V21}/os-hypervisors/{found.id}/uptime", headers=at_253).json()["hypervisor"]["uptime"]
    assert admin.client.get(f"{V21}/os-hypervisors/99/uptime").status_code == 404
    assert admin.client.get(f"{V21}/os-hypervisors/x/uptime").status_code == 404
    member = admin.account()
    assert http.get(f"{V21}/os-hypervisors/1/uptime",
                    headers=auth_headers(member.token(server))).status_code == 403
