"""Volumes on servers through the real CLI (`openstack server add volume`, `server volume list`, `server remove
volume`), with the fake hypervisor and the real volume files: the host's agent plugs the volume and reports, the
volume goes attaching → in-use and back to available, both APIs show it, and bad requests get Nova's answers and
change nothing. A server deleted with a volume gives it back (or deletes it, when asked); a failed attach leaves the
volume available with the fault on the server's attach_volume event."""

from __future__ import annotations

import json
import os
import secrets
import signal
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.functional.compute.test_servers import image_id  # noqa: F401
from tests.functional.image import corpus
from tests.security.test_permanent_failures import fake_hypervisor_fails
from tests.support.accounts import Account, Admin, auth_headers, cli_as
from tests.support.polling import poll
from tests.support.server import Server

DEADLINE = 120.0
COMPUTE = "/compute/v2.1"
Cli = Callable[..., object]


def _json(result: object) -> dict | list:
    return json.loads(result.stdout)  # type: ignore[attr-defined]


def volume_status(cli: Cli, volume_id: str, wanted: str) -> dict:
    shown: dict = {}

    def reached() -> bool:
        nonlocal shown
        found = _json(cli("volume", "show", volume_id, "-f", "json"))
        assert isinstance(found, dict)
        shown = found
        return shown["status"] == wanted

    poll(reached, DEADLINE, f"volume {volume_id} {wanted}", interval=0.5)
    return shown


def new_volume(cli: Cli, name: str) -> str:
    made = _json(cli("volume", "create", "--size", "1", name, "-f", "json"))
    assert isinstance(made, dict)
    volume_status(cli, made["id"], "available")
    return str(made["id"])


def new_server(cli: Cli, image: str, name: str) -> str:
    made = _json(cli("server", "create", "--nic", "none", "--image", image, "--flavor", "m1.tiny", "--wait", name,
                     "-f", "json"))
    assert isinstance(made, dict) and made["status"] == "ACTIVE", made
    return str(made["id"])


def headers_of(server: Server, account: Account, version: str = "2.90") -> dict[str, str]:
    return {**auth_headers(account.token(server)), "OpenStack-API-Version": f"compute {version}"}


def test_a_volume_goes_onto_a_server_and_off_again_through_the_cli(
        server: Server, admin: Admin, http: httpx.Client, image_id: str, tmp_path: Path) -> None:  # noqa: F811
    member = admin.account("member")
    cli = cli_as(server, member, tmp_path)
    name = f"vol-{secrets.token_hex(3)}"
    server_id = new_server(cli, image_id, name)
    volume_id = new_volume(cli, name)

    cli("server", "add", "volume", name, volume_id)
    shown = volume_status(cli, volume_id, "in-use")
    [attachment] = shown["attachments"]
    assert attachment["server_id"] == server_id and attachment["device"] == "/dev/vdb"
    assert attachment["volume_id"] == volume_id and attachment["attached_at"]
    listed = _json(cli("server", "volume", "list", name, "-f", "json"))
    assert [(a["Volume ID"], a["Device"]) for a in listed] == [(volume_id, "/dev/vdb")]  # type: ignore[index]
    on_server = _json(cli("server", "show", name, "-f", "json"))
    assert isinstance(on_server, dict)
    assert [v["id"] for v in on_server["volumes_attached"]] == [volume_id]

    # In use: not deletable, not transferable, not attachable again (Cinder's and Nova's 400s).
    assert cli("volume", "delete", volume_id, check=False).returncode != 0  # type: ignore[attr-defined]
    offer = cli("volume", "transfer", "request", "create", volume_id, check=False)
    assert offer.returncode != 0  # type: ignore[attr-defined]
    headers = headers_of(server, member)
    again = http.post(f"{COMPUTE}/servers/{server_id}/os-volume_attachments", headers=headers,
                      json={"volumeAttachment": {"volumeId": volume_id}})
    assert again.status_code == 400 and "badRequest" in again.json(), again.text
    assert volume_status(cli, volume_id, "in-use")["attachments"] == [attachment]

    # Nova's shapes: 2.89 lists attachment_id and bdm_uuid without id; 2.79 delete_on_termination; 2.70 tag.
    at_289 = http.get(f"{COMPUTE}/servers/{server_id}/os-volume_attachments", headers=headers).json()
    [entry] = at_289["volumeAttachments"]
    assert set(entry) == {"device", "serverId", "volumeId", "tag", "delete_on_termination", "attachment_id",
                          "bdm_uuid"}
    assert entry["attachment_id"] == attachment["attachment_id"]
    one = http.get(f"{COMPUTE}/servers/{server_id}/os-volume_attachments/{volume_id}",
                   headers=headers_of(server, member, "2.1")).json()
    assert one == {"volumeAttachment": {"device": "/dev/vdb", "id": volume_id, "serverId": server_id,
                                        "volumeId": volume_id}}

    cli("server", "remove", "volume", name, volume_id)
    shown = volume_status(cli, volume_id, "available")
    assert shown["attachments"] == []
    assert _json(cli("server", "volume", "list", name, "-f", "json")) == []
    events = _json(cli("server", "event", "list", name, "-f", "json"))
    assert [e["Action"] for e in events][:2] == ["detach_volume", "attach_volume"]  # type: ignore[index]

    # Nothing attached any more: detaching again is Nova's 404.
    gone = http.delete(f"{COMPUTE}/servers/{server_id}/os-volume_attachments/{volume_id}", headers=headers)
    assert gone.status_code == 404 and gone.json() == {
        "itemNotFound": {"code": 404, "message": f"Instance {server_id} is not attached to volume {volume_id}"}}
    cli("volume", "delete", volume_id)
    cli("server", "delete", "--wait", name)


def test_bad_attach_requests_get_novas_answers_and_change_nothing(
        server: Server, admin: Admin, http: httpx.Client, image_id: str, tmp_path: Path) -> None:  # noqa: F811
    member = admin.account("member")
    cli = cli_as(server, member, tmp_path)
    name = f"bad-{secrets.token_hex(3)}"
    server_id = new_server(cli, image_id, name)
    volume_id = new_volume(cli, name)
    headers = headers_of(server, member)
    url = f"{COMPUTE}/servers/{server_id}/os-volume_attachments"
    unknown = "0" * 32
    cases = [
        ({"volumeAttachment": {"volumeId": unknown}}, 404,
         {"itemNotFound": {"code": 404, "message": f"Volume {unknown} could not be found."}}),
        ({"volumeAttachment": {}}, 400, None),
        ({"volumeAttachment": {"volumeId": volume_id, "device": "vdb"}}, 400, None),
        ({"volumeAttachment": {"volumeId": volume_id, "delete_on_termination": "yes"}}, 400, None),
        ({"volumeAttachment": {"volumeId": volume_id, "bogus": 1}}, 400, None),
        ({"nothing": 1}, 400, None),
    ]
    for body, status, answer in cases:
        response = http.post(url, headers=headers, json=body)
        assert response.status_code == status, (body, response.text)
        if answer is not None:
            assert response.json() == answer
        else:
            assert set(response.json()) == {"badRequest"}
    swap = http.put(f"{url}/{volume_id}", headers=headers, json={"volumeAttachment": {"volumeId": volume_id}})
    assert swap.status_code == 404  # not attached
    assert http.get(url, headers=headers).json() == {"volumeAttachments": []}
    assert volume_status(cli, volume_id, "available")["attachments"] == []
    cli("volume", "delete", volume_id)
    cli("server", "delete", "--wait", name)


def test_a_failed_attach_leaves_the_volume_available_with_the_fault(
        server: Server, admin: Admin, http: httpx.Client, image_id: str, tmp_path: Path) -> None:  # noqa: F811
    member = admin.account("member")
    cli = cli_as(server, member, tmp_path)
    name = f"fail-{secrets.token_hex(3)}"
    server_id = new_server(cli, image_id, name)
    volume_id = new_volume(cli, name)
    with fake_hypervisor_fails(server, operation="attach_volume", uuid=server_id, message="no room on the bus"):
        cli("server", "add", "volume", name, volume_id)
        volume_status(cli, volume_id, "available")
    assert _json(cli("server", "volume", "list", name, "-f", "json")) == []
    at_290 = {"OpenStack-API-Version": "compute 2.90"}  # the cloud admin sees the event's traceback
    actions = admin.client.get(f"{COMPUTE}/servers/{server_id}/os-instance-actions", headers=at_290).json()
    attach = next(a for a in actions["instanceActions"] if a["action"] == "attach_volume")
    detail = admin.client.get(f"{COMPUTE}/servers/{server_id}/os-instance-actions/{attach['request_id']}",
                              headers=at_290).json()["instanceAction"]
    assert detail["message"] == "Error"
    [event] = detail["events"]
    assert event["event"] == "compute_attach_volume" and event["result"] == "Error"
    assert "no room on the bus" in (event.get("traceback") or ""), event
    server_view = _json(cli("server", "show", name, "-f", "json"))
    assert isinstance(server_view, dict) and server_view["status"] == "ACTIVE"
    # Once the host can, the same volume attaches.
    cli("server", "add", "volume", name, volume_id)
    volume_status(cli, volume_id, "in-use")
    cli("server", "delete", "--wait", name)
    volume_status(cli, volume_id, "available")
    cli("volume", "delete", volume_id)


def test_deleting_a_server_gives_its_volumes_back_or_deletes_those_asked(
        server: Server, admin: Admin, http: httpx.Client, image_id: str, tmp_path: Path) -> None:  # noqa: F811
    member = admin.account("member")
    cli = cli_as(server, member, tmp_path)
    name = f"del-{secrets.token_hex(3)}"
    server_id = new_server(cli, image_id, name)
    kept, dropped = new_volume(cli, f"{name}-kept"), new_volume(cli, f"{name}-dropped")
    headers = headers_of(server, member, "2.79")
    url = f"{COMPUTE}/servers/{server_id}/os-volume_attachments"
    first = http.post(url, headers=headers, json={"volumeAttachment": {"volumeId": kept, "tag": "data"}})
    assert first.status_code == 200, first.text
    assert first.json()["volumeAttachment"] == {"device": "/dev/vdb", "id": kept, "serverId": server_id,
                                                "volumeId": kept, "tag": "data", "delete_on_termination": False}
    second = http.post(url, headers=headers, json={"volumeAttachment": {"volumeId": dropped,
                                                                        "delete_on_termination": True}})
    assert second.status_code == 200 and second.json()["volumeAttachment"]["device"] == "/dev/vdc", second.text
    volume_status(cli, kept, "in-use")
    volume_status(cli, dropped, "in-use")
    shown = http.get(f"{COMPUTE}/servers/{server_id}", headers=headers).json()["server"]
    assert shown["os-extended-volumes:volumes_attached"] == [
        {"id": kept, "delete_on_termination": False}, {"id": dropped, "delete_on_termination": True}]

    cli("server", "delete", "--wait", name)
    assert volume_status(cli, kept, "available")["attachments"] == []
    poll(lambda: cli("volume", "show", dropped, check=False).returncode != 0,  # type: ignore[attr-defined]
         DEADLINE, f"volume {dropped} deleted with its server", interval=0.5)
    cli("volume", "delete", kept)


def test_an_attach_survives_kill_9_of_the_agent_and_the_api(fresh_server: Server, tmp_path: Path) -> None:
    """Asked while the host's agent is dead, and the API killed too: once both are back the volume ends in-use,
    plugged once; a second kill -9 of the agent while it is attached changes nothing."""
    server = fresh_server
    admin = Admin(server)
    try:
        cli = cli_as(server, admin.account("member"), tmp_path)
        name = f"crash-{secrets.token_hex(3)}"
        image = admin.public_image(corpus.small_qcow2(tmp_path / "base.qcow2", "64M"), "base")
        server_id = new_server(cli, image, name)
        volume_id = new_volume(cli, name)
        server.stop_agent(signal.SIGKILL)
        cli("server", "add", "volume", name, volume_id)
        assert _json(cli("volume", "show", volume_id, "-f", "json"))["status"] == "attaching"  # type: ignore[index]
        assert server.process is not None
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=30)
        server.process = None
        server.start()
        volume_status(cli, volume_id, "in-use")

        server.stop_agent(signal.SIGKILL)
        assert server.process is not None
        os.killpg(server.process.pid, signal.SIGTERM)
        server.process.wait(timeout=30)
        server.process = None
        server.start()
        assert volume_status(cli, volume_id, "in-use")["attachments"][0]["server_id"] == server_id
        listed = _json(cli("server", "volume", "list", name, "-f", "json"))
        assert [a["Volume ID"] for a in listed] == [volume_id]  # type: ignore[index]
        state = json.loads((server.data_dir / "fake-instances" / f"{server_id}.json").read_text())
        assert list(state["volumes"]) == [str(uuid.UUID(hex=volume_id))]
        assert "could not be attached" not in (server.data_dir / "logs" / "agent.log").read_text()
    finally:
        admin.client.close()
