"""Throwaway users and projects with a given role, made through an admin HTTP client."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.support.polling import poll
from tests.support.server import Server


@dataclass
class Account:
    user_id: str
    name: str
    password: str
    project_id: str
    project_name: str

    def token(self, server: Server, scoped: bool = True) -> str:
        return server.token(self.name, self.password, self.project_name if scoped else None)


class Admin:
    """The cloud operator: a system-scoped admin token (`admin` on a project is that project's only).

    A system-scoped token has no project, so resources it creates in Neutron name their owner: pass
    `project_id=admin.project_id` (the `admin` project) or the project they are for.
    """

    def __init__(self, server: Server) -> None:
        self.server = server
        self.client = server.http()
        self.client.headers["X-Auth-Token"] = server.admin_token()
        projects = self.client.get("/identity/v3/projects", params={"name": "admin"}).json()["projects"]
        self.project_id: str = projects[0]["id"]

    def role_id(self, name: str) -> str:
        roles = self.client.get("/identity/v3/roles", params={"name": name}).json()["roles"]
        return roles[0]["id"]

    def project(self, prefix: str = "p") -> tuple[str, str]:
        name = f"{prefix}-{secrets.token_hex(4)}"
        response = self.client.post("/identity/v3/projects", json={"project": {"name": name}})
        assert response.status_code == 201, response.text
        return response.json()["project"]["id"], name

    def public_image(self, path: Path, prefix: str = "base") -> str:
        """A public qcow2 image of the file at `path`, uploaded and active; its id."""
        body = {"name": f"{prefix}-{secrets.token_hex(3)}", "disk_format": "qcow2", "container_format": "bare",
                "visibility": "public"}
        image = self.client.post("/image/v2/images", json=body).json()
        uploaded = self.client.put(f"/image/v2/images/{image['id']}/file", content=path.read_bytes(),
                                   headers={"Content-Type": "application/octet-stream"})
        assert uploaded.status_code == 204, uploaded.text
        return image["id"]

    def account(self, role: str = "member", project: tuple[str, str] | None = None) -> Account:
        project_id, project_name = project or self.project()
        name, password = f"u-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
        response = self.client.post("/identity/v3/users", json={"user": {"name": name, "password": password}})
        assert response.status_code == 201, response.text
        user_id = response.json()["user"]["id"]
        grant = self.client.put(f"/identity/v3/projects/{project_id}/users/{user_id}/roles/{self.role_id(role)}")
        assert grant.status_code == 204, grant.text
        return Account(user_id, name, password, project_id, project_name)

    def delete_servers(self, ids: list[str], timeout: float = 300) -> None:
        """Delete these servers and wait until they are gone: a session cloud's one real host has 8 vCPUs to
        give (2 cores, allocation ratio 4), and servers left behind starve the tests that follow."""
        for server_id in ids:
            self.client.delete(f"/compute/v2.1/servers/{server_id}")
        remaining = list(ids)

        def gone() -> bool:
            remaining[:] = [i for i in remaining
                            if self.client.get(f"/compute/v2.1/servers/{i}").status_code != 404]
            return not remaining
        poll(gone, timeout, f"servers {remaining} to be deleted", interval=1.0)


def auth_headers(token: str) -> dict[str, str]:
    return {"X-Auth-Token": token}


def cli_as(server: Server, account: Account, tmp_path: Path) -> Callable[..., object]:
    """`openstack ...` as this account, in its own project (so names such as `default` are unambiguous)."""
    cloud = {"auth_type": "password", "region_name": "RegionOne", "identity_api_version": 3,
             "cacert": server.cacert,
             "auth": {"auth_url": server.identity_url, "username": account.name, "password": account.password,
                      "project_name": account.project_name, "user_domain_name": "Default",
                      "project_domain_name": "Default"}}
    path = tmp_path / f"clouds-{account.name}.yaml"
    path.write_text(yaml.safe_dump({"clouds": {"mine": cloud}}))

    def run(*args: str, check: bool = True):  # type: ignore[no-untyped-def]
        return server.openstack(*args, cloud="mine", check=check, env={"OS_CLIENT_CONFIG_FILE": str(path)})

    return run
