"""Issue 16, volume snapshots as a hostile tenant tries them: another project's snapshot is a 404 on every route
(and its volume a 404 as a snapshot's volume_id); a reader cannot take one; bad bodies are Cinder's 400; an
in-use volume is refused with a clear message; nothing changes."""

from __future__ import annotations

import time

import httpx

from tests.security.test_volume_transfers import _wait_available
from tests.security.test_volumes import _client, _fault, _project_id
from tests.support.accounts import Admin
from tests.support.server import Server


def _wait_snapshot(client: httpx.Client, project: str, snapshot_id: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        snapshot = client.get(f"/volume/v3/{project}/snapshots/{snapshot_id}").json()["snapshot"]
        if snapshot["status"] == "available" or time.monotonic() > deadline:
            assert snapshot["status"] == "available", snapshot
            return snapshot
        time.sleep(0.5)


def test_another_project_gets_404_on_every_snapshot_route(server: Server, admin: Admin) -> None:
    owner, intruder = admin.account("member"), admin.account("member")
    with _client(server, owner) as mine, _client(server, intruder) as theirs:
        victim, own = _project_id(mine), _project_id(theirs)
        volume_id = mine.post(f"/volume/v3/{victim}/volumes", json={"volume": {"size": 1}}).json()["volume"]["id"]
        _wait_available(mine, victim, volume_id)
        made = mine.post(f"/volume/v3/{victim}/snapshots",
                         json={"snapshot": {"volume_id": volume_id, "name": "mine", "metadata": {"a": "b"}}})
        assert made.status_code == 202, made.text
        snapshot_id = made.json()["snapshot"]["id"]
        before = _wait_snapshot(mine, victim, snapshot_id)

        for project in (own, victim):
            base = f"/volume/v3/{project}/snapshots/{snapshot_id}"
            _fault(theirs.get(base), 404, "itemNotFound")
            _fault(theirs.put(base, json={"snapshot": {"name": "taken"}}), 404, "itemNotFound")
            _fault(theirs.delete(base), 404, "itemNotFound")
            _fault(theirs.get(f"{base}/metadata"), 404, "itemNotFound")
            _fault(theirs.post(f"{base}/metadata", json={"metadata": {"x": "y"}}), 404, "itemNotFound")
            _fault(theirs.delete(f"{base}/metadata/a"), 404, "itemNotFound")
            _fault(theirs.post(f"/volume/v3/{project}/snapshots", json={"snapshot": {"volume_id": volume_id}}),
                   404, "itemNotFound")
        for path in ("snapshots", "snapshots/detail", f"snapshots/detail?volume_id={volume_id}&all_tenants=1"):
            assert theirs.get(f"/volume/v3/{own}/{path}").json() == {"snapshots": []}
        assert mine.get(f"/volume/v3/{victim}/snapshots/{snapshot_id}").json()["snapshot"] == before

        reader = admin.account("reader", (owner.project_id, owner.project_name))
        with _client(server, reader) as read_only:
            answer = read_only.post(f"/volume/v3/{victim}/snapshots", json={"snapshot": {"volume_id": volume_id}})
            assert answer.status_code == 403, answer.text
        assert [s["id"] for s in mine.get(f"/volume/v3/{victim}/snapshots").json()["snapshots"]] == [snapshot_id]
        # The volume holds a snapshot: it cannot be deleted (Cinder's 400), and stays as it was.
        _fault(mine.delete(f"/volume/v3/{victim}/volumes/{volume_id}"), 400, "badRequest")
        assert mine.get(f"/volume/v3/{victim}/volumes/{volume_id}").json()["volume"]["status"] == "available"


def test_bad_snapshot_input_is_a_cinder_400_and_makes_nothing(server: Server, admin: Admin) -> None:
    with _client(server, admin.account("member")) as mine:
        project = _project_id(mine)
        volume_id = mine.post(f"/volume/v3/{project}/volumes", json={"volume": {"size": 1}}).json()["volume"]["id"]
        _wait_available(mine, project, volume_id)
        url = f"/volume/v3/{project}/snapshots"
        for bad in ({}, {"snapshot": {}}, {"snapshot": {"volume_id": 5}}, {"snapshot": "x"}, [1],
                    {"snapshot": {"volume_id": volume_id, "force": "maybe"}},
                    {"snapshot": {"volume_id": volume_id, "name": 7}},
                    {"snapshot": {"volume_id": volume_id, "metadata": {"k": 1}}}):
            _fault(mine.post(url, json=bad), 400, "badRequest")
        _fault(mine.post(url, content=b"{not json", headers={"Content-Type": "application/json"}), 400,
               "badRequest")
        _fault(mine.post(url, json={"snapshot": {"volume_id": "0" * 32}}), 404, "itemNotFound")
        assert mine.get(f"{url}/detail").json() == {"snapshots": []}
        _fault(mine.get(f"{url}/detail?sort=nope"), 400, "badRequest")
        _fault(mine.get(f"{url}/detail?limit=-1"), 400, "badRequest")
        _fault(mine.get(f"{url}/detail?marker=unknown"), 404, "itemNotFound")

        made = mine.post(url, json={"snapshot": {"volume_id": volume_id}}).json()["snapshot"]
        _wait_snapshot(mine, project, made["id"])
        _fault(mine.put(f"{url}/{made['id']}", json={"snapshot": {}}), 400, "badRequest")
        _fault(mine.put(f"{url}/{made['id']}", json={"snapshot": {"name": ["x"]}}), 400, "badRequest")
        _fault(mine.post(f"{url}/{made['id']}/metadata", json={"meta": {}}), 400, "badRequest")
        assert mine.get(f"{url}/{made['id']}").json()["snapshot"]["name"] is None


def test_a_volume_that_is_not_available_is_refused_with_a_clear_message(server: Server, admin: Admin) -> None:
    """In use with force: refused until a running guest's volume can be snapshotted through its QEMU."""
    with _client(server, admin.account("member")) as mine:
        project = _project_id(mine)
        volume_id = mine.post(f"/volume/v3/{project}/volumes", json={"volume": {"size": 1}}).json()["volume"]["id"]
        _wait_available(mine, project, volume_id)
        offer = mine.post(f"/volume/v3/{project}/os-volume-transfer", json={"transfer": {"volume_id": volume_id}})
        assert offer.status_code == 202
        message = _fault(mine.post(f"/volume/v3/{project}/snapshots", json={"snapshot": {"volume_id": volume_id,
                                                                                          "force": True}}),
                         400, "badRequest")
        assert "awaiting-transfer" in message
        assert mine.get(f"/volume/v3/{project}/snapshots").json() == {"snapshots": []}


def test_extend_refuses_other_projects_shrinks_bad_bodies_and_quota(server: Server, admin: Admin) -> None:
    owner, intruder = admin.account("member"), admin.account("member")
    with _client(server, owner) as mine, _client(server, intruder) as theirs:
        victim, own = _project_id(mine), _project_id(theirs)
        volume_id = mine.post(f"/volume/v3/{victim}/volumes", json={"volume": {"size": 1}}).json()["volume"]["id"]
        _wait_available(mine, victim, volume_id)
        for project in (own, victim):
            _fault(theirs.post(f"/volume/v3/{project}/volumes/{volume_id}/action",
                               json={"os-extend": {"new_size": 2}}), 404, "itemNotFound")
        action = f"/volume/v3/{victim}/volumes/{volume_id}/action"
        for bad in ({}, [1], {"os-extend": {}}, {"os-extend": {"new_size": "big"}}, {"os-extend": {"new_size": 0}},
                    {"os-extend": {"new_size": True}}, {"os-frobnicate": {}}, {"os-extend": 2}):
            _fault(mine.post(action, json=bad), 400, "badRequest")
        for same_or_smaller in (1, "1"):
            message = _fault(mine.post(action, json={"os-extend": {"new_size": same_or_smaller}}), 400, "badRequest")
            assert "greater than current size" in message
        _fault(mine.post(action, json={"os-extend": {"new_size": 5000}}), 413, "overLimit")
        shown = mine.get(f"/volume/v3/{victim}/volumes/{volume_id}").json()["volume"]
        assert shown["size"] == 1 and shown["status"] == "available"


def test_another_projects_snapshot_or_volume_as_a_source_is_a_404(server: Server, admin: Admin) -> None:
    owner, intruder = admin.account("member"), admin.account("member")
    with _client(server, owner) as mine, _client(server, intruder) as theirs:
        victim, own = _project_id(mine), _project_id(theirs)
        volume_id = mine.post(f"/volume/v3/{victim}/volumes", json={"volume": {"size": 1}}).json()["volume"]["id"]
        _wait_available(mine, victim, volume_id)
        snapshot_id = mine.post(f"/volume/v3/{victim}/snapshots",
                                json={"snapshot": {"volume_id": volume_id}}).json()["snapshot"]["id"]
        _wait_snapshot(mine, victim, snapshot_id)
        missing = "0" * 32
        for source in ({"snapshot_id": snapshot_id}, {"source_volid": volume_id}, {"snapshot_id": missing},
                       {"source_volid": missing}):
            for project in (own, victim):
                _fault(theirs.post(f"/volume/v3/{project}/volumes", json={"volume": {"size": 1, **source}}), 404,
                       "itemNotFound")
        assert theirs.get(f"/volume/v3/{own}/volumes").json() == {"volumes": []}

        # The owner: smaller than the source, two sources, a bad id are Cinder's 400; nothing is made.
        url = f"/volume/v3/{victim}/volumes"
        grown = mine.post(f"/volume/v3/{victim}/volumes/{volume_id}/action", json={"os-extend": {"new_size": 2}})
        assert grown.status_code == 202
        _wait_available(mine, victim, volume_id)
        poll_size = mine.get(f"{url}/{volume_id}").json()["volume"]["size"]
        assert poll_size == 2
        message = _fault(mine.post(url, json={"volume": {"size": 1, "source_volid": volume_id}}), 400, "badRequest")
        assert "cannot be smaller" in message
        for bad in ({"size": 1, "snapshot_id": snapshot_id, "source_volid": volume_id},
                    {"size": 1, "snapshot_id": 5}, {"size": 1, "source_volid": ""}):
            _fault(mine.post(url, json={"volume": bad}), 400, "badRequest")
        assert [v["id"] for v in mine.get(url).json()["volumes"]] == [volume_id]


def test_a_transfer_hands_the_snapshots_over_with_the_volume(server: Server, admin: Admin) -> None:
    giver, taker = admin.account("member"), admin.account("member")
    with _client(server, giver) as mine, _client(server, taker) as theirs:
        victim, own = _project_id(mine), _project_id(theirs)
        volume_id = mine.post(f"/volume/v3/{victim}/volumes", json={"volume": {"size": 1}}).json()["volume"]["id"]
        _wait_available(mine, victim, volume_id)
        snapshot_id = mine.post(f"/volume/v3/{victim}/snapshots",
                                json={"snapshot": {"volume_id": volume_id}}).json()["snapshot"]["id"]
        _wait_snapshot(mine, victim, snapshot_id)
        offer = mine.post(f"/volume/v3/{victim}/os-volume-transfer",
                          json={"transfer": {"volume_id": volume_id}}).json()["transfer"]
        taken = theirs.post(f"/volume/v3/{own}/os-volume-transfer/{offer['id']}/accept",
                            json={"accept": {"auth_key": offer["auth_key"]}})
        assert taken.status_code == 202, taken.text
        assert [s["id"] for s in theirs.get(f"/volume/v3/{own}/snapshots").json()["snapshots"]] == [snapshot_id]
        assert mine.get(f"/volume/v3/{victim}/snapshots").json() == {"snapshots": []}
        _fault(mine.get(f"/volume/v3/{victim}/snapshots/{snapshot_id}"), 404, "itemNotFound")
