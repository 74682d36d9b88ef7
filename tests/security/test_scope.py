"""Issue 13, item 3: `admin` on a project is that project's administrator, never the cloud's.

Each attack runs with the real `openstack` CLI as the customer's own administrator (admin on project X),
then as a domain manager; the cloud operator (system-scoped `andromede-admin`) does the same things and
succeeds. Every refusal is checked for having changed nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

import httpx
import pyotp
import pytest
import yaml

from tests.functional.image import corpus
from tests.support.accounts import Account, Admin, auth_headers
from tests.support.server import Server

OPERATOR = "andromede-admin"
V3 = "/identity/v3"
Cli = Callable[..., object]


def _cli(server: Server, tmp_path: Path, auth_type: str, auth: dict) -> Cli:
    cloud = {"auth_type": auth_type, "region_name": "RegionOne", "identity_api_version": 3,
             "cacert": server.cacert, "auth": {"auth_url": server.identity_url, **auth}}
    path = tmp_path / f"clouds-{secrets.token_hex(3)}.yaml"
    path.write_text(yaml.safe_dump({"clouds": {"mine": cloud}}))

    def run(*args: str, check: bool = False):  # type: ignore[no-untyped-def]
        return server.openstack(*args, cloud="mine", check=check, env={"OS_CLIENT_CONFIG_FILE": str(path)})

    return run


def _project_admin_cli(server: Server, admin: Admin, account: Account, tmp_path: Path) -> Cli:
    """Holders of `admin` log in with a password and a TOTP code: enrol one, log in, hand the CLI the token."""
    secret = pyotp.random_base32()
    enrolled = admin.client.post(f"{V3}/credentials", json={"credential": {
        "type": "totp", "user_id": account.user_id, "blob": secret}})
    assert enrolled.status_code == 201, enrolled.text
    user = {"name": account.name, "domain": {"id": "default"}}
    with server.http() as client:
        response = client.post(f"{V3}/auth/tokens", json={"auth": {
            "identity": {"methods": ["password", "totp"],
                         "password": {"user": {**user, "password": account.password}},
                         "totp": {"user": {**user, "passcode": pyotp.TOTP(secret).now()}}},
            "scope": {"project": {"id": account.project_id}}}})
    assert response.status_code == 201, response.text
    return _cli(server, tmp_path, "v3token", {"token": response.headers["X-Subject-Token"],
                                              "project_id": account.project_id})


def _refused(result) -> None:  # type: ignore[no-untyped-def]
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    assert any(word in result.stderr for word in ("403", "Forbidden", "not authorized", "No ", "404")), result.stderr


@pytest.fixture(scope="module")
def image_id(server: Server, admin: Admin, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = corpus.small_qcow2(tmp_path_factory.mktemp("scope-img") / "base.qcow2", "64M")
    image = admin.client.post("/image/v2/images", json={
        "name": f"scope-{secrets.token_hex(3)}", "disk_format": "qcow2", "container_format": "bare",
        "visibility": "public"}).json()
    uploaded = admin.client.put(f"/image/v2/images/{image['id']}/file", content=path.read_bytes(),
                                headers={"Content-Type": "application/octet-stream"})
    assert uploaded.status_code == 204, uploaded.text
    return image["id"]


def _boot(http: httpx.Client, token: str, image_id: str) -> str:
    response = http.post("/compute/v2.1/servers", headers=auth_headers(token), json={"server": {
        "name": f"vm-{secrets.token_hex(3)}", "imageRef": image_id, "flavorRef": "1"}})
    assert response.status_code == 202, response.text
    return response.json()["server"]["id"]


def test_project_admin_is_not_a_cloud_operator(server: Server, admin: Admin, http: httpx.Client,
                                               image_id: str, tmp_path: Path) -> None:
    x = admin.project("x")
    customer_admin = admin.account("admin", x)
    x_member, y_member = admin.account("member", x), admin.account()
    x_server = _boot(http, x_member.token(server), image_id)
    y_server = _boot(http, y_member.token(server), image_id)
    cli = _project_admin_cli(server, admin, customer_admin, tmp_path)
    admin_role = admin.role_id("admin")
    try:
        # Identity: Keystone answers 403 to a project-scoped project list (the CLI then falls back to the
        # caller's own projects: X alone); no users, no grants.
        listed = cli("project", "list", "-f", "json")
        assert listed.returncode != 0 or {p["ID"] for p in yaml.safe_load(listed.stdout)} == {x[0]}  # type: ignore[attr-defined]
        evil = f"evil-{secrets.token_hex(3)}"
        _refused(cli("user", "create", f"--password={secrets.token_urlsafe(12)}", evil))
        assert admin.client.get(f"{V3}/users", params={"name": evil}).json()["users"] == []
        # (`openstack role add` exits 0 even when Keystone answers 403: the grant's absence is the proof.)
        cli("role", "add", "--user", customer_admin.user_id, "--project", y_member.project_id, "admin")
        cli("role", "add", "--user", customer_admin.user_id, "--system", "all", "admin")
        token = cli("token", "issue", "-f", "value", "-c", "id", check=True).stdout.strip()  # type: ignore[attr-defined]
        for path in (f"projects/{y_member.project_id}", f"projects/{x[0]}", "domains/default", "system"):
            put = http.put(f"{V3}/{path}/users/{customer_admin.user_id}/roles/{admin_role}",
                           headers=auth_headers(token))
            assert put.status_code == 403, (path, put.text)
        assert admin.client.head(f"{V3}/projects/{y_member.project_id}/users/{customer_admin.user_id}"
                                 f"/roles/{admin_role}").status_code == 404
        assert admin.client.get(f"{V3}/system/users/{customer_admin.user_id}/roles").json()["roles"] == []

        # Compute: every project's servers, another's server, the hosts, the flavors.
        listed = cli("server", "list", "--all-projects", "-f", "json", check=True)
        ids = {row["ID"] for row in yaml.safe_load(listed.stdout)}  # type: ignore[attr-defined]
        assert x_server in ids and y_server not in ids
        _refused(cli("server", "show", y_server))
        _refused(cli("server", "delete", y_server))
        assert admin.client.get(f"/compute/v2.1/servers/{y_server}").status_code == 200
        _refused(cli("hypervisor", "list"))
        flavor = f"big-{secrets.token_hex(3)}"
        _refused(cli("flavor", "create", "--vcpus", "64", "--ram", "65536", "--disk", "1", flavor))
        assert all(f["name"] != flavor for f in admin.client.get("/compute/v2.1/flavors").json()["flavors"])

        # Network: another project's quota.
        before = admin.client.get(f"/network/v2.0/quotas/{y_member.project_id}").json()
        changed = http.put(f"/network/v2.0/quotas/{y_member.project_id}", headers=auth_headers(token),
                           json={"quota": {"network": 1000}})
        assert changed.status_code in (403, 404), changed.text
        assert admin.client.get(f"/network/v2.0/quotas/{y_member.project_id}").json() == before

        # Within X the customer's administrator does administer: its members' servers are its servers.
        shown = cli("server", "show", x_server, "-f", "json", check=True)
        assert yaml.safe_load(shown.stdout)["id"] == x_server  # type: ignore[attr-defined]
    finally:
        admin.delete_servers([x_server, y_server])


def test_the_system_admin_does_all_of_it(server: Server, admin: Admin, http: httpx.Client, image_id: str) -> None:
    y_member = admin.account()
    y_server = _boot(http, y_member.token(server), image_id)
    try:
        token = server.openstack_json("token", "issue", cloud=OPERATOR)
        assert isinstance(token, dict) and not token.get("project_id")
        operator = server.app_credential_token(OPERATOR)
        body = http.get(f"{V3}/auth/tokens", headers={"X-Auth-Token": operator, "X-Subject-Token": operator}
                        ).json()["token"]
        assert body["system"] == {"all": True} and "project" not in body
        assert {"admin", "manager", "member", "reader"} <= {role["name"] for role in body["roles"]}
        assert {entry["type"] for entry in body["catalog"]} >= {"identity", "compute", "network", "image"}
        names = {p["Name"] for p in server.openstack_json("project", "list", cloud=OPERATOR)}  # type: ignore[index]
        assert y_member.project_name in names
        user = f"op-{secrets.token_hex(3)}"
        server.openstack("user", "create", f"--password={secrets.token_urlsafe(12)}", user, cloud=OPERATOR)
        server.openstack("role", "add", "--user", user, "--project", y_member.project_id, "admin", cloud=OPERATOR)
        server.openstack("role", "add", "--user", user, "--system", "all", "reader", cloud=OPERATOR)
        listed = server.openstack_json("server", "list", "--all-projects", cloud=OPERATOR)
        assert y_server in {row["ID"] for row in listed}  # type: ignore[index]
        assert server.openstack_json("server", "show", y_server, cloud=OPERATOR)["id"] == y_server  # type: ignore[index]
        assert server.openstack_json("hypervisor", "list", cloud=OPERATOR)
        flavor = f"op-{secrets.token_hex(3)}"
        server.openstack("flavor", "create", "--vcpus", "1", "--ram", "64", "--disk", "1", flavor, cloud=OPERATOR)
        server.openstack("flavor", "delete", flavor, cloud=OPERATOR)
        changed = admin.client.put(f"/network/v2.0/quotas/{y_member.project_id}", json={"quota": {"network": 7}})
        assert changed.status_code == 200 and changed.json()["quota"]["network"] == 7
        server.openstack("user", "delete", user, cloud=OPERATOR)
        # No project of its own: a server needs one (Nova refuses a system-scoped create), as does a network.
        refused = server.openstack("network", "create", f"n-{secrets.token_hex(3)}", cloud=OPERATOR, check=False)
        assert refused.returncode != 0 and "project" in refused.stderr
    finally:
        admin.delete_servers([y_server])


def _domain_with_manager(admin: Admin) -> tuple[str, str, dict]:
    """A customer's domain and its manager (`manager` on the domain): name, id and the manager's login."""
    name = f"cust-{secrets.token_hex(3)}"
    domain = admin.client.post(f"{V3}/domains", json={"domain": {"name": name}})
    assert domain.status_code == 201, domain.text
    domain_id = domain.json()["domain"]["id"]
    login = {"username": f"mgr-{secrets.token_hex(3)}", "password": secrets.token_urlsafe(16)}
    user = admin.client.post(f"{V3}/users", json={"user": {"name": login["username"], "password": login["password"],
                                                           "domain_id": domain_id}})
    assert user.status_code == 201, user.text
    granted = admin.client.put(f"{V3}/domains/{domain_id}/users/{user.json()['user']['id']}/roles/"
                               f"{admin.role_id('manager')}")
    assert granted.status_code == 204, granted.text
    return name, domain_id, login


def test_a_domain_manager_runs_its_domain_and_nothing_more(server: Server, admin: Admin, http: httpx.Client,
                                                           tmp_path: Path) -> None:
    name, domain_id, login = _domain_with_manager(admin)
    cli = _cli(server, tmp_path, "password", {**login, "user_domain_name": name, "domain_name": name})
    project = f"team-{secrets.token_hex(3)}"
    cli("project", "create", "--domain", name, project, check=True)
    newcomer = f"dev-{secrets.token_hex(3)}"
    cli("user", "create", "--domain", name, f"--password={secrets.token_urlsafe(12)}", newcomer, check=True)
    grant = ("role", "add", "--user", newcomer, "--user-domain", name, "--project", project, "--project-domain", name)
    cli(*grant, "member", check=True)
    cli(*grant, "manager", check=True)
    users = {u["Name"] for u in yaml.safe_load(cli("user", "list", "-f", "json", check=True).stdout)}  # type: ignore[attr-defined]
    assert newcomer in users and "admin" not in users  # its own domain only

    project_id = admin.client.get(f"{V3}/projects", params={"name": project, "domain_id": domain_id}
                                  ).json()["projects"][0]["id"]
    newcomer_id = admin.client.get(f"{V3}/users", params={"name": newcomer, "domain_id": domain_id}
                                   ).json()["users"][0]["id"]
    admin_role = admin.role_id("admin")
    # Never admin, whether on its project, its domain or the system (`role add` exits 0 on a 403: the
    # grants' absence is the proof, and the raw calls show the 403).
    cli(*grant, "admin")
    cli("role", "add", "--user", newcomer, "--user-domain", name, "--domain", name, "admin")
    cli("role", "add", "--user", newcomer, "--user-domain", name, "--system", "all", "admin")
    token = cli("token", "issue", "-f", "value", "-c", "id", check=True).stdout.strip()  # type: ignore[attr-defined]
    assert admin.client.head(f"{V3}/projects/{project_id}/users/{newcomer_id}/roles/{admin_role}").status_code == 404
    assert admin.client.head(f"{V3}/domains/{domain_id}/users/{newcomer_id}/roles/{admin_role}").status_code == 404

    for path in (f"projects/{project_id}", f"domains/{domain_id}", "system"):
        put = http.put(f"{V3}/{path}/users/{newcomer_id}/roles/{admin_role}", headers=auth_headers(token))
        assert put.status_code == 403, (path, put.text)

    # Nothing in another domain: its users, projects and grants are out of reach.
    victim = admin.account()
    member_role = admin.role_id("member")
    cli("role", "add", "--user", newcomer_id, "--project", victim.project_id, "member")
    cli("role", "add", "--user", victim.user_id, "--project", project_id, "member")
    for path, user_id in ((f"projects/{victim.project_id}", newcomer_id), (f"projects/{project_id}", victim.user_id)):
        put = http.put(f"{V3}/{path}/users/{user_id}/roles/{member_role}", headers=auth_headers(token))
        assert put.status_code == 403, (path, put.text)
    _refused(cli("user", "set", "--password", "hijacked-password", victim.user_id))
    _refused(cli("user", "create", "--domain", "Default", f"--password={secrets.token_urlsafe(12)}", "intruder"))
    assert admin.client.get(f"{V3}/role_assignments", params={"user.id": newcomer_id, "scope.project.id":
                                                              victim.project_id}).json()["role_assignments"] == []
    assert admin.client.get(f"{V3}/role_assignments", params={"user.id": victim.user_id, "scope.project.id":
                                                              project_id}).json()["role_assignments"] == []
    assert victim.token(server)  # the victim's password still works
    assert admin.client.get(f"{V3}/users", params={"name": "intruder"}).json()["users"] == []
