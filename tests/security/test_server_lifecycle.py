"""Issue 15 item 11 as a hostile tenant tries it: another project aims rebuild, lock, unlock, reset-state and
os-server-password at a victim's server (404 each, as if there were no such server; nothing changes), a project
member tries the cloud admin's reset-state on its own server (403), and a locked server's owner cannot slip a change
past the lock through another route."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest

from tests.functional.compute.test_servers import _server, _wait_status, image_id  # noqa: F401
from tests.support.accounts import Account, Admin, auth_headers
from tests.support.server import Server

V21 = "/compute/v2.1"


@pytest.fixture()
def victim(server: Server, admin: Admin, http: httpx.Client, image_id: str) -> Iterator[tuple[Account, str]]:  # noqa: F811
    owner = admin.account()
    made = http.post(f"{V21}/servers", headers=auth_headers(owner.token(server)), json={"server": {
        "name": f"victim-{secrets.token_hex(3)}", "imageRef": image_id, "flavorRef": "1", "networks": "none"}})
    assert made.status_code == 202, made.text
    sid = made.json()["server"]["id"]
    _wait_status(http, owner.token(server), sid, "ACTIVE")
    yield owner, sid
    admin.delete_servers([sid])


def _snapshot(http: httpx.Client, token: str, sid: str) -> dict:
    doc = _server(http, token, sid)
    doc.pop("updated", None)  # every report of the server's agent moves it, whatever a request did
    actions = http.get(f"{V21}/servers/{sid}/os-instance-actions", headers=auth_headers(token)).json()
    return {"server": doc, "actions": actions, "password": http.get(f"{V21}/servers/{sid}/os-server-password",
                                                                    headers=auth_headers(token)).json()}


def test_another_project_reaches_none_of_it(server: Server, admin: Admin, http: httpx.Client,
                                            victim: tuple[Account, str], image_id: str) -> None:  # noqa: F811
    owner, sid = victim
    token = owner.token(server)
    before = _snapshot(http, token, sid)
    hostile = auth_headers(admin.account().token(server))
    for body in ({"rebuild": {"imageRef": image_id, "name": "pwned"}}, {"lock": None}, {"unlock": None},
                 {"os-resetState": {"state": "error"}}):
        answer = http.post(f"{V21}/servers/{sid}/action", json=body, headers=hostile)
        # reset-state is the cloud admin's: the policy refuses a member before any server is looked up.
        expected = 403 if "os-resetState" in body else 404
        assert answer.status_code == expected, (body, answer.text)
        if expected == 404:
            assert answer.json() == {"itemNotFound": {"code": 404, "message": f"Instance {sid} could not be found."}}
    for method in ("GET", "DELETE"):
        assert http.request(method, f"{V21}/servers/{sid}/os-server-password", headers=hostile).status_code == 404
    assert _snapshot(http, token, sid) == before


def test_a_lock_holds_on_every_route_that_changes_the_server(server: Server, http: httpx.Client,
                                                              victim: tuple[Account, str]) -> None:
    owner, sid = victim
    headers = auth_headers(owner.token(server))
    assert http.put(f"{V21}/servers/{sid}/metadata/a", json={"meta": {"a": "1"}}, headers=headers).status_code == 200
    assert http.post(f"{V21}/servers/{sid}/action", json={"lock": None}, headers=headers).status_code == 202
    before = _snapshot(http, owner.token(server), sid)
    attempts = [
        ("POST", f"{V21}/servers/{sid}/action", {"os-stop": None}),
        ("POST", f"{V21}/servers/{sid}/action", {"reboot": {"type": "HARD"}}),
        ("POST", f"{V21}/servers/{sid}/action", {"changePassword": {"adminPass": "x"}}),
        ("POST", f"{V21}/servers/{sid}/action", {"addFixedIp": {"networkId": "n"}}),
        ("POST", f"{V21}/servers/{sid}/os-interface", {"interfaceAttachment": {}}),
        ("PUT", f"{V21}/servers/{sid}/metadata", {"metadata": {"a": "b"}}),
        ("PUT", f"{V21}/servers/{sid}/metadata/a", {"meta": {"a": "b"}}),
        ("DELETE", f"{V21}/servers/{sid}/metadata/a", None),
        ("DELETE", f"{V21}/servers/{sid}", None),
    ]
    for method, path, body in attempts:
        answer = http.request(method, path, json=body, headers=headers)
        assert answer.status_code == 409, (method, path, answer.text)
        assert answer.json()["conflictingRequest"]["message"] == f"Instance {sid} is locked"
    assert _snapshot(http, owner.token(server), sid) == before
    assert http.post(f"{V21}/servers/{sid}/action", json={"unlock": None}, headers=headers).status_code == 202


def test_malformed_actions_are_refused_in_novas_format(server: Server, admin: Admin, http: httpx.Client,
                                                       victim: tuple[Account, str]) -> None:
    owner, sid = victim
    token = owner.token(server)
    before = _snapshot(http, token, sid)
    bodies = [{"rebuild": "x"}, {"rebuild": [1]}, {"rebuild": None}, {"rebuild": {"imageRef": 5}},
              {"rebuild": {"imageRef": "x", "metadata": "y"}}, {"rebuild": {"imageRef": "x", "name": ""}},
              {"rebuild": {"imageRef": "\x00"}}, {"rebuild": {"imageRef": "x", "accessIPv4": "::1"}},
              {"lock": 5}, {"lock": "x"}, {"lock": {"locked_reason": 7}}, {"unlock": []}]
    for body in bodies:
        answer = http.post(f"{V21}/servers/{sid}/action", json=body, headers=auth_headers(token))
        assert answer.status_code == 400 and set(answer.json()) == {"badRequest"}, (body, answer.text)
    for body in [{"os-resetState": "error"}, {"os-resetState": {"state": ["error"]}},
                 {"os-resetState": {"state": "error", "extra": 1}}]:
        answer = admin.client.post(f"{V21}/servers/{sid}/action", json=body)
        assert answer.status_code == 400 and set(answer.json()) == {"badRequest"}, (body, answer.text)
    assert _snapshot(http, token, sid) == before
