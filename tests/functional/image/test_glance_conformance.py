"""Glance conformance: the 2.0 patch media type, the member schemas, /v2/info, and metadata definitions, through
the openstack CLI and openstacksdk as a customer's tooling drives them."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import yaml

from tests.support.accounts import Admin, auth_headers, cli_as
from tests.support.server import Server

PATCH_2_0 = "application/openstack-images-v2.0-json-patch"
PATCH_2_1 = "application/openstack-images-v2.1-json-patch"
NAMESPACES = "/image/v2/metadefs/namespaces"


def _patch(http: httpx.Client, token: str, image_id: str, body: bytes, media_type: str) -> httpx.Response:
    return http.patch(f"/image/v2/images/{image_id}", content=body,
                      headers={**auth_headers(token), "Content-Type": media_type})


def test_patch_takes_the_2_0_media_type_as_glance_does(server: Server, admin: Admin, http: httpx.Client) -> None:
    token = admin.account().token(server)
    made = http.post("/image/v2/images", json={"name": "p20", "colour": "red"}, headers=auth_headers(token)).json()
    body = (b'[{"replace": "/name", "value": "p20-renamed"}, {"add": "/flavour", "value": "mint"},'
            b' {"remove": "/colour"}]')
    response = _patch(http, token, made["id"], body, PATCH_2_0)
    assert response.status_code == 200, response.text
    image = response.json()
    assert image["name"] == "p20-renamed" and image["flavour"] == "mint" and "colour" not in image

    # 2.0's shape is refused under 2.1 and the other way round; an ambiguous or valueless operation is a 400.
    assert _patch(http, token, made["id"], b'[{"replace": "/name", "value": "x"}]', PATCH_2_1).status_code == 400
    assert _patch(http, token, made["id"], b'[{"op": "replace", "path": "/name", "value": "x"}]',
                  PATCH_2_0).status_code == 400
    assert _patch(http, token, made["id"], b'[{"add": "/a", "replace": "/b", "value": "x"}]',
                  PATCH_2_0).status_code == 400
    assert _patch(http, token, made["id"], b'[{"add": "/a"}]', PATCH_2_0).status_code == 400
    refused = _patch(http, token, made["id"], b'[]', "application/json-patch+json")
    assert refused.status_code == 415 and "message" in refused.json()
    assert PATCH_2_0 in refused.headers["Accept-Patch"] and PATCH_2_1 in refused.headers["Accept-Patch"]
    assert http.get(f"/image/v2/images/{made['id']}", headers=auth_headers(token)).json()["name"] == "p20-renamed"


def test_member_schemas_import_info_and_stores_through_the_sdk(server: Server) -> None:
    conn = server.sdk()
    member = conn.image.get_member_schema()
    assert member.name == "member"
    assert member.properties["status"]["enum"] == ["pending", "accepted", "rejected"]
    members = conn.image.get_members_schema()
    assert members.properties["members"]["items"]["name"] == "member"
    # No import method is served: clients then upload with PUT .../file, which is what works here.
    assert conn.image.get_import_info().import_methods["value"] == []
    stores = list(conn.image.stores())
    assert [(s.id, s.is_default) for s in stores] == [("local", True)]
    cli_stores = server.openstack_json("image", "stores", "list")
    assert [row["ID"] for row in cli_stores] == ["local"]


def test_the_starter_catalogue_through_the_cli(server: Server, admin: Admin, tmp_path: Path) -> None:
    member = cli_as(server, admin.account(), tmp_path)
    listed = yaml.safe_load(member("image", "metadef", "namespace", "list", "-f", "yaml").stdout)
    names = {row["namespace"] for row in listed}
    assert {"OS::OperatingSystem", "OS::Compute::QemuImage"} <= names
    shown = yaml.safe_load(member("image", "metadef", "namespace", "show", "OS::Compute::QemuImage",
                                  "-f", "yaml").stdout)
    assert shown["visibility"] == "public" and shown["protected"] is True
    properties = yaml.safe_load(member("image", "metadef", "property", "list", "OS::Compute::QemuImage",
                                       "-f", "yaml").stdout)
    assert {"hw_disk_bus", "hw_vif_model", "hw_firmware_type"} <= {row["name"] for row in properties}
    disk_bus = yaml.safe_load(member("image", "metadef", "property", "show", "OS::Compute::QemuImage",
                                     "hw_disk_bus", "-f", "yaml").stdout)
    assert disk_bus["enum"] == ["virtio"]
    types = yaml.safe_load(member("image", "metadef", "resource", "type", "list", "-f", "yaml").stdout)
    assert "OS::Glance::Image" in {row["Name"] for row in types}
    os_props = yaml.safe_load(member("image", "metadef", "property", "list", "OS::OperatingSystem",
                                     "-f", "yaml").stdout)
    assert {"os_distro", "os_type"} <= {row["name"] for row in os_props}


def test_a_project_keeps_private_namespaces_through_the_sdk(server: Server, admin: Admin) -> None:
    account = admin.account()
    conn = _sdk_as(server, account)
    name = f"Acme::Images::{secrets.token_hex(3)}"
    ns = conn.image.create_metadef_namespace(namespace=name, display_name="Acme", description="ours")
    assert ns.visibility == "private" and ns.owner == account.project_id and not ns.is_protected
    assert name in {n.namespace for n in conn.image.metadef_namespaces()}

    prop = conn.image.create_metadef_property(ns, name="acme_tier", title="Tier", type="string",
                                              enum=["gold", "silver"])
    assert prop.enum == ["gold", "silver"]
    conn.image.update_metadef_property(prop, ns, title="Service tier", type="string", enum=["gold"])
    assert conn.image.get_metadef_property(prop, ns).title == "Service tier"
    assert [p.name for p in conn.image.metadef_properties(ns)] == ["acme_tier"]

    obj = conn.image.create_metadef_object(ns, name="Backup", description="backup policy", required=["acme_keep"],
                                           properties={"acme_keep": {"title": "Keep", "type": "integer",
                                                                     "minimum": 1}})
    assert obj.required == ["acme_keep"]
    # PUT replaces the object, as in Glance: what is not sent is gone.
    conn.image.update_metadef_object(obj, ns, description="how long backups stay", required=obj.required,
                                     properties=obj.properties)
    fetched = conn.image.get_metadef_object(obj, ns)
    assert fetched.description == "how long backups stay" and fetched.properties["acme_keep"]["minimum"] == 1
    assert [o.name for o in conn.image.metadef_objects(ns)] == ["Backup"]

    ns = conn.image.get_metadef_namespace(name)
    ns.set_tags(conn.image, ["alpha", "beta"])
    ns.add_tag(conn.image, "gamma")
    assert sorted(t["name"] for t in _get(server, account, f"{NAMESPACES}/{name}/tags")["tags"]) == [
        "alpha", "beta", "gamma"]

    association = conn.image.create_metadef_resource_type_association(ns, name="OS::Glance::Image", prefix="acme_")
    assert association.prefix == "acme_"
    assert [a.name for a in conn.image.metadef_resource_type_associations(ns)] == ["OS::Glance::Image"]
    filtered = list(conn.image.metadef_namespaces(resource_types="OS::Glance::Image"))
    assert name in {n.namespace for n in filtered}

    conn.image.update_metadef_namespace(ns, display_name="Acme images", is_protected=True)
    refreshed = conn.image.get_metadef_namespace(name)
    assert refreshed.display_name == "Acme images" and refreshed.is_protected
    assert refreshed.resource_type_associations[0]["prefix"] == "acme_"

    # Protected: neither the namespace nor its contents can be deleted until unprotected.
    http = server.http()
    token = account.token(server)
    assert http.delete(f"{NAMESPACES}/{name}", headers=auth_headers(token)).status_code == 403
    assert http.delete(f"{NAMESPACES}/{name}/objects/Backup", headers=auth_headers(token)).status_code == 403
    conn.image.update_metadef_namespace(refreshed, is_protected=False)
    conn.image.delete_metadef_object(obj, ns)
    conn.image.delete_metadef_property(prop, ns)
    conn.image.delete_metadef_resource_type_association("OS::Glance::Image", ns)
    conn.image.delete_metadef_namespace(name)
    assert http.get(f"{NAMESPACES}/{name}", headers=auth_headers(token)).status_code == 404


def test_metadefs_schemas_through_the_sdk(server: Server) -> None:
    conn = server.sdk()
    assert conn.image.get_metadef_namespace_schema().name == "namespace"
    assert conn.image.get_metadef_namespaces_schema().name == "namespaces"
    assert conn.image.get_metadef_object_schema().name == "object"
    assert conn.image.get_metadef_property_schema().name == "property"
    assert conn.image.get_metadef_tags_schema().name == "tags"
    assert conn.image.get_metadef_resource_type_schema().name == "resource_type_association"


def test_metadef_bodies_are_validated_and_names_unique(server: Server, admin: Admin, http: httpx.Client) -> None:
    headers = auth_headers(admin.account().token(server))
    name = f"Check::{secrets.token_hex(3)}"
    assert http.post(NAMESPACES, json={"namespace": name, "visibility": "everyone"}, headers=headers
                     ).status_code == 400
    assert http.post(NAMESPACES, content=b"{not json", headers=headers).status_code == 400
    # A NUL no database column can hold: a 400 in a body, a 404 in a path (never a 500 from PostgreSQL).
    assert http.post(NAMESPACES, json={"namespace": name, "description": "a\u0000b"}, headers=headers
                     ).status_code == 400
    assert http.get(f"{NAMESPACES}/a%00b", headers=headers).status_code == 404
    assert http.get(f"{NAMESPACES}/OS::OperatingSystem/properties/a%00b", headers=headers).status_code == 404
    assert http.post(NAMESPACES, json={"namespace": name}, headers=headers).status_code == 201
    assert http.post(NAMESPACES, json={"namespace": name}, headers=headers).status_code == 409
    props = f"{NAMESPACES}/{name}/properties"
    assert http.post(props, json={"name": "x", "title": "X"}, headers=headers).status_code == 400  # no type
    assert http.post(props, json={"name": "x", "title": "X", "type": "string"}, headers=headers).status_code == 201
    assert http.post(props, json={"name": "x", "title": "X", "type": "string"}, headers=headers).status_code == 409
    assert http.get(f"{props}/nope", headers=headers).status_code == 404
    assert http.get("/image/v2/schemas/metadefs/nope", headers=headers).status_code == 404
    for sort_key in ("protected", "display_name", "namespace", "owner"):
        for sort_dir in ("asc", "desc"):
            sorted_list = http.get(NAMESPACES, params={"sort_key": sort_key, "sort_dir": sort_dir}, headers=headers)
            assert sorted_list.status_code == 200, (sort_key, sorted_list.text)
    first = http.get(NAMESPACES, params={"limit": 1, "sort_key": "namespace", "sort_dir": "asc"}, headers=headers)
    page = first.json()
    assert len(page["namespaces"]) == 1 and "marker=" in page["next"]
    marker = page["namespaces"][0]["namespace"]
    after = http.get(NAMESPACES, params={"marker": marker, "sort_key": "namespace", "sort_dir": "asc"},
                     headers=headers).json()["namespaces"]
    assert marker not in {n["namespace"] for n in after} and after
    assert http.get(NAMESPACES, params={"sort_key": "nope"}, headers=headers).status_code == 400
    assert http.get(NAMESPACES, params={"marker": "nope"}, headers=headers).status_code == 400
    listing = http.get(NAMESPACES, params={"limit": "nope"}, headers=headers)
    assert listing.status_code == 400 and "message" in listing.json()
    assert http.delete(f"{NAMESPACES}/{name}", headers=headers).status_code == 204


def _sdk_as(server: Server, account: object):  # type: ignore[no-untyped-def]
    import openstack

    return openstack.connect(auth_url=server.identity_url, username=account.name,  # type: ignore[attr-defined]
                             password=account.password, project_name=account.project_name,  # type: ignore[attr-defined]
                             user_domain_name="Default", project_domain_name="Default", cacert=server.cacert,
                             region_name="RegionOne")


def _get(server: Server, account: object, path: str) -> dict:
    with server.http() as http:
        token = account.token(server)  # type: ignore[attr-defined]
        response = http.get(path, headers=auth_headers(token))
        assert response.status_code == 200, response.text
        return response.json()
