"""Issue 16, deliverable 2 (control plane): Cinder's volumes as a hostile tenant sees them.

Another project's member gets 404 on every volume route, whether it names the victim's volume under its own project
or the victim's project in the path, and the victim's volume is unchanged; bad create bodies are refused in Cinder's
format (`{"badRequest": {"message", "code"}}`, 413 overLimit past the quota) with nothing created."""

from __future__ import annotations

import httpx
import pytest

from tests.support.accounts import Account, Admin, auth_headers
from tests.support.polling import poll
from tests.support.server import Server


def _client(server: Server, account: Account) -> httpx.Client:
    client = server.http()
    client.headers.update(auth_headers(account.token(server)))
    return client


def _project_id(client: httpx.Client) -> str:
    return client.get("/identity/v3/auth/tokens", headers={"X-Subject-Token": client.headers["X-Auth-Token"]}
                      ).json()["token"]["project"]["id"]


def _fault(response: httpx.Response, status: int, fault: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == [fault] and body[fault]["code"] == status
    return body[fault]["message"]


def test_another_project_gets_404_on_every_volume_route(server: Server, admin: Admin) -> None:
    owner, intruder = admin.account("member"), admin.account("member")
    with _client(server, owner) as mine, _client(server, intruder) as theirs:
        victim_project, own_project = _project_id(mine), _project_id(theirs)
        made = mine.post(f"/volume/v3/{victim_project}/volumes",
                         json={"volume": {"size": 1, "name": "victim", "metadata": {"k": "v"}}})
        assert made.status_code == 202, made.text
        volume_id = made.json()["volume"]["id"]
        before = mine.get(f"/volume/v3/{victim_project}/volumes/{volume_id}").json()

        for project in (own_project, victim_project):
            base = f"/volume/v3/{project}/volumes/{volume_id}"
            attempts = [theirs.get(base), theirs.put(base, json={"volume": {"name": "stolen"}}),
                        theirs.delete(base), theirs.get(f"{base}/metadata"),
                        theirs.post(f"{base}/metadata", json={"metadata": {"x": "y"}}),
                        theirs.put(f"{base}/metadata", json={"metadata": {}}),
                        theirs.delete(f"{base}/metadata/k")]
            for response in attempts:
                _fault(response, 404, "itemNotFound")
        for path in ("volumes", "volumes/detail", "types", "limits", f"os-quota-sets/{victim_project}",
                     "os-availability-zone"):
            _fault(theirs.get(f"/volume/v3/{victim_project}/{path}"), 404, "itemNotFound")
        _fault(theirs.get(f"/volume/v3/{own_project}/os-quota-sets/{victim_project}"), 404, "itemNotFound")
        _fault(theirs.post(f"/volume/v3/{victim_project}/volumes", json={"volume": {"size": 1}}), 404,
               "itemNotFound")
        assert theirs.get(f"/volume/v3/{own_project}/volumes/detail?all_tenants=1").json() == {"volumes": []}

        after = mine.get(f"/volume/v3/{victim_project}/volumes/{volume_id}").json()
        assert after == before
        assert [v["id"] for v in mine.get(f"/volume/v3/{victim_project}/volumes").json()["volumes"]] == [volume_id]


@pytest.mark.parametrize(("volume", "status", "fault"), [
    ({"size": 0}, 400, "badRequest"),
    ({"size": -1}, 400, "badRequest"),
    ({"size": "two"}, 400, "badRequest"),
    ({"size": 1.5}, 400, "badRequest"),
    ({}, 400, "badRequest"),
    ({"size": 1001}, 413, "overLimit"),
    ({"size": 1, "volume_type": "no-such-type"}, 404, "itemNotFound"),
    ({"size": 1, "name": "n" * 256}, 400, "badRequest"),
    ({"size": 1, "metadata": {"k": 1}}, 400, "badRequest"),
    ({"size": 1, "metadata": ["k"]}, 400, "badRequest"),
    ({"size": 1, "availability_zone": "elsewhere"}, 400, "badRequest"),
])
def test_bad_create_bodies_make_nothing(server: Server, admin: Admin, volume: dict, status: int,
                                        fault: str) -> None:
    with _client(server, admin.account("member")) as client:
        project = _project_id(client)
        _fault(client.post(f"/volume/v3/{project}/volumes", json={"volume": volume}), status, fault)
        assert client.get(f"/volume/v3/{project}/volumes").json() == {"volumes": []}
        assert client.get("/key-manager/v1/secrets").json()["total"] == 0


def test_a_reader_cannot_create_and_microversions_past_the_maximum_are_refused(server: Server,
                                                                               admin: Admin) -> None:
    with _client(server, admin.account("reader")) as client:
        project = _project_id(client)
        _fault(client.post(f"/volume/v3/{project}/volumes", json={"volume": {"size": 1}}), 403, "forbidden")
        refused = client.get(f"/volume/v3/{project}/volumes", headers={"OpenStack-API-Version": "volume 3.999"})
        _fault(refused, 406, "notAcceptable")
        assert client.get(f"/volume/v3/{project}/volumes").headers["OpenStack-API-Version"] == "volume 3.0"


def test_a_member_cannot_make_or_change_types(server: Server, admin: Admin) -> None:
    with _client(server, admin.account("member")) as client:
        project = _project_id(client)
        before = client.get(f"/volume/v3/{project}/types").json()
        default_id = before["volume_types"][0]["id"]
        _fault(client.post(f"/volume/v3/{project}/types", json={"volume_type": {"name": "clear"}}), 403,
               "forbidden")
        _fault(client.post(f"/volume/v3/{project}/types/{default_id}/encryption",
                           json={"encryption": {"provider": "luks"}}), 403, "forbidden")
        encryption = client.get(f"/volume/v3/{project}/types/{default_id}/encryption").json()
        _fault(client.delete(f"/volume/v3/{project}/types/{default_id}/encryption/{encryption['encryption_id']}"),
               403, "forbidden")
        _fault(client.delete(f"/volume/v3/{project}/types/{default_id}"), 403, "forbidden")
        assert client.get(f"/volume/v3/{project}/types").json() == before
        assert client.get(f"/volume/v3/{project}/types/{default_id}/encryption").json() == encryption
        assert encryption["provider"] == "luks" and encryption["key_size"] == 512


def test_bad_type_bodies_from_the_operator_make_nothing(server: Server, admin: Admin) -> None:
    operator = server.http()
    operator.headers.update(auth_headers(server.admin_token()))
    project, _ = admin.project()
    base = f"/volume/v3/{project}/types"
    before = operator.get(base).json()
    for body in ({}, {"volume_type": {}}, {"volume_type": {"name": ""}}, {"volume_type": {"name": "n" * 256}},
                 {"volume_type": {"name": "t", "extra_specs": {"k": 1}}}):
        _fault(operator.post(base, json=body), 400, "badRequest")
    default_id = before["volume_types"][0]["id"]
    _fault(operator.delete(f"{base}/{default_id}"), 400, "badRequest")
    made = operator.post(base, json={"volume_type": {"name": "golden"}}).json()["volume_type"]
    for encryption in ({"provider": "plain"}, {"provider": "luks", "cipher": "aes-cbc-essiv"},
                       {"provider": "luks", "key_size": 128}, {"provider": "luks", "control_location": "x"}):
        _fault(operator.post(f"{base}/{made['id']}/encryption", json={"encryption": encryption}), 400, "badRequest")
    assert operator.get(f"{base}/{made['id']}/encryption").json() == {}
    assert operator.delete(f"{base}/{made['id']}").status_code == 202  # other tests list the types
    operator.close()


def test_a_private_type_is_the_operators_alone(server: Server, admin: Admin) -> None:
    operator = server.http()
    operator.headers.update(auth_headers(server.admin_token()))
    member = admin.account("member")
    with _client(server, member) as mine:
        project = _project_id(mine)
        made = operator.post(f"/volume/v3/{project}/types",
                             json={"volume_type": {"name": "private-plain", "is_public": False}})
        assert made.status_code == 200, made.text
        private = made.json()["volume_type"]
        try:
            assert "private-plain" not in [t["name"] for t in mine.get(f"/volume/v3/{project}/types").json()
                                           ["volume_types"]]
            for ref in (private["id"], "private-plain"):
                _fault(mine.get(f"/volume/v3/{project}/types/{ref}"), 404, "itemNotFound")
                _fault(mine.post(f"/volume/v3/{project}/volumes", json={"volume": {"size": 1, "volume_type": ref}}),
                       404, "itemNotFound")
            assert mine.get(f"/volume/v3/{project}/volumes").json() == {"volumes": []}
        finally:
            assert operator.delete(f"/volume/v3/{project}/types/{private['id']}").status_code == 202
            operator.close()


def test_a_volume_whose_key_was_deleted_can_still_be_deleted(server: Server, admin: Admin) -> None:
    with _client(server, admin.account("member")) as mine:
        project = _project_id(mine)
        volume = mine.post(f"/volume/v3/{project}/volumes", json={"volume": {"size": 1}}).json()["volume"]
        headers = {"OpenStack-API-Version": "key-manager 1.1"}
        keys = mine.get("/key-manager/v1/secrets", params={"name": f"volume-{volume['id']}"}, headers=headers)
        [key_ref] = [secret["secret_ref"] for secret in keys.json()["secrets"]]
        key_id = key_ref.rsplit("/", 1)[1]
        assert mine.delete(f"/key-manager/v1/secrets/{key_id}", headers=headers).status_code == 204
        assert mine.delete(f"/volume/v3/{project}/volumes/{volume['id']}").status_code == 202
        # `deleting` until the host's agent removed its file (a volume whose key is gone ends in error first)
        poll(lambda: mine.get(f"/volume/v3/{project}/volumes/{volume['id']}").status_code == 404, 120,
             "the volume gone")
        _fault(mine.get(f"/volume/v3/{project}/volumes/{volume['id']}"), 404, "itemNotFound")


def test_a_metadata_filter_nested_too_deep_is_a_400(server: Server, admin: Admin) -> None:
    with _client(server, admin.account("member")) as mine:
        project = _project_id(mine)
        _fault(mine.get(f"/volume/v3/{project}/volumes", params={"metadata": "[" * 3000}), 400, "badRequest")
