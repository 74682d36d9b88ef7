"""The cross-tenant matrix: project B, a member of its own project, aims every verb of every API at project A.

A's resources answer 404 to every call (never a 403 that confirms they exist); a field of B's own request that
names one of A's resources is refused (400/404) and creates nothing; and A's view of its estate is unchanged
afterwards. Identity answers the same for A's objects as for ids that exist nowhere, so it is no oracle either.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from tests.functional.image import corpus
from tests.functional.network.test_routers import NET, external_network, remove_external_network
from tests.support.accounts import Account, Admin, auth_headers
from tests.support.polling import poll
from tests.support.server import Server

COMPUTE = "/compute/v2.1"
IMAGE = "/image/v2"
IDENTITY = "/identity/v3"
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}


@dataclass
class Estate:
    """One project's resources, every type the cloud serves, with the ids the matrix aims at."""

    account: Account
    token: str
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return auth_headers(self.token)


def _created(response: httpx.Response, key: str) -> dict:
    assert response.status_code in (200, 201, 202), response.text
    return response.json()[key]


def _build(server: Server, http: httpx.Client, admin: Admin, image_path: bytes, cidr: str,
           public_id: str) -> Estate:
    account = admin.account()
    estate = Estate(account, account.token(server))
    h, ids = estate.headers, estate.ids

    def post(path: str, key: str, body: dict) -> dict:
        return _created(http.post(path, json={key: body}, headers=h), key)

    network = post(f"{NET}/networks", "network", {"name": f"n-{secrets.token_hex(3)}"})
    subnet = post(f"{NET}/subnets", "subnet", {"network_id": network["id"], "cidr": cidr, "ip_version": 4})
    port = post(f"{NET}/ports", "port", {"network_id": network["id"], "name": "spare"})
    group = post(f"{NET}/security-groups", "security_group", {"name": f"g-{secrets.token_hex(3)}"})
    rule = post(f"{NET}/security-group-rules", "security_group_rule",
                {"security_group_id": group["id"], "direction": "ingress", "protocol": "tcp",
                 "port_range_min": 22, "port_range_max": 22})
    router = post(f"{NET}/routers", "router", {"name": f"r-{secrets.token_hex(3)}",
                                               "external_gateway_info": {"network_id": public_id}})
    assert http.put(f"{NET}/routers/{router['id']}/add_router_interface", json={"subnet_id": subnet["id"]},
                    headers=h).status_code == 200
    fip = post(f"{NET}/floatingips", "floatingip", {"floating_network_id": public_id, "port_id": port["id"]})
    image = _created(http.post(f"{IMAGE}/images", json={"name": f"i-{secrets.token_hex(3)}", "disk_format": "qcow2",
                                                         "container_format": "bare"}, headers=h), "id")
    assert http.put(f"{IMAGE}/images/{image}/file", content=image_path,
                    headers={**h, "Content-Type": "application/octet-stream"}).status_code == 204
    keypair = post(f"{COMPUTE}/os-keypairs", "keypair", {"name": f"k-{secrets.token_hex(3)}"})
    vm = post(f"{COMPUTE}/servers", "server", {
        "name": f"vm-{secrets.token_hex(3)}", "imageRef": image, "flavorRef": "1", "key_name": keypair["name"],
        "networks": [{"uuid": network["id"]}], "metadata": {"owner": "me"}})
    poll(lambda: http.get(f"{COMPUTE}/servers/{vm['id']}", headers=h).json()["server"]["status"] == "ACTIVE",
         what="server ACTIVE")
    vm_port = http.get(f"{NET}/ports", params={"device_id": vm["id"]}, headers=h).json()["ports"][0]
    app_cred = _created(http.post(f"{IDENTITY}/users/{account.user_id}/application_credentials",
                                  json={"application_credential": {"name": f"ac-{secrets.token_hex(3)}"}},
                                  headers=h), "application_credential")
    ec2 = _created(http.post(f"{IDENTITY}/users/{account.user_id}/credentials/OS-EC2",
                             json={"tenant_id": account.project_id}, headers=h), "credential")
    ids.update(network=network["id"], subnet=subnet["id"], port=port["id"], group=group["id"], rule=rule["id"],
               router=router["id"], fip=fip["id"], image=image, keypair=keypair["name"], server=vm["id"],
               vm_port=vm_port["id"], vm_ip=vm_port["fixed_ips"][0]["ip_address"], app_cred=app_cred["id"],
               ec2=ec2["access"], user=account.user_id, project=account.project_id)
    return estate


@pytest.fixture(scope="module")
def estates(server: Server, admin: Admin, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Estate, Estate]]:
    image = corpus.small_qcow2(tmp_path_factory.mktemp("img") / "base.qcow2", "64M").read_bytes()
    public = external_network(admin, "172.31.240.0/24")
    with server.http() as http:
        a = _build(server, http, admin, image, "10.90.1.0/24", public["id"])
        b = _build(server, http, admin, image, "10.90.2.0/24", public["id"])
        yield a, b
        for estate in (a, b):
            http.delete(f"{COMPUTE}/servers/{estate.ids['server']}", headers=estate.headers)
    remove_external_network(admin, public["id"])


def _a_resource_calls(a: dict[str, str], b: dict[str, str]) -> list[tuple[str, str, object]]:
    """Every call on one of A's resources by path: each must be a 404 for B."""
    s, n = f"{COMPUTE}/servers/{a['server']}", NET
    action = f"{s}/action"
    image = f"{IMAGE}/images/{a['image']}"
    return [
        ("GET", s, None), ("PUT", s, {"server": {"name": "mine"}}), ("DELETE", s, None),
        ("POST", action, {"os-stop": None}), ("POST", action, {"os-start": None}),
        ("POST", action, {"reboot": {"type": "HARD"}}), ("POST", action, {"os-getConsoleOutput": {}}),
        ("POST", action, {"addSecurityGroup": {"name": "default"}}),
        ("POST", action, {"removeSecurityGroup": {"name": "default"}}),
        ("POST", action, {"addFixedIp": {"networkId": a["network"]}}),
        ("POST", action, {"removeFixedIp": {"address": a["vm_ip"]}}),
        ("GET", f"{s}/metadata", None), ("POST", f"{s}/metadata", {"metadata": {"owner": "b"}}),
        ("GET", f"{s}/os-interface", None), ("GET", f"{s}/os-interface/{a['vm_port']}", None),
        ("POST", f"{s}/os-interface", {"interfaceAttachment": {"net_id": b["network"]}}),
        ("DELETE", f"{s}/os-interface/{a['vm_port']}", None),
        ("GET", f"{COMPUTE}/os-keypairs/{a['keypair']}", None),
        ("DELETE", f"{COMPUTE}/os-keypairs/{a['keypair']}", None),
        *[(verb, f"{n}/{collection}/{a[key]}", body if verb == "PUT" else None) for collection, key, body in (
            ("networks", "network", {"network": {"name": "mine"}}),
            ("subnets", "subnet", {"subnet": {"name": "mine"}}),
            ("ports", "port", {"port": {"name": "mine"}}),
            ("ports", "vm_port", {"port": {"port_security_enabled": False}}),
            ("routers", "router", {"router": {"name": "mine"}}),
            ("floatingips", "fip", {"floatingip": {"port_id": None}}),
            ("security-groups", "group", {"security_group": {"name": "mine"}}),
        ) for verb in ("GET", "PUT", "DELETE")],
        ("GET", f"{n}/security-group-rules/{a['rule']}", None),
        ("DELETE", f"{n}/security-group-rules/{a['rule']}", None),
        ("GET", f"{n}/networks/{a['network']}/tags", None),
        ("PUT", f"{n}/networks/{a['network']}/tags", {"tags": ["b"]}),
        ("PUT", f"{n}/routers/{a['router']}/add_router_interface", {"subnet_id": b["subnet"]}),
        ("PUT", f"{n}/routers/{a['router']}/remove_router_interface", {"subnet_id": a["subnet"]}),
        ("PUT", f"{n}/routers/{a['router']}/add_extraroutes",
         {"router": {"routes": [{"destination": "10.99.0.0/24", "nexthop": "10.90.1.50"}]}}),
        ("PUT", f"{n}/routers/{a['router']}/remove_extraroutes", {"router": {"routes": []}}),
        ("GET", image, None), ("DELETE", image, None), ("GET", f"{image}/file", None),
        ("PUT", f"{image}/file", b"x" * 512), ("GET", f"{image}/members", None),
        ("POST", f"{image}/members", {"member": b["project"]}),
        ("GET", f"{image}/members/{b['project']}", None),
        ("PUT", f"{image}/members/{b['project']}", {"status": "accepted"}),
        ("DELETE", f"{image}/members/{b['project']}", None),
        ("POST", f"{image}/actions/deactivate", None), ("POST", f"{image}/actions/reactivate", None),
        ("PATCH", image, [{"op": "replace", "path": "/name", "value": "mine"}]),
    ]


def _send(http: httpx.Client, headers: dict[str, str], method: str, path: str, body: object) -> httpx.Response:
    if isinstance(body, bytes):
        return http.request(method, path, content=body,
                            headers={**headers, "Content-Type": "application/octet-stream"})
    if method == "PATCH" and path.startswith(IMAGE):
        return http.request(method, path, json=body, headers={**headers, **PATCH})
    return http.request(method, path, json=body, headers=headers)


def _view(http: httpx.Client, estate: Estate) -> dict:
    """Everything A can read about its estate, as A sees it."""
    h, ids = estate.headers, estate.ids
    view = {path: http.get(path, headers=h).json() for path in (
        f"{COMPUTE}/servers/{ids['server']}", f"{COMPUTE}/servers/{ids['server']}/metadata",
        f"{COMPUTE}/servers/{ids['server']}/os-interface", f"{COMPUTE}/os-keypairs/{ids['keypair']}",
        f"{NET}/networks/{ids['network']}", f"{NET}/subnets/{ids['subnet']}", f"{NET}/ports/{ids['port']}",
        f"{NET}/ports/{ids['vm_port']}", f"{NET}/routers/{ids['router']}", f"{NET}/floatingips/{ids['fip']}",
        f"{NET}/security-groups/{ids['group']}", f"{NET}/security-group-rules/{ids['rule']}",
        f"{IMAGE}/images/{ids['image']}", f"{IMAGE}/images/{ids['image']}/members", f"{NET}/ports",
    )}
    view[f"{COMPUTE}/servers/{ids['server']}"]["server"].pop("updated", None)
    return view


def _inventory(http: httpx.Client, estate: Estate) -> dict[str, set[str]]:
    """The ids of everything B's project owns, to see that a refused request made nothing."""
    h = estate.headers
    lists = {"servers": f"{COMPUTE}/servers", "ports": f"{NET}/ports", "subnets": f"{NET}/subnets",
             "networks": f"{NET}/networks", "routers": f"{NET}/routers", "floatingips": f"{NET}/floatingips",
             "security_group_rules": f"{NET}/security-group-rules", "images": f"{IMAGE}/images"}
    return {key: {item["id"] for item in http.get(path, headers=h).json()[key]} for key, path in lists.items()}


def test_every_call_on_another_projects_resource_is_404(server: Server, http: httpx.Client,
                                                        estates: tuple[Estate, Estate]) -> None:
    a, b = estates
    before = _view(http, a)
    wrong = []
    for method, path, body in _a_resource_calls(a.ids, b.ids):
        response = _send(http, b.headers, method, path, body)
        if response.status_code != 404 or "Traceback" in response.text:
            wrong.append((method, path, response.status_code, response.text[:200]))
    assert wrong == []
    assert _view(http, a) == before
    # The paths are right: A reads every one of them.
    for method, path, _body in _a_resource_calls(a.ids, b.ids):
        if method == "GET" and "/members/" not in path:
            assert http.get(path, headers=a.headers).status_code == 200, path


def test_listings_never_show_another_projects_resources(http: httpx.Client, estates: tuple[Estate, Estate]) -> None:
    a, b = estates
    seen = set().union(*_inventory(http, b).values())
    assert seen.isdisjoint({a.ids[key] for key in ("server", "port", "vm_port", "subnet", "network", "router",
                                                    "fip", "rule", "image")})
    groups = http.get(f"{NET}/security-groups", headers=b.headers).json()["security_groups"]
    assert a.ids["group"] not in {g["id"] for g in groups}
    keypairs = http.get(f"{COMPUTE}/os-keypairs", headers=b.headers).json()["keypairs"]
    assert a.ids["keypair"] not in {k["keypair"]["name"] for k in keypairs}
    # Filters naming A's resources find nothing either.
    for path, params in ((f"{NET}/ports", {"network_id": a.ids["network"]}),
                         (f"{NET}/ports", {"device_id": a.ids["server"]}),
                         (f"{NET}/subnets", {"network_id": a.ids["network"]}),
                         (f"{NET}/security-group-rules", {"security_group_id": a.ids["group"]}),
                         (f"{NET}/floatingips", {"port_id": a.ids["port"]}),
                         (f"{COMPUTE}/servers", {"project_id": a.ids["project"], "all_tenants": "1"})):
        response = http.get(path, params=params, headers=b.headers)
        assert response.status_code in (200, 403), response.text
        if response.status_code == 200:
            found = {item["id"] for items in response.json().values() if isinstance(items, list) for item in items}
            assert found.isdisjoint(a.ids.values()), (path, params)


def _reference_calls(a: dict[str, str], b: dict[str, str]) -> list[tuple[str, str, dict]]:
    """B's own requests whose body names one of A's resources."""
    s = f"{COMPUTE}/servers"
    vm = {"name": "b-vm", "imageRef": b["image"], "flavorRef": "1", "networks": [{"uuid": b["network"]}]}
    return [
        ("POST", f"{NET}/ports", {"port": {"network_id": a["network"]}}),
        ("POST", f"{NET}/subnets", {"subnet": {"network_id": a["network"], "cidr": "10.91.0.0/24", "ip_version": 4}}),
        ("POST", f"{NET}/ports", {"port": {"network_id": b["network"], "security_groups": [a["group"]]}}),
        ("PUT", f"{NET}/ports/{b['port']}", {"port": {"security_groups": [a["group"]]}}),
        ("PUT", f"{NET}/routers/{b['router']}/add_router_interface", {"subnet_id": a["subnet"]}),
        ("PUT", f"{NET}/routers/{b['router']}/add_router_interface", {"port_id": a["port"]}),
        ("POST", f"{NET}/routers", {"router": {"external_gateway_info": {"network_id": a["network"]}}}),
        ("PUT", f"{NET}/routers/{b['router']}", {"router": {"external_gateway_info": {"network_id": a["network"]}}}),
        ("POST", f"{NET}/security-group-rules", {"security_group_rule": {
            "security_group_id": b["group"], "direction": "ingress", "remote_group_id": a["group"]}}),
        ("POST", f"{NET}/security-group-rules", {"security_group_rule": {
            "security_group_id": a["group"], "direction": "ingress"}}),
        ("POST", f"{NET}/floatingips", {"floatingip": {"floating_network_id": a["network"]}}),
        ("PUT", f"{NET}/floatingips/{b['fip']}", {"floatingip": {"port_id": a["port"]}}),
        ("POST", s, {"server": {**vm, "imageRef": a["image"]}}),
        ("POST", s, {"server": {**vm, "networks": [{"uuid": a["network"]}]}}),
        ("POST", s, {"server": {**vm, "networks": [{"port": a["port"]}]}}),
        ("POST", s, {"server": {**vm, "key_name": a["keypair"]}}),
        ("POST", s, {"server": {**vm, "security_groups": [{"name": a["group"]}]}}),
        ("POST", f"{s}/{b['server']}/os-interface", {"interfaceAttachment": {"port_id": a["port"]}}),
        ("POST", f"{s}/{b['server']}/os-interface", {"interfaceAttachment": {"net_id": a["network"]}}),
        ("POST", f"{s}/{b['server']}/action", {"addSecurityGroup": {"name": a["group"]}}),
        ("POST", f"{s}/{b['server']}/action", {"addFixedIp": {"networkId": a["network"]}}),
    ]


def test_references_to_another_projects_resources_are_refused(server: Server, http: httpx.Client,
                                                              estates: tuple[Estate, Estate]) -> None:
    a, b = estates
    before_a, before_b = _view(http, a), _inventory(http, b)
    wrong = []
    for method, path, body in _reference_calls(a.ids, b.ids):
        response = _send(http, b.headers, method, path, body)
        if response.status_code not in (400, 404) or "Traceback" in response.text:
            wrong.append((method, path, body, response.status_code, response.text[:200]))
    assert wrong == []
    assert _inventory(http, b) == before_b
    assert _view(http, a) == before_a


def test_identity_answers_the_same_for_another_project_as_for_nothing(http: httpx.Client,
                                                                     estates: tuple[Estate, Estate]) -> None:
    """Keystone refuses these with 403 before any lookup: the same answer for A's ids and for ids of nothing."""
    a, b = estates
    nobody = uuid.uuid4().hex
    for template, method, body in (
        ("/projects/{project}", "GET", None), ("/projects/{project}", "PATCH", {"project": {"name": "mine"}}),
        ("/users/{user}", "GET", None), ("/users/{user}", "PATCH", {"user": {"enabled": False}}),
        ("/users/{user}/projects", "GET", None), ("/users/{user}/application_credentials", "GET", None),
        ("/users/{user}/application_credentials/{app_cred}", "GET", None),
        ("/users/{user}/application_credentials/{app_cred}", "DELETE", None),
        ("/users/{user}/credentials/OS-EC2", "GET", None), ("/users/{user}/credentials/OS-EC2/{ec2}", "GET", None),
        ("/users/{user}/credentials/OS-EC2/{ec2}", "DELETE", None),
        ("/projects/{project}/users/{user}/roles", "GET", None),
    ):
        real = _send(http, b.headers, method, IDENTITY + template.format(**a.ids), body)
        fake = _send(http, b.headers, method, IDENTITY + template.format(**{k: nobody for k in a.ids}), body)
        assert real.status_code in (403, 404) and real.status_code == fake.status_code, (template, method, real.text)
        assert "Traceback" not in real.text
    # A's credentials still work: nothing B sent disabled A or removed A's application credential.
    assert http.get(f"{IDENTITY}/users/{a.ids['user']}/application_credentials/{a.ids['app_cred']}",
                    headers=a.headers).status_code == 200
