"""Compute microversions 2.2-2.90 as clients pin them: the openstack CLI at fixed versions, openstacksdk with its
own negotiation (it asks for the most it knows), raw HTTP for the negotiation itself (issue 15 item 10)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.functional.compute.test_servers import image_id  # noqa: F401
from tests.support.accounts import Account, Admin, auth_headers, cli_as
from tests.support.server import Server

V21 = "/compute/v2.1"


def _at(version: str, token: str) -> dict[str, str]:
    return {**auth_headers(token), "OpenStack-API-Version": f"compute {version}"}


def _json(run: Callable[..., object], *args: str) -> dict:
    return json.loads(run(*args, "-f", "json").stdout)  # type: ignore[attr-defined]


@pytest.fixture()
def member(admin: Admin) -> Account:
    return admin.account()


@pytest.fixture()
def booted(admin: Admin) -> Iterator[list[str]]:
    ids: list[str] = []
    yield ids
    admin.delete_servers(ids)


def test_the_version_documents_advertise_the_range_and_negotiation_answers_as_nova(
        http: httpx.Client, member: Account, server: Server, admin: Admin) -> None:
    for path in ("/compute/", "/compute/v2.1"):
        doc = http.get(path).json()
        v21 = next(v for v in doc["versions"] if v["id"] == "v2.1") if "versions" in doc else doc["version"]
        assert (v21["version"], v21["min_version"]) == ("2.90", "2.1")
    token = member.token(server)
    answer = http.get(f"{V21}/flavors", headers=_at("2.55", token))
    assert answer.status_code == 200
    assert answer.headers["OpenStack-API-Version"] == "compute 2.55"
    assert answer.headers["X-OpenStack-Nova-API-Version"] == "2.55"
    assert "OpenStack-API-Version" in answer.headers["Vary"]
    assert all("description" in flavor for flavor in answer.json()["flavors"])
    legacy = http.get(f"{V21}/flavors", headers={**auth_headers(token), "X-OpenStack-Nova-API-Version": "2.30"})
    assert legacy.headers["X-OpenStack-Nova-API-Version"] == "2.30"
    too_new = http.get(f"{V21}/flavors", headers=_at("2.91", token))
    assert too_new.status_code == 406, too_new.text
    assert "maximum is 2.90" in too_new.json()["computeFault" if "computeFault" in too_new.json()
                                                else "notAcceptable"]["message"]
    assert http.get(f"{V21}/flavors", headers=_at("2.x", token)).status_code == 400
    assert http.get(f"{V21}/flavors", headers=_at("latest", token)).headers["X-OpenStack-Nova-API-Version"] == "2.90"
    public = admin.client.post(f"{V21}/flavors/1/action", json={"addTenantAccess": {"tenant": member.project_id}},
                               headers={"OpenStack-API-Version": "compute 2.7"})
    assert public.status_code == 409, public.text


def test_the_cli_boots_without_a_nic_at_237_and_sets_description_and_tags(
        server: Server, member: Account, image_id: str, tmp_path: Path, http: httpx.Client,  # noqa: F811
        booted: list[str]) -> None:
    cli = cli_as(server, member, tmp_path)
    name = f"mv-{secrets.token_hex(3)}"
    made = _json(cli, "--os-compute-api-version", "2.52", "server", "create", "--nic", "none", "--image", image_id,
                 "--flavor", "1", "--tag", "boot", "--description", "first", name)
    booted.append(made["id"])
    cli("--os-compute-api-version", "2.26", "server", "set", "--tag", "web", "--tag", "blue", made["id"])
    cli("--os-compute-api-version", "2.19", "server", "set", "--description", "web tier", made["id"])
    shown = _json(cli, "--os-compute-api-version", "2.90", "server", "show", made["id"])
    assert shown["description"] == "web tier"
    assert sorted(shown["tags"]) == ["blue", "boot", "web"]
    assert shown["addresses"] in ({}, "")  # "none": no NIC at all
    listed = _json(cli, "--os-compute-api-version", "2.26", "server", "list", "--tags", "web,blue")
    assert [row["ID"] for row in listed] == [made["id"]]
    assert _json(cli, "--os-compute-api-version", "2.26", "server", "list", "--not-tags", "web") == []
    token = member.token(server)
    # 2.37 makes networks required; before 2.19 a description is an unknown field.
    body = {"server": {"name": "x", "imageRef": image_id, "flavorRef": "1"}}
    assert http.post(f"{V21}/servers", json=body, headers=_at("2.37", token)).status_code == 400
    body["server"].update(networks="none", description="d")
    assert http.post(f"{V21}/servers", json=body, headers=_at("2.18", token)).status_code == 400
    body["server"].update(personality=[{"path": "/etc/motd", "contents": "aGk="}])
    assert http.post(f"{V21}/servers", json=body, headers=_at("2.57", token)).status_code == 400
    retired = http.post(f"{V21}/servers/{made['id']}/action", json={"addFixedIp": {"networkId": "x"}},
                        headers=_at("2.44", token))
    assert retired.status_code == 404, retired.text  # multinic actions end at 2.43
    # the tags routes: absent before 2.26, then Nova's codes
    tags = f"{V21}/servers/{made['id']}/tags"
    assert http.get(tags, headers=_at("2.25", token)).status_code == 404
    assert http.put(f"{tags}/new", headers=_at("2.26", token)).status_code == 201
    assert http.put(f"{tags}/new", headers=_at("2.26", token)).status_code == 204
    assert http.get(f"{tags}/nope", headers=_at("2.26", token)).status_code == 404
    assert http.put(f"{tags}/a,b", headers=_at("2.26", token)).status_code == 400
    replaced = http.put(tags, json={"tags": ["x", "y"]}, headers=_at("2.26", token))
    assert replaced.json() == {"tags": ["x", "y"]}
    assert http.delete(tags, headers=_at("2.26", token)).status_code == 204
    assert http.get(tags, headers=_at("2.26", token)).json() == {"tags": []}
    # 2.75: the update answers the whole server; unknown query parameters are refused
    updated = http.put(f"{V21}/servers/{made['id']}", json={"server": {"description": None}},
                       headers=_at("2.75", token)).json()["server"]
    assert updated["description"] is None and updated["server_groups"] == [] and "OS-EXT-STS:vm_state" in updated
    assert http.get(f"{V21}/servers", params={"bogus": "1"}, headers=_at("2.75", token)).status_code == 400
    assert http.get(f"{V21}/servers", params={"bogus": "1"}, headers=auth_headers(token)).status_code == 200
    past, future = {"changes-before": "2000-01-01T00:00:00Z"}, {"changes-before": "2999-01-01T00:00:00Z"}
    assert http.get(f"{V21}/servers", params=past, headers=_at("2.66", token)).json() == {"servers": []}
    assert len(http.get(f"{V21}/servers", params=future, headers=_at("2.66", token)).json()["servers"]) == 1
    actions = f"{V21}/servers/{made['id']}/os-instance-actions"
    page = http.get(actions, params={"limit": 1}, headers=_at("2.58", token)).json()
    assert len(page["instanceActions"]) == 1 and page["links"][0]["rel"] == "next"
    assert http.get(actions, params={"marker": "req-nope"}, headers=_at("2.58", token)).status_code == 400
    assert http.get(f"{V21}/servers", params={"status": "NOPE"}, headers=_at("2.38", token)).status_code == 400
    assert http.get(f"{V21}/servers", params={"status": "NOPE"}, headers=_at("2.37", token)).json() == \
        {"servers": []}


def test_sdk_negotiates_up_and_reads_the_new_fields(
        server: Server, admin: Admin, member: Account, image_id: str, http: httpx.Client,  # noqa: F811
        tmp_path: Path, booted: list[str]) -> None:
    flavor_name = f"mvf-{secrets.token_hex(3)}"
    flavor = server.openstack_json("--os-compute-api-version", "2.55", "flavor", "create", "--ram", "256",
                                   "--disk", "1", "--vcpus", "1", "--description", "a small one", flavor_name,
                                   cloud="andromede-admin")
    assert flavor["description"] == "a small one"
    server.openstack("--os-compute-api-version", "2.55", "flavor", "set", "--description", "renamed", flavor_name,
                     cloud="andromede-admin")
    sdk = server.sdk("andromede-admin")
    try:
        found = {f.name: f for f in sdk.compute.flavors()}
        assert found[flavor_name].description == "renamed" and found[flavor_name].extra_specs == {}
    finally:
        server.openstack("flavor", "delete", flavor_name, cloud="andromede-admin")

    import openstack.connection

    conn = openstack.connection.Connection(
        auth_url=server.identity_url, username=member.name, password=member.password,
        project_name=member.project_name, user_domain_name="Default", project_domain_name="Default",
        region_name="RegionOne", identity_api_version="3", cacert=server.cacert)
    made = conn.compute.create_server(name=f"sdk-{secrets.token_hex(3)}", image_id=image_id, flavor_id="1",
                                      networks="none", description="from the sdk", tags=["sdk"])
    booted.append(made.id)
    shown = conn.compute.get_server(made.id)
    assert shown.description == "from the sdk" and shown.tags == ["sdk"]
    assert shown.flavor.original_name == "m1.tiny" and shown.flavor.vcpus == 1
    assert made.id in [s.id for s in conn.compute.servers(tags="sdk")]
    pair = conn.compute.create_keypair(name=f"k-{secrets.token_hex(3)}")
    assert pair.type == "ssh" and pair.private_key
    assert [k.name for k in conn.compute.keypairs()] == [pair.name]
    conn.compute.delete_keypair(pair)
    limits = conn.compute.get_limits().absolute
    assert limits.instances == 10
    hypervisors = list(sdk.compute.hypervisors(details=True))
    assert hypervisors and len(hypervisors[0].id) == 36
    assert sdk.compute.get_hypervisor(hypervisors[0].id).name == hypervisors[0].name
    assert all(len(s.id) == 36 for s in sdk.compute.services())


def test_keypairs_answer_each_versions_codes_and_pages(http: httpx.Client, member: Account, server: Server) -> None:
    token = member.token(server)
    names = sorted(f"kp-{i}-{secrets.token_hex(2)}" for i in range(3))
    for index, name in enumerate(names):
        version = "2.1" if index == 0 else "2.2"
        made = http.post(f"{V21}/os-keypairs", json={"keypair": {"name": name}}, headers=_at(version, token))
        assert made.status_code == (200 if version == "2.1" else 201), made.text
        assert ("type" in made.json()["keypair"]) is (version == "2.2")
    refused = http.post(f"{V21}/os-keypairs", json={"keypair": {"name": "t", "type": "ssh"}},
                        headers=_at("2.1", token))
    assert refused.status_code == 400
    page = http.get(f"{V21}/os-keypairs", params={"limit": 2}, headers=_at("2.35", token)).json()
    assert [k["keypair"]["name"] for k in page["keypairs"]] == names[:2] and "keypairs_links" in page
    rest = http.get(f"{V21}/os-keypairs", params={"marker": names[1]}, headers=_at("2.35", token)).json()
    assert [k["keypair"]["name"] for k in rest["keypairs"]] == names[2:]
    assert http.delete(f"{V21}/os-keypairs/{names[0]}", headers=_at("2.1", token)).status_code == 202
    assert http.delete(f"{V21}/os-keypairs/{names[1]}", headers=_at("2.2", token)).status_code == 204
    absolute = http.get(f"{V21}/limits", headers=_at("2.57", token)).json()["limits"]["absolute"]
    assert "maxPersonality" not in absolute and "maxSecurityGroups" not in absolute
    assert "maxPersonality" in http.get(f"{V21}/limits", headers=auth_headers(token)).json()["limits"]["absolute"]
