"""Issue 13, item 11: malformed input answers 400 (or 404) in the service's own format, never a 500, and changes
nothing; a read never writes (a project's `default` security group is made only for a project that exists)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import httpx
import pytest

from tests.support.accounts import Admin, auth_headers, cli_as
from tests.support.server import Server

NET = "/network/v2.0"
DEEP = b"[" * 1500 + b"]" * 1500


def _neutron_error(response: httpx.Response, status: int, kind: str | None = None) -> dict:
    assert response.status_code == status, response.text[:300]
    error = response.json()["NeutronError"]
    assert error["message"] and "Traceback" not in response.text
    if kind:
        assert error["type"] == kind, error
    return error


def _nova_error(response: httpx.Response, status: int, fault: str) -> None:
    assert response.status_code == status, response.text[:300]
    assert response.json()[fault]["code"] == status


def _glance_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text[:300]
    body = response.json()
    assert body["message"] and body["code"].startswith(str(status)), body


def _keystone_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text[:300]
    assert response.json()["error"]["code"] == status


# ---- Neutron list filters on attributes holding objects -----------------------------------------

@pytest.mark.parametrize("collection,attribute", [
    ("ports", "allowed_address_pairs"), ("ports", "extra_dhcp_opts"), ("security-groups", "security_group_rules"),
    ("subnets", "allocation_pools"), ("subnets", "host_routes"), ("routers", "external_gateway_info"),
    ("routers", "routes"), ("agents", "configurations")])
def test_filtering_on_an_object_attribute_is_a_400(server: Server, admin: Admin, http: httpx.Client,
                                                   collection: str, attribute: str) -> None:
    # agents are admin-only; the rest as a tenant that owns one of each (so there are documents to compare)
    token = server.admin_token() if collection == "agents" else admin.account().token(server)
    headers = auth_headers(token)
    if collection != "agents":
        network = http.post(f"{NET}/networks", json={"network": {}}, headers=headers).json()["network"]
        http.post(f"{NET}/subnets", json={"subnet": {"network_id": network["id"], "cidr": "10.9.0.0/24",
                                                     "ip_version": 4}}, headers=headers)
        http.post(f"{NET}/ports", json={"port": {"network_id": network["id"]}}, headers=headers)
        http.post(f"{NET}/routers", json={"router": {}}, headers=headers)
    error = _neutron_error(http.get(f"{NET}/{collection}", params={attribute: "x"}, headers=headers), 400,
                           "HTTPBadRequest")
    assert attribute in error["message"]


def test_ports_filter_on_fixed_ips_as_neutron_does(server: Server, admin: Admin, http: httpx.Client,
                                                   tmp_path: Path) -> None:
    account = admin.account()
    headers = auth_headers(account.token(server))
    network = http.post(f"{NET}/networks", json={"network": {}}, headers=headers).json()["network"]
    subnets = [http.post(f"{NET}/subnets", json={"subnet": {"network_id": network["id"], "cidr": cidr,
                                                            "ip_version": 4, "enable_dhcp": False}},
                         headers=headers).json()["subnet"]
               for cidr in ("10.31.0.0/24", "10.32.0.0/24")]
    ports = [http.post(f"{NET}/ports", json={"port": {"network_id": network["id"], "fixed_ips": [
        {"subnet_id": subnet["id"], "ip_address": address}]}}, headers=headers).json()["port"]
        for subnet, address in ((subnets[0], "10.31.0.10"), (subnets[1], "10.32.0.10"), (subnets[1], "10.32.0.11"))]

    def listed(*filters: str) -> set[str]:
        response = http.get(f"{NET}/ports", params=[("network_id", network["id"])] +
                            [("fixed_ips", f) for f in filters], headers=headers)
        assert response.status_code == 200, response.text
        return {p["id"] for p in response.json()["ports"]}

    ids = [p["id"] for p in ports]
    assert listed("ip_address=10.31.0.10") == {ids[0]}
    assert listed("ip_address=10.31.0.10", "ip_address=10.32.0.11") == {ids[0], ids[2]}
    assert listed(f"subnet_id={subnets[1]['id']}") == {ids[1], ids[2]}
    assert listed(f"subnet_id={subnets[1]['id']}", "ip_address=10.31.0.10") == set()
    assert listed("ip_address_substr=0.32.0.1") == {ids[1], ids[2]}
    assert listed("ip_address=10.99.0.1") == set()
    for malformed in ("x", "=10.31.0.10"):
        error = _neutron_error(http.get(f"{NET}/ports", params={"fixed_ips": malformed}, headers=headers), 400,
                               "InvalidInput")
        assert "is not of the form <key>=[value]" in error["message"]
    # what `openstack port list --fixed-ip ip-address=...` sends
    cli = cli_as(server, account, tmp_path)
    found = cli("port", "list", "--network", network["id"], "--fixed-ip", "ip-address=10.32.0.11", "-f", "json")
    assert [p["ID"] for p in json.loads(found.stdout)] == [ids[2]]


# ---- deeply nested bodies ----------------------------------------------------------------------

def test_deeply_nested_bodies_are_400_before_parsing(server: Server, admin: Admin, http: httpx.Client) -> None:
    account = admin.account()
    headers = {**auth_headers(account.token(server)), "Content-Type": "application/json"}
    action = "/compute/v2.1/servers/00000000-0000-0000-0000-000000000000/action"
    # without a token (the fuzz run's 500): a JSON body is checked on the way in, any other is never read
    _nova_error(http.post(action, content=b'{"os-start": ' + DEEP + b"}",
                          headers={"Content-Type": "application/json"}), 400, "badRequest")
    _nova_error(http.post(action, content=DEEP, headers={"Content-Type": "text/plain"}), 401, "unauthorized")
    _nova_error(http.post(action, content=b'{"os-start": ' + DEEP + b"}", headers=headers), 400, "badRequest")
    _nova_error(http.post(action, content=DEEP, headers={**headers, "Content-Type": "text/plain"}), 400,
                "badRequest")
    _nova_error(http.post("/compute/v2.1/servers", content=DEEP, headers=headers), 400, "badRequest")
    _neutron_error(http.post(f"{NET}/networks", content=b'{"network": {"name": ' + DEEP + b"}}", headers=headers),
                   400)
    _keystone_error(http.post("/identity/v3/auth/tokens", content=DEEP, headers={"Content-Type": "application/json"}),
                    400)

    before = http.get("/image/v2/images", headers=headers).json()["images"]
    _glance_error(http.post("/image/v2/images", content=DEEP, headers=headers), 400)
    assert http.get("/image/v2/images", headers=headers).json()["images"] == before
    image = http.post("/image/v2/images", json={"name": "deep", "disk_format": "raw", "container_format": "bare"},
                      headers=headers).json()
    patch = b'[{"op": "add", "path": "/deep", "value": ' + DEEP + b"}]"
    _glance_error(http.patch(f"/image/v2/images/{image['id']}", content=patch, headers={
        **headers, "Content-Type": "application/openstack-images-v2.1-json-patch"}), 400)
    _glance_error(http.post(f"/image/v2/images/{image['id']}/members", content=b'{"member": ' + DEEP + b"}",
                            headers=headers), 400)
    _glance_error(http.put(f"/image/v2/images/{image['id']}/members/{account.project_id}",
                           content=b'{"status": ' + DEEP + b"}", headers=headers), 400)
    after = http.get(f"/image/v2/images/{image['id']}", headers=headers).json()
    assert "deep" not in after and after["updated_at"] == image["updated_at"]
    assert http.get(f"/image/v2/images/{image['id']}/members", headers=headers).json()["members"] == []
    # 64 levels are still JSON we read
    shallow = b'{"network": {"name": "shallow", "description": "' + b"[" * 100 + b'"}}'
    assert http.post(f"{NET}/networks", content=shallow, headers=headers).status_code == 201


# ---- encodings ----------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "utf-8-sig"])
def test_json_that_is_not_utf8_is_refused(server: Server, admin: Admin, http: httpx.Client, encoding: str) -> None:
    headers = {**auth_headers(admin.account().token(server)), "Content-Type": "application/json"}
    name = f"enc-{secrets.token_hex(3)}"
    body = json.dumps({"network": {"name": name}}).encode(encoding)
    error = _neutron_error(http.post(f"{NET}/networks", content=body, headers=headers), 400)
    assert "UTF-8" in error["message"]
    assert http.get(f"{NET}/networks", params={"name": name}, headers=headers).json()["networks"] == []
    image = json.dumps({"name": name, "disk_format": "raw", "container_format": "bare"}).encode(encoding)
    _glance_error(http.post("/image/v2/images", content=image, headers=headers), 400)
    assert http.get("/image/v2/images", params={"name": name}, headers=headers).json()["images"] == []
    _nova_error(http.post("/compute/v2.1/servers", content=json.dumps({"server": {"name": name}}).encode(encoding),
                          headers=headers), 400, "badRequest")
    _keystone_error(http.post("/identity/v3/auth/tokens", content=json.dumps({"auth": {}}).encode(encoding),
                              headers={"Content-Type": "application/json"}), 400)


# ---- paths no route matches ---------------------------------------------------------------------

def test_unrouted_paths_answer_in_the_service_format(server: Server, admin: Admin, http: httpx.Client) -> None:
    headers = auth_headers(admin.account().token(server))
    for suffix in ("%0a", "%0d%0a", "x%0a", "%0ax"):
        _nova_error(http.get(f"/compute/v2.1/servers/{suffix}", headers=headers), 404, "itemNotFound")
        _neutron_error(http.get(f"{NET}/ports/{suffix}", headers=headers), 404)
        _glance_error(http.get(f"/image/v2/images/{suffix}", headers=headers), 404)
        _keystone_error(http.get(f"/identity/v3/projects/{suffix}", headers=headers), 404)
    _keystone_error(http.get("/network%0a/v2.0/ports", headers=headers), 404)  # no service's prefix
    _nova_error(http.request("PATCH", "/compute/v2.1/servers", headers=headers), 405, "badMethod")


# ---- reads never write --------------------------------------------------------------------------

def _all_groups(admin: Admin) -> list[str]:
    return sorted(g["id"] for g in admin.client.get(f"{NET}/security-groups").json()["security_groups"])


def test_listing_groups_of_an_unknown_project_creates_nothing(admin: Admin) -> None:
    before = _all_groups(admin)
    for path in ("security-groups", "security-group-rules"):
        for key in ("project_id", "tenant_id"):
            made_up = f"nope-{secrets.token_hex(8)}"
            listed = admin.client.get(f"{NET}/{path}", params={key: made_up})
            assert listed.status_code == 200 and listed.json()[path.replace("-", "_")] == []
    assert _all_groups(admin) == before
    # A project that exists gets its default group on first use, as in Neutron.
    project_id, _ = admin.project()
    listed = admin.client.get(f"{NET}/security-groups", params={"project_id": project_id}).json()["security_groups"]
    assert [g["name"] for g in listed] == ["default"]


# ---- found by the fuzz pass ---------------------------------------------------------------------

def test_out_of_range_numbers_are_400(admin: Admin) -> None:
    """A VXLAN id past 24 bits reached the database (an overflow on SQLite: a 500)."""
    before = admin.client.get(f"{NET}/networks").json()["networks"]
    for vni in (2**63, 2**24, 0, -1):
        made = admin.client.post(f"{NET}/networks", json={"network": {"provider:segmentation_id": vni}})
        _neutron_error(made, 400)
    assert admin.client.get(f"{NET}/networks").json()["networks"] == before


def test_credentials_for_a_user_that_does_not_exist_are_400(admin: Admin) -> None:
    """An admin's credential naming no user reached the database (a foreign key: a 500)."""
    project_id, _ = admin.project()
    made = admin.client.post("/identity/v3/credentials", json={"credential": {
        "type": "cert", "user_id": f"nobody-{secrets.token_hex(4)}", "project_id": project_id, "blob": "x"}})
    _keystone_error(made, 400)
