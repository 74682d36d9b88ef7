"""Another project's member against your volume attachments: they cannot attach your volume to their server, nor
detach it from yours (through theirs or yours), nor see it in any attachment list or server view; every attempt is
a 404 that confirms nothing, and your volume stays attached to your server exactly as it was."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx

from tests.functional.compute.test_servers import image_id  # noqa: F401
from tests.functional.compute.test_volume_attachments import new_server, new_volume, volume_status
from tests.support.accounts import Account, Admin, auth_headers, cli_as
from tests.support.server import Server

COMPUTE = "/compute/v2.1"


def _headers(server: Server, account: Account) -> dict[str, str]:
    return {**auth_headers(account.token(server)), "OpenStack-API-Version": "compute 2.90"}


def test_another_project_can_neither_attach_detach_nor_see_your_volume(
        server: Server, admin: Admin, http: httpx.Client, image_id: str, tmp_path: Path) -> None:  # noqa: F811
    owner, intruder = admin.account("member"), admin.account("member")
    mine, theirs = cli_as(server, owner, tmp_path), cli_as(server, intruder, tmp_path)
    name = f"sec-{secrets.token_hex(3)}"
    my_server, their_server = new_server(mine, image_id, f"{name}-mine"), new_server(theirs, image_id, f"{name}-theirs")
    volume_id, spare_id = new_volume(mine, f"{name}-data"), new_volume(mine, f"{name}-spare")
    their_volume = new_volume(theirs, f"{name}-their-data")
    mine("server", "add", "volume", my_server, volume_id)
    attached = volume_status(mine, volume_id, "in-use")
    own_h, their_h = _headers(server, owner), _headers(server, intruder)
    my_list = f"{COMPUTE}/servers/{my_server}/os-volume_attachments"
    their_list = f"{COMPUTE}/servers/{their_server}/os-volume_attachments"
    before = http.get(my_list, headers=own_h).json()

    # Through the CLI: the client finds no such volume, or no such server, and asks nothing more.
    for args in (("server", "add", "volume", their_server, spare_id),
                 ("server", "add", "volume", my_server, their_volume),
                 ("server", "remove", "volume", my_server, volume_id),
                 ("server", "volume", "list", my_server)):
        assert theirs(*args, check=False).returncode != 0, args  # type: ignore[attr-defined]

    not_found = {"itemNotFound": {"code": 404, "message": f"Volume {spare_id} could not be found."}}
    attack = http.post(their_list, headers=their_h, json={"volumeAttachment": {"volumeId": spare_id}})
    assert attack.status_code == 404 and attack.json() == not_found
    attack = http.post(their_list, headers=their_h, json={"volumeAttachment": {"volumeId": volume_id}})
    assert attack.status_code == 404 and attack.json()["itemNotFound"]["message"] == (
        f"Volume {volume_id} could not be found.")
    # The owner cannot take theirs either.
    attack = http.post(my_list, headers=own_h, json={"volumeAttachment": {"volumeId": their_volume}})
    assert attack.status_code == 404
    server_gone = {"itemNotFound": {"code": 404, "message": f"Instance {my_server} could not be found."}}
    for method, path, body in (
            ("GET", my_list, None), ("GET", f"{my_list}/{volume_id}", None),
            ("POST", my_list, {"volumeAttachment": {"volumeId": their_volume}}),
            ("PUT", f"{my_list}/{volume_id}", {"volumeAttachment": {"volumeId": volume_id,
                                                                    "delete_on_termination": True}}),
            ("DELETE", f"{my_list}/{volume_id}", None)):
        answer = http.request(method, path, headers=their_h, json=body)
        assert answer.status_code == 404 and answer.json() == server_gone, (method, path, answer.text)
    via_theirs = http.delete(f"{their_list}/{volume_id}", headers=their_h)
    assert via_theirs.status_code == 404
    assert via_theirs.json()["itemNotFound"]["message"] == f"Volume {volume_id} could not be found."
    assert http.get(their_list, headers=their_h).json() == {"volumeAttachments": []}
    assert http.get(f"{their_list}/{volume_id}", headers=their_h).status_code == 404
    shown = http.get(f"{COMPUTE}/servers/{their_server}", headers=their_h).json()["server"]
    assert shown["os-extended-volumes:volumes_attached"] == []

    # Nothing changed: the volume is attached to the owner's server as before, the spare still available.
    assert http.get(my_list, headers=own_h).json() == before
    assert volume_status(mine, volume_id, "in-use")["attachments"] == attached["attachments"]
    assert volume_status(mine, spare_id, "available")["attachments"] == []
    assert volume_status(theirs, their_volume, "available")["attachments"] == []
    mine("server", "delete", "--wait", my_server)
    theirs("server", "delete", "--wait", their_server)
    volume_status(mine, volume_id, "available")
    for cli, volume in ((mine, volume_id), (mine, spare_id), (theirs, their_volume)):
        cli("volume", "delete", volume)
