"""Issue 16, volume transfers as a hostile tenant tries them: another project cannot offer, see, withdraw or take
a victim's volume without the auth key; malformed bodies are refused in Cinder's format; nothing changes."""

from __future__ import annotations

import time

import httpx

from tests.security.test_volumes import _client, _fault, _project_id
from tests.support.accounts import Admin
from tests.support.server import Server


def _wait_available(client: httpx.Client, project: str, volume_id: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        volume = client.get(f"/volume/v3/{project}/volumes/{volume_id}").json()["volume"]
        if volume["status"] == "available" or time.monotonic() > deadline:
            assert volume["status"] == "available", volume
            return volume
        time.sleep(0.5)


def test_transfers_refuse_other_projects_and_bad_input(server: Server, admin: Admin) -> None:
    owner, intruder = admin.account("member"), admin.account("member")
    with _client(server, owner) as mine, _client(server, intruder) as theirs:
        victim, own = _project_id(mine), _project_id(theirs)
        made = mine.post(f"/volume/v3/{victim}/volumes", json={"volume": {"size": 1, "name": "victim"}})
        volume_id = made.json()["volume"]["id"]
        _wait_available(mine, victim, volume_id)

        # The intruder cannot offer the victim's volume, under either project in the path.
        for project in (own, victim):
            _fault(theirs.post(f"/volume/v3/{project}/os-volume-transfer",
                               json={"transfer": {"volume_id": volume_id}}), 404, "itemNotFound")
        assert mine.get(f"/volume/v3/{victim}/volumes/{volume_id}").json()["volume"]["status"] == "available"

        offer = mine.post(f"/volume/v3/{victim}/os-volume-transfer",
                          json={"transfer": {"volume_id": volume_id, "name": "t"}})
        assert offer.status_code == 202, offer.text
        transfer = offer.json()["transfer"]
        assert set(transfer) == {"id", "created_at", "name", "volume_id", "auth_key", "links"}

        for project in (own, victim):
            base = f"/volume/v3/{project}/os-volume-transfer/{transfer['id']}"
            _fault(theirs.get(base), 404, "itemNotFound")
            _fault(theirs.delete(base), 404, "itemNotFound")
        assert theirs.get(f"/volume/v3/{own}/os-volume-transfer/detail").json() == {"transfers": []}
        accept = f"/volume/v3/{own}/os-volume-transfer/{transfer['id']}/accept"
        message = _fault(theirs.post(accept, json={"accept": {"auth_key": "A" * 16}}), 400, "badRequest")
        assert "invalid auth key" in message.lower() and transfer["auth_key"] not in message
        for bad in ({}, {"accept": {}}, {"accept": {"auth_key": 7}}, {"accept": "x"}, [1]):
            _fault(theirs.post(accept, json=bad), 400, "badRequest")
        _fault(theirs.post(f"/volume/v3/{own}/os-volume-transfer/{'0' * 8}-0000-0000-0000-{'0' * 12}/accept",
                           json={"accept": {"auth_key": transfer["auth_key"]}}), 404, "itemNotFound")
        for bad in ({}, {"transfer": {}}, {"transfer": {"volume_id": 5}}, {"transfer": {"volume_id": volume_id,
                                                                                          "name": 3}}):
            _fault(mine.post(f"/volume/v3/{victim}/os-volume-transfer", json=bad), 400, "badRequest")
        _fault(mine.post(f"/volume/v3/{victim}/os-volume-transfer", content=b"{not json",
                         headers={"Content-Type": "application/json"}), 400, "badRequest")

        # Nothing moved: still the owner's, still offered, the offer still takes the right key.
        volume = mine.get(f"/volume/v3/{victim}/volumes/{volume_id}").json()["volume"]
        assert volume["status"] == "awaiting-transfer" and volume["os-vol-tenant-attr:tenant_id"] == victim
        mine.delete(f"/volume/v3/{victim}/os-volume-transfer/{transfer['id']}")
        mine.delete(f"/volume/v3/{victim}/volumes/{volume_id}")


def test_accepting_past_the_quota_changes_nothing(server: Server, admin: Admin) -> None:
    giver, taker = admin.account("member"), admin.account("member")
    root = admin.client
    with _client(server, giver) as gives, _client(server, taker) as takes:
        giver_project, taker_project = _project_id(gives), _project_id(takes)
        volume_id = gives.post(f"/volume/v3/{giver_project}/volumes",
                               json={"volume": {"size": 2}}).json()["volume"]["id"]
        _wait_available(gives, giver_project, volume_id)
        quota = root.put(f"/volume/v3/{taker_project}/os-quota-sets/{taker_project}",
                         json={"quota_set": {"gigabytes": 1}})
        assert quota.status_code == 200, quota.text
        transfer = gives.post(f"/volume/v3/{giver_project}/os-volume-transfer",
                              json={"transfer": {"volume_id": volume_id}}).json()["transfer"]
        refused = takes.post(f"/volume/v3/{taker_project}/os-volume-transfer/{transfer['id']}/accept",
                             json={"accept": {"auth_key": transfer["auth_key"]}})
        _fault(refused, 413, "overLimit")
        volume = gives.get(f"/volume/v3/{giver_project}/volumes/{volume_id}").json()["volume"]
        assert volume["status"] == "awaiting-transfer" and volume["os-vol-tenant-attr:tenant_id"] == giver_project
        assert gives.get(f"/volume/v3/{giver_project}/os-volume-transfer/{transfer['id']}").status_code == 200
        gives.delete(f"/volume/v3/{giver_project}/os-volume-transfer/{transfer['id']}")
        gives.delete(f"/volume/v3/{giver_project}/volumes/{volume_id}")
