"""Instance actions (`openstack server event list/show`): what was done to a server, by whom, under which request
id; events for cloud admins only at 2.1; another project's server's actions are not found. Fake hypervisor."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import httpx

from tests.functional.compute.test_servers import image_id  # noqa: F401
from tests.support.accounts import Admin, auth_headers, cli_as
from tests.support.polling import poll
from tests.support.server import Server

V21 = "/compute/v2.1"


def test_server_events_through_the_cli(server: Server, admin: Admin, http: httpx.Client, image_id: str,  # noqa: F811
                                       tmp_path: Path) -> None:
    owner, intruder = admin.account(), admin.account()
    run = cli_as(server, owner, tmp_path)
    name = f"ev-{secrets.token_hex(3)}"
    created = json.loads(run("server", "create", "--image", image_id, "--flavor", "m1.tiny",
                             "--wait", name, "-f", "json").stdout)
    mine = auth_headers(owner.token(server))
    try:
        stopped = http.post(f"{V21}/servers/{created['id']}/action", json={"os-stop": None}, headers=mine)
        assert stopped.status_code == 202
        stop_request = stopped.headers["x-openstack-request-id"]
        poll(lambda: json.loads(run("server", "show", name, "-f", "json").stdout)["status"] == "SHUTOFF",
             what="SHUTOFF")
        run("server", "start", name)
        poll(lambda: json.loads(run("server", "show", name, "-f", "json").stdout)["status"] == "ACTIVE",
             what="ACTIVE")
        run("server", "reboot", "--wait", name)

        events = json.loads(run("server", "event", "list", name, "-f", "json").stdout)
        assert [e["Action"] for e in events] == ["reboot", "start", "stop", "create"]
        assert {e["Server ID"] for e in events} == {created["id"]}
        assert next(e for e in events if e["Action"] == "stop")["Request ID"] == stop_request
        # `event show` reads the events, which are the cloud admin's at 2.1 (the client fails without them).
        shown = json.loads(server.openstack("server", "event", "show", created["id"], stop_request, "-f", "json",
                                            cloud="andromede-admin").stdout)
        assert shown["action"] == "stop" and shown["request_id"] == stop_request
        assert [e["event"] for e in shown["events"]] == ["compute_stop_instance"]

        # At 2.1, as Nova's policy says: the owner sees the action, the cloud admin its events too.
        path = f"{V21}/servers/{created['id']}/os-instance-actions"
        own = http.get(f"{path}/{stop_request}", headers=mine).json()["instanceAction"]
        assert set(own) == {"action", "instance_uuid", "message", "project_id", "request_id", "start_time",
                            "user_id"}
        assert (own["user_id"], own["project_id"], own["message"]) == (owner.user_id, owner.project_id, None)
        full = admin.client.get(f"{path}/{stop_request}").json()["instanceAction"]
        assert [(e["event"], e["result"]) for e in full["events"]] == [("compute_stop_instance", "Success")]
        assert full["events"][0]["finish_time"] >= full["events"][0]["start_time"] == own["start_time"]
        listed = http.get(path, headers=mine).json()["instanceActions"]
        assert set(listed[0]) == set(own)
        assert http.get(f"{path}/req-nope", headers=mine).status_code == 404

        theirs = auth_headers(intruder.token(server))
        assert http.get(path, headers=theirs).status_code == 404
        assert http.get(f"{path}/{stop_request}", headers=theirs).status_code == 404
        assert set(http.get(path, headers=theirs).json()) == {"itemNotFound"}
    finally:
        admin.delete_servers([created["id"]])
    # A deleted server's actions are gone with it at 2.1 (later microversions let admins read them).
    assert http.get(f"{V21}/servers/{created['id']}/os-instance-actions", headers=mine).status_code == 404
