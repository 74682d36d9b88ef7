"""Attacks on the volume agent's internal API: a volume's key and source image leave the controller only for the
host the volume is placed on. Another project's member, and a host's credential acting for another host, get a
refusal (403 for a host name not theirs, 404 for a volume not on their host, the same answer as a missing one),
and nothing changes."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.support.accounts import Account, Admin, auth_headers
from tests.support.hosts import HostAgent, add_host, host_command, local_agent
from tests.support.polling import poll
from tests.support.server import Server

MISSING = uuid.uuid4().hex


def _client(server: Server, account: Account) -> httpx.Client:
    client = server.http()
    client.headers.update(auth_headers(account.token(server)))
    return client


def _project_id(client: httpx.Client) -> str:
    return client.get("/identity/v3/auth/tokens", headers={"X-Subject-Token": client.headers["X-Auth-Token"]}
                      ).json()["token"]["project"]["id"]


@pytest.fixture()
def other_host(server: Server) -> Iterator[HostAgent]:
    agent = add_host(server, f"hv-volume-attacker-{secrets.token_hex(3)}")
    yield agent
    host_command(server, "remove", agent.name, check=False)


@pytest.fixture()
def victim_volume(server: Server, admin: Admin) -> Iterator[tuple[httpx.Client, str, str]]:
    """An available volume of a project, on the all-in-one's host: (its owner's client, its URL, its id)."""
    with _client(server, admin.account("member")) as owner:
        url = f"/volume/v3/{_project_id(owner)}/volumes"
        volume = owner.post(url, json={"volume": {"size": 1, "name": "victim"}}).json()["volume"]
        poll(lambda: owner.get(f"{url}/{volume['id']}").json()["volume"]["status"] == "available", 120,
             "the victim's volume available")
        yield owner, f"{url}/{volume['id']}", volume["id"]


def _unchanged(owner: httpx.Client, url: str, before: dict) -> None:
    after = owner.get(url).json()["volume"]
    assert after == before


def test_another_project_cannot_reach_the_key_nor_the_volume(server: Server, admin: Admin,
                                                             victim_volume: tuple[httpx.Client, str, str]) -> None:
    owner, url, volume_id = victim_volume
    before = owner.get(url).json()["volume"]
    host = local_agent(server).name
    with _client(server, admin.account("member")) as intruder:
        theirs = f"/volume/v3/{_project_id(intruder)}/volumes/{volume_id}"
        assert intruder.get(theirs).status_code == 404
        assert intruder.delete(theirs).status_code == 404
        assert intruder.get(url).status_code == 404  # the owner's project path: 404 too, never 403
        for path in (f"/internal/v1/hosts/{host}/volumes/{volume_id}/key",
                     f"/internal/v1/hosts/{host}/volumes/{volume_id}/image", f"/internal/v1/hosts/{host}/volumes"):
            assert intruder.get(path).status_code == 403, path  # a tenant's token is no host's
        assert intruder.put(f"/internal/v1/volumes/{volume_id}/observed", json={"status": "gone"}).status_code == 403
        assert intruder.get(f"/key-manager/v1/deletion-certificates/{volume_id}").status_code == 404
    _unchanged(owner, url, before)


def test_another_hosts_credential_gets_no_key(server: Server, other_host: HostAgent,
                                              victim_volume: tuple[httpx.Client, str, str]) -> None:
    owner, url, volume_id = victim_volume
    before = owner.get(url).json()["volume"]
    victim_host = local_agent(server).name
    with other_host.client() as attacker:
        # Its own host's path: the volume is not there, the same answer as a volume that does not exist.
        mine = f"/internal/v1/hosts/{other_host.name}/volumes"
        for vid in (volume_id, MISSING):
            for what in ("key", "image"):
                answer = attacker.get(f"{mine}/{vid}/{what}")
                assert answer.status_code == 404 and "key" not in answer.json(), answer.text
        listed = attacker.get(mine).json()
        assert volume_id not in [v["id"] for v in listed["volumes"]]
        # The victim host's path: not this credential's host.
        assert attacker.get(f"/internal/v1/hosts/{victim_host}/volumes/{volume_id}/key").status_code == 403
        assert attacker.get(f"/internal/v1/hosts/{victim_host}/volumes").status_code == 403
        for status in ("gone", "error", "available"):
            refused = attacker.put(f"/internal/v1/volumes/{volume_id}/observed", json={"status": status})
            assert refused.status_code == 404
    _unchanged(owner, url, before)
    assert owner.delete(url).status_code == 202  # the owner still can
    poll(lambda: owner.get(url).status_code == 404, 120, "the victim's volume gone")
