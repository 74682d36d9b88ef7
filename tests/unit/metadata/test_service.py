"""The metadata app behind the real pipeline: signed instance identity only, and the Nova/EC2 trees it serves."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import andromede.registry  # noqa: F401  (every service's tables, for create_all)
from andromede.api import middleware
from andromede.common.context import RequestContext
from andromede.common.errors import Unauthorized
from andromede.compute.models import Instance
from andromede.contracts import metadata as signing
from andromede.db.base import Base
from andromede.db.engine import Database
from andromede.metadata import tree
from andromede.metadata.api import Hooks, build_metadata_app

PROJECT = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEXAMPLE demo@host"


def _resolver(token: str, request_id: str) -> RequestContext:
    raise Unauthorized()


@pytest.fixture()
def cloud(tmp_path: Path) -> Iterator[tuple[TestClient, bytes, Database]]:
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    Base.metadata.create_all(db.engine)
    secret = signing.ensure_secret(tmp_path)
    hooks = Hooks(network_data=lambda s, i: {"links": [{"id": "tap1"}], "networks": [], "services": []},
                  instance_addresses=lambda s, i: ("10.0.0.5", "203.0.113.9"),
                  security_groups=lambda s, i: ["default", "web"])
    app = build_metadata_app(db, tmp_path / signing.SECRET_FILE, found=hooks)
    asgi = middleware.PolicyGuard(app, strict=True)
    asgi = middleware.Authentication(asgi, _resolver, "https://id.example/v3")
    asgi = middleware.ErrorFormatter(asgi)
    asgi = middleware.RequestId(asgi)
    with TestClient(asgi, raise_server_exceptions=False) as client:
        yield client, secret, db
    db.engine.dispose()


def _instance(db: Database, **overrides: object) -> Instance:
    fields: dict = dict(
        uuid="6d6c2b8e-4a7b-4a53-9a1e-0b6f7d1f0a11", project_id=PROJECT, user_id="u1", name="web one",
        hostname="web-one", image_id="1f0e2d3c-0000-4000-8000-000000000001", flavor_id="1",
        flavor={"name": "m1.tiny", "vcpus": 1, "ram": 256, "disk": 1}, key_name="demo", key_data=KEY,
        user_data=base64.b64encode(b"#!/bin/sh\necho hi\n").decode(), meta={"role": "web"},
        availability_zone="nova", launch_index=0, reservation_id="r-0011aabb")
    fields.update(overrides)
    with db.session() as session:
        instance = Instance(**fields)
        session.add(instance)
    return instance


def _signed(secret: bytes, instance_id: str, tenant: str = PROJECT) -> dict[str, str]:
    return {"X-Instance-ID": instance_id, "X-Tenant-ID": tenant,
            "X-Instance-ID-Signature": signing.sign(secret, instance_id)}


def test_unsigned_forged_or_wrongly_signed_requests_get_a_bare_403(cloud: tuple) -> None:
    client, secret, db = cloud
    instance = _instance(db)
    path = "/openstack/latest/meta_data.json"
    for headers in (
        {},
        {"X-Instance-ID": instance.uuid, "X-Tenant-ID": PROJECT},
        {"X-Instance-ID": instance.uuid, "X-Tenant-ID": PROJECT, "X-Instance-ID-Signature": "0" * 64},
        {**_signed(b"y" * 32, instance.uuid)},
        {**_signed(secret, instance.uuid), "X-Instance-ID": "another"},
        {"X-Instance-ID-Signature": signing.sign(secret, instance.uuid), "X-Tenant-ID": PROJECT},
        {**_signed(secret, instance.uuid), "X-Tenant-ID": ""},
    ):
        response = client.get(path, headers=headers)
        assert response.status_code == 403, headers
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text == "403 Forbidden\n"
    # A token is not an identity here.
    assert client.get(path, headers={"X-Auth-Token": "whatever"}).status_code in (401, 403)


def test_unknown_deleted_or_other_tenants_instances_are_404(cloud: tuple) -> None:
    client, secret, db = cloud
    alive = _instance(db)
    gone = _instance(db, uuid="6d6c2b8e-4a7b-4a53-9a1e-0b6f7d1f0a12", deleted=True)
    dying = _instance(db, uuid="6d6c2b8e-4a7b-4a53-9a1e-0b6f7d1f0a13", desired_power="deleted")
    path = "/openstack/latest/meta_data.json"
    assert client.get(path, headers=_signed(secret, alive.uuid)).status_code == 200
    assert client.get(path, headers=_signed(secret, alive.uuid, tenant="another-project")).status_code == 404
    for uuid in (gone.uuid, dying.uuid, "6d6c2b8e-4a7b-4a53-9a1e-0b6f7d1f0aff"):
        response = client.get(path, headers=_signed(secret, uuid))
        assert response.status_code == 404 and response.text == "404 Not Found\n"


def test_only_get_and_head(cloud: tuple) -> None:
    client, secret, db = cloud
    instance = _instance(db)
    headers = _signed(secret, instance.uuid)
    assert client.head("/openstack/latest/meta_data.json", headers=headers).status_code == 200
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        response = client.request(method, "/openstack/latest/meta_data.json", headers=headers)
        assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD"


def test_openstack_tree(cloud: tuple) -> None:
    client, secret, db = cloud
    instance = _instance(db)
    headers = _signed(secret, instance.uuid)

    def get(path: str) -> tuple[int, str]:
        response = client.get(path, headers=headers)
        return response.status_code, response.text

    assert get("/openstack") == get("/openstack/")
    assert get("/openstack")[1].splitlines() == [*tree.OPENSTACK_VERSIONS, "latest"]
    assert "2012-08-10" in get("/openstack")[1] and "2018-08-27" in get("/openstack")[1]
    assert get("/openstack/latest/")[1].splitlines() == ["meta_data.json", "user_data", "password",
                                                         "vendor_data.json", "network_data.json",
                                                         "vendor_data2.json"]
    assert get("/openstack/2012-08-10")[1].splitlines() == ["meta_data.json", "user_data"]
    status, text = get("/openstack/latest/meta_data.json")
    meta = json.loads(text)
    assert status == 200
    assert meta == {"uuid": instance.uuid, "name": "web one", "hostname": "web-one", "availability_zone": "nova",
                    "launch_index": 0, "project_id": PROJECT, "meta": {"role": "web"},
                    "public_keys": {"demo": KEY}, "keys": [{"name": "demo", "type": "ssh", "data": KEY}],
                    "devices": []}
    assert json.loads(get("/openstack/2013-04-04/meta_data.json")[1]) == meta
    assert client.get("/openstack/latest/user_data", headers=headers).content == b"#!/bin/sh\necho hi\n"
    assert json.loads(get("/openstack/latest/network_data.json")[1])["links"] == [{"id": "tap1"}]
    assert json.loads(get("/openstack/latest/vendor_data.json")[1]) == {}
    assert json.loads(get("/openstack/latest/vendor_data2.json")[1]) == {}
    assert get("/openstack/latest/password") == (200, "")
    assert get("/openstack/2012-08-10/network_data.json")[0] == 404  # not in that version
    for unknown in ("/openstack/1999-01-01/meta_data.json", "/openstack/latest/nothing", "/nothing",
                    "/openstack/latest/meta_data.json/x"):
        assert get(unknown)[0] == 404, unknown


def test_dot_segments_name_nothing() -> None:
    facts = tree.InstanceFacts(meta_data={}, user_data=None, network_data={}, ec2_instance_id="i-1", ami_id="ami-1",
                               hostname="h", instance_type="t", reservation_id="r")
    assert tree.resolve("/openstack/latest/meta_data.json", facts) is not None
    for path in ("/openstack/latest/../latest/meta_data.json", "/openstack/../openstack/latest/meta_data.json",
                 "/latest/meta-data/../meta-data/hostname", "/openstack/./latest/meta_data.json"):
        assert tree.resolve(path, facts) is None, path


def test_user_data_is_404_when_there_is_none(cloud: tuple) -> None:
    client, secret, db = cloud
    instance = _instance(db, user_data=None, key_name=None, key_data=None)
    headers = _signed(secret, instance.uuid)
    assert client.get("/openstack/latest/user_data", headers=headers).status_code == 404
    assert client.get("/latest/user-data", headers=headers).status_code == 404
    assert "user_data" not in client.get("/openstack/latest", headers=headers).text
    assert "public-keys" not in client.get("/latest/meta-data/", headers=headers).text


def test_ec2_tree(cloud: tuple) -> None:
    client, secret, db = cloud
    instance = _instance(db)
    headers = _signed(secret, instance.uuid)

    def get(path: str) -> str:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, path
        return response.text

    assert get("/").splitlines() == [*tree.EC2_VERSIONS, "latest"]
    assert get("/latest/").splitlines() == ["meta-data/", "user-data"]
    listing = get("/latest/meta-data/").splitlines()
    for name in ("ami-id", "hostname", "instance-id", "local-hostname", "local-ipv4", "public-ipv4",
                 "public-keys/", "placement/", "instance-type", "reservation-id", "security-groups"):
        assert name in listing
    assert get("/latest/meta-data/instance-id") == "i-6d6c2b8e"
    assert get("/latest/meta-data/ami-id") == "ami-1f0e2d3c"
    assert get("/latest/meta-data/hostname") == get("/latest/meta-data/local-hostname") == "web-one"
    assert get("/latest/meta-data/local-ipv4") == "10.0.0.5"
    assert get("/latest/meta-data/public-ipv4") == "203.0.113.9"
    assert get("/latest/meta-data/public-keys/") == "0=demo"
    assert get("/latest/meta-data/public-keys/0/") == "openssh-key"
    assert get("/latest/meta-data/public-keys/0/openssh-key") == KEY
    assert get("/latest/meta-data/placement/availability-zone") == "nova"
    assert get("/latest/meta-data/instance-type") == "m1.tiny"
    assert get("/latest/meta-data/reservation-id") == "r-0011aabb"
    assert get("/latest/meta-data/security-groups").splitlines() == ["default", "web"]
    assert get("/2009-04-04/meta-data/instance-id") == "i-6d6c2b8e"
    assert get("/latest/user-data") == "#!/bin/sh\necho hi\n"
    for unknown in ("/latest/meta-data/nothing", "/latest/meta-data/public-keys/1/openssh-key",
                    "/latest/meta-data/hostname/x", "/2001-01-01/meta-data/", "/latest/dynamic/"):
        assert client.get(unknown, headers=headers).status_code == 404, unknown


def test_a_missing_secret_refuses_everything(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    Base.metadata.create_all(db.engine)
    app = build_metadata_app(db, tmp_path / "absent")
    with TestClient(app) as client:
        headers = _signed(b"\0" * 32, "6d6c2b8e-4a7b-4a53-9a1e-0b6f7d1f0a11")
        assert client.get("/openstack/latest/meta_data.json", headers=headers).status_code == 403
    db.engine.dispose()


def test_a_hosts_key_vouches_only_for_its_own_instances(tmp_path: Path) -> None:
    """Each relay signs with its host's key (derived from the installation's): a compute host reads the metadata
    of the servers it runs, the network host (whose relays serve every network) any server's."""
    from andromede.hosts.models import Host

    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    Base.metadata.create_all(db.engine)
    secret = signing.ensure_secret(tmp_path)
    app = build_metadata_app(db, tmp_path / signing.SECRET_FILE, network_host="net-hv")
    with db.session() as session:
        session.add_all([Host(name=name) for name in ("hv1", "hv2", "net-hv")])
    instance = _instance(db, host="hv1")
    path = "/openstack/latest/meta_data.json"

    def as_host(host: str, *, claimed: str | None = None) -> int:
        headers = {**_signed(signing.host_secret(secret, host), instance.uuid),
                   signing.HOST_HEADER: claimed or host}
        with TestClient(app) as client:
            return client.get(path, headers=headers).status_code

    assert as_host("hv1") == 200
    assert as_host("net-hv") == 200
    assert as_host("hv2") == 404  # another host's server: as if it did not exist
    assert as_host("hv2", claimed="hv1") == 403  # its key is not hv1's
    assert as_host("hv2", claimed="net-hv") == 403
    with TestClient(app) as client:  # a host key without naming the host is no installation key either
        assert client.get(path, headers=_signed(signing.host_secret(secret, "hv2"), instance.uuid)).status_code == 403
    assert signing.host_secret(secret, "hv1") != signing.host_secret(secret, "hv2") != secret
    db.engine.dispose()
