"""Server groups through the openstack CLI: created, listed, booted into with `--hint group=`, and their policy
enforced by the scheduler; another project's group is not found. Fake hypervisor behind the agent."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest

from andromede.compute.api.microversion import MAX_VERSION
from tests.functional.compute.test_servers import image_id  # noqa: F401
from tests.support.accounts import Admin, auth_headers, cli_as
from tests.support.hosts import add_host
from tests.support.server import Server

GROUPS = "/compute/v2.1/os-server-groups"


def _json(run: object, *args: str) -> dict | list:
    import json

    return json.loads(run(*args, "-f", "json").stdout)  # type: ignore[operator]


def test_server_group_lifecycle_and_hard_policies_on_one_host(server: Server, admin: Admin, image_id: str,  # noqa: F811
                                                               tmp_path: Path) -> None:
    owner = admin.account()
    run = cli_as(server, owner, tmp_path)
    name = f"sg-{secrets.token_hex(3)}"
    together = _json(run, "server", "group", "create", "--policy", "affinity", f"{name}-aff")
    apart = _json(run, "server", "group", "create", "--policy", "anti-affinity", f"{name}-anti")
    # OSC negotiates the server group API up to 2.64 now that we serve it: "policy" there, "policies" before.
    policy = together.get("policy", together.get("policies"))
    assert policy in (["affinity"], "affinity") and together["members"] in ("", [])
    listed = {g["ID"]: g for g in _json(run, "server", "group", "list")}
    assert set(listed) == {together["id"], apart["id"]}

    created: list[str] = []
    try:
        for index in range(2):  # affinity: both on the one host there is
            doc = _json(run, "server", "create", "--image", image_id, "--flavor", "m1.tiny", "--hint",
                        f"group={together['id']}", "--wait", f"{name}-a{index}")
            created.append(doc["id"])
            assert doc["status"] == "ACTIVE"
        shown = _json(run, "server", "group", "show", together["id"])
        assert sorted(shown["members"].split(", ") if isinstance(shown["members"], str) else shown["members"]) \
            == sorted(created)

        first = _json(run, "server", "create", "--image", image_id, "--flavor", "m1.tiny", "--hint",
                      f"group={apart['id']}", "--wait", f"{name}-b0")
        created.append(first["id"])
        # Anti-affinity on a cloud of one host: the second member has nowhere to go.
        second = run("server", "create", "--image", image_id, "--flavor", "m1.tiny", "--hint",
                     f"group={apart['id']}", "--wait", f"{name}-b1", check=False)
        refused = _json(run, "server", "show", f"{name}-b1")
        created.append(refused["id"])
        assert second.returncode != 0 and refused["status"] == "ERROR"  # type: ignore[attr-defined]
        assert "No valid host" in str(refused["fault"])
    finally:
        admin.delete_servers(created)
    # A deleted server leaves its group; the group goes with `server group delete`.
    assert _json(run, "server", "group", "show", together["id"])["members"] in ("", [])
    run("server", "group", "delete", together["id"], apart["id"])
    assert _json(run, "server", "group", "list") == []


def test_another_projects_group_is_not_found(server: Server, admin: Admin, http: httpx.Client,
                                             image_id: str, tmp_path: Path) -> None:  # noqa: F811
    owner, intruder = admin.account(), admin.account()
    run = cli_as(server, owner, tmp_path)
    group = _json(run, "server", "group", "create", "--policy", "anti-affinity", f"sg-{secrets.token_hex(3)}")
    theirs = auth_headers(intruder.token(server))
    assert http.get(f"{GROUPS}/{group['id']}", headers=theirs).status_code == 404
    assert http.delete(f"{GROUPS}/{group['id']}", headers=theirs).status_code == 404
    assert http.get(GROUPS, headers=theirs).json()["server_groups"] == []
    assert http.get(f"{GROUPS}?all_projects=True", headers=theirs).json()["server_groups"] == []  # admins only
    boot = http.post("/compute/v2.1/servers", headers=theirs, json={
        "server": {"name": "intruder", "imageRef": image_id, "flavorRef": "1", "networks": "none"},
        "os:scheduler_hints": {"group": group["id"]}})
    assert boot.status_code == 400 and "could not be found" in boot.text, boot.text
    assert http.get("/compute/v2.1/servers", headers=theirs).json()["servers"] == []
    # Untouched, and the cloud admin sees it across projects.
    everyone = admin.client.get(f"{GROUPS}?all_projects=True").json()["server_groups"]
    assert any(g["id"] == group["id"] and g["members"] == [] for g in everyone)
    assert group["id"] not in [g["id"] for g in admin.client.get(GROUPS).json()["server_groups"]]
    assert run("server", "group", "show", group["id"]) is not None


def test_bad_groups_and_hints_are_refused(server: Server, admin: Admin, http: httpx.Client) -> None:
    headers = auth_headers(admin.account().token(server))
    for body in ({"server_group": {"name": "x", "policies": ["spread-thin"]}},
                 {"server_group": {"name": "x", "policies": ["affinity", "anti-affinity"]}},
                 {"server_group": {"name": "x"}}, {"server_group": {"name": "", "policies": ["affinity"]}},
                 {"server_group": {"name": "x", "policy": "affinity"}}):
        answer = http.post(GROUPS, json=body, headers=headers)
        assert answer.status_code == 400 and set(answer.json()) == {"badRequest"}, (body, answer.text)
    assert http.get(f"{GROUPS}/{'0' * 8}-0000-4000-8000-{'0' * 12}", headers=headers).status_code == 404
    assert http.get(f"{GROUPS}?limit=x", headers=headers).status_code == 400
    boot = http.post("/compute/v2.1/servers", headers=headers, json={
        "server": {"name": "x", "imageRef": "x", "flavorRef": "1"}, "OS-SCH-HNT:scheduler_hints": {"group": "nope"}})
    assert boot.status_code == 400


def test_soft_policies_need_microversion_2_15(server: Server, admin: Admin, http: httpx.Client) -> None:
    headers = auth_headers(admin.account().token(server))
    body = {"server_group": {"name": "soft", "policies": ["soft-anti-affinity"]}}
    assert http.post(GROUPS, json=body, headers=headers).status_code == 400  # at 2.1, as Nova
    if MAX_VERSION < (2, 15):
        pytest.skip("soft policies come with microversion 2.15, not served yet")
    created = http.post(GROUPS, json=body, headers={**headers, "OpenStack-API-Version": "compute 2.15"})
    assert created.status_code == 200 and created.json()["server_group"]["policies"] == ["soft-anti-affinity"]


def test_policies_place_servers_across_hosts(fresh_server: Server, tmp_path: Path) -> None:
    """Two hosts: anti-affinity spreads, affinity gathers, soft anti-affinity spreads and then never fails."""
    from tests.functional.image import corpus

    admin = Admin(fresh_server)
    image = admin.public_image(corpus.small_qcow2(tmp_path / "base.qcow2", "64M"))
    other = add_host(fresh_server, f"hv-{secrets.token_hex(3)}")
    with other.client() as client:
        assert client.post(f"/internal/v1/hosts/{other.name}", json={
            "vcpus": 8, "memory_mib": 8192, "disk_gib": 100, "accelerator": "fake"}).status_code == 200
    member = admin.account()
    headers = auth_headers(member.token(fresh_server))
    with fresh_server.http() as http:
        def group(policy: str, version: str = "2.1") -> str:
            answer = http.post(GROUPS, json={"server_group": {"name": policy, "policies": [policy]}},
                               headers={**headers, "OpenStack-API-Version": f"compute {version}"})
            assert answer.status_code == 200, answer.text
            return answer.json()["server_group"]["id"]

        def boot(group_id: str) -> str | None:
            answer = http.post("/compute/v2.1/servers", headers=headers, json={
                "server": {"name": "g", "imageRef": image, "flavorRef": "1", "networks": "none"},
                "os:scheduler_hints": {"group": group_id}})
            assert answer.status_code == 202, answer.text
            shown = admin.client.get(f"/compute/v2.1/servers/{answer.json()['server']['id']}").json()["server"]
            return shown["OS-EXT-SRV-ATTR:host"]

        apart = group("anti-affinity")
        hosts = [boot(apart) for _ in range(3)]
        assert None not in hosts[:2] and hosts[0] != hosts[1] and hosts[2] is None, hosts
        together = group("affinity")
        first = boot(together)
        assert first is not None and [boot(together) for _ in range(2)] == [first, first]
        if MAX_VERSION >= (2, 15):
            soft = group("soft-anti-affinity", "2.15")
            spread = [boot(soft) for _ in range(3)]
            assert len(set(spread[:2])) == 2 and spread[2] is not None, spread
