"""Issue 15 item 10: what later compute microversions open (server tags at 2.26, descriptions at 2.19) reaches
only one's own servers. Another project's server is a 404 whatever the version, and stays as it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.functional.compute.test_servers import image_id  # noqa: F401  (a session fixture)
from tests.support.accounts import Admin, auth_headers, cli_as
from tests.support.server import Server

V21 = "/compute/v2.1"


def _at(version: str, token: str) -> dict[str, str]:
    return {**auth_headers(token), "OpenStack-API-Version": f"compute {version}"}


@pytest.fixture()
def booted(admin: Admin) -> Iterator[list[str]]:
    ids: list[str] = []
    yield ids
    admin.delete_servers(ids)


def test_tags_of_another_projects_server_are_out_of_reach(
        server: Server, admin: Admin, image_id: str, http: httpx.Client, booted: list[str],  # noqa: F811
        tmp_path: Path) -> None:
    owner, intruder = admin.account(), admin.account()
    owner_token, intruder_token = owner.token(server), intruder.token(server)
    body = {"server": {"name": "victim", "imageRef": image_id, "flavorRef": "1", "networks": "none",
                       "tags": ["keep"]}}
    made = http.post(f"{V21}/servers", json=body, headers=_at("2.52", owner_token))
    assert made.status_code == 202, made.text
    victim = made.json()["server"]["id"]
    booted.append(victim)
    tags = f"{V21}/servers/{victim}/tags"
    attempts = [http.get(tags, headers=_at("2.26", intruder_token)),
                http.put(tags, json={"tags": ["pwned"]}, headers=_at("2.26", intruder_token)),
                http.put(f"{tags}/pwned", headers=_at("2.26", intruder_token)),
                http.get(f"{tags}/keep", headers=_at("2.26", intruder_token)),
                http.delete(f"{tags}/keep", headers=_at("2.26", intruder_token)),
                http.delete(tags, headers=_at("2.26", intruder_token)),
                http.put(f"{V21}/servers/{victim}", json={"server": {"description": "pwned"}},
                         headers=_at("2.19", intruder_token))]
    assert [a.status_code for a in attempts] == [404] * len(attempts), [a.text for a in attempts]
    listed = http.get(f"{V21}/servers", params={"tags": "keep"}, headers=_at("2.26", intruder_token))
    assert listed.json() == {"servers": []}
    cli = cli_as(server, intruder, tmp_path)
    refused = cli("--os-compute-api-version", "2.26", "server", "set", "--tag", "pwned", victim, check=False)
    assert refused.returncode != 0  # type: ignore[attr-defined]
    shown = http.get(f"{V21}/servers/{victim}", headers=_at("2.26", owner_token)).json()["server"]
    assert shown["tags"] == ["keep"] and shown["description"] is None
    assert http.get(f"{V21}/servers/{victim}/tags", headers=_at("2.26", owner_token)).json() == {"tags": ["keep"]}
