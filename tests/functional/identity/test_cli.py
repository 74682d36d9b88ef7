"""The acceptance path through the real python-openstackclient, using the clouds.yaml the server wrote."""

from __future__ import annotations

import secrets
from pathlib import Path

import yaml

from tests.support.accounts import Admin
from tests.support.server import Server


def _clouds_file(server: Server, tmp_path: Path, auth: dict, auth_type: str = "password") -> Path:
    cloud = {"auth_type": auth_type, "auth": {"auth_url": server.identity_url, **auth},
             "region_name": "RegionOne", "identity_api_version": 3, "cacert": server.cacert}
    path = tmp_path / "clouds.yaml"
    path.write_text(yaml.safe_dump({"clouds": {"mine": cloud}}))
    return path


def test_token_issue_and_catalog_with_the_written_clouds_yaml(server: Server) -> None:
    token = server.openstack_json("token", "issue")
    demo = server.sdk("andromede-admin").identity.find_project("demo", ignore_missing=False)
    assert token["project_id"] == demo.id
    assert token["id"] and token["expires"]

    catalog = server.openstack_json("catalog", "list")
    identity = next(entry for entry in catalog if entry["Type"] == "identity")
    urls = {endpoint["url"] for endpoint in identity["Endpoints"]}
    assert urls == {server.identity_url}
    assert {e["region"] for e in identity["Endpoints"]} == {"RegionOne"}


def test_project_create_list_delete(server: Server) -> None:
    name = f"cli-{secrets.token_hex(4)}"
    created = server.openstack_json("project", "create", "--description", "made by the CLI", name,
                                    cloud="andromede-admin")
    assert created["name"] == name and created["enabled"] is True
    listed = server.openstack_json("project", "list", cloud="andromede-admin")
    assert name in {p["Name"] for p in listed}
    server.openstack("project", "delete", name, cloud="andromede-admin")
    listed = server.openstack_json("project", "list", cloud="andromede-admin")
    assert name not in {p["Name"] for p in listed}


def test_user_role_and_application_credential_flow(server: Server, admin: Admin, tmp_path: Path) -> None:
    project_id, project_name = admin.project("cli")
    user, password = f"cli-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    server.openstack("user", "create", f"--password={password}", "--project", project_name, user,
                     cloud="andromede-admin")
    server.openstack("role", "add", "--user", user, "--project", project_name, "member", cloud="andromede-admin")

    assignments = server.openstack_json("role", "assignment", "list", "--user", user, "--names",
                                        cloud="andromede-admin")
    assert [(a["Role"], a["Project"]) for a in assignments] == [("member", f"{project_name}@Default")]

    mine = _clouds_file(server, tmp_path, {"username": user, "password": password, "project_name": project_name,
                                           "user_domain_name": "Default", "project_domain_name": "Default"})
    env = {"OS_CLIENT_CONFIG_FILE": str(mine)}
    token = server.openstack("token", "issue", "-f", "json", cloud="mine", env=env)
    assert project_id in token.stdout

    created = server.openstack("application", "credential", "create", "--description", "ci", "-f", "yaml",
                               "robot", cloud="mine", env=env)
    credential = yaml.safe_load(created.stdout)
    assert credential["Secret"] and credential["Project ID"] == project_id

    app_file = tmp_path / "app"
    app_file.mkdir()
    app_clouds = _clouds_file(server, app_file, {"application_credential_id": credential["ID"],
                                                 "application_credential_secret": credential["Secret"]},
                              auth_type="v3applicationcredential")
    token = server.openstack("token", "issue", "-f", "yaml", cloud="mine",
                             env={"OS_CLIENT_CONFIG_FILE": str(app_clouds)})
    assert yaml.safe_load(token.stdout)["project_id"] == project_id

    listed = server.openstack("application", "credential", "list", "-f", "yaml", cloud="mine", env=env)
    assert [c["Name"] for c in yaml.safe_load(listed.stdout)] == ["robot"]
    assert credential["Secret"] not in listed.stdout  # the secret is shown once, at creation
