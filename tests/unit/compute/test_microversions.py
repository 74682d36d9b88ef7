"""Microversion parsing (Nova's rules) and the documents each version's field set gives, held to their shapes."""

from __future__ import annotations

import json

import pytest

from andromede.common.errors import BadRequest, NotAcceptable
from andromede.compute import schemas as v
from andromede.compute.api.microversion import MAX_VERSION, requested_version
from andromede.compute.models import Flavor, KeyPair
from andromede.compute.views import Views, server_mixins, server_page_type, server_view_type
from tests.unit.compute.test_views import _checked, _ctx, _instance

BASE = "http://cloud.test/compute"


def _headers(**values: str) -> list[tuple[bytes, bytes]]:
    return [(name.replace("_", "-").lower().encode(), value.encode()) for name, value in values.items()]


@pytest.mark.parametrize(("headers", "expected"), [
    ({}, (2, 1)),
    ({"OpenStack_API_Version": "compute 2.37"}, (2, 37)),
    ({"OpenStack_API_Version": "identity 3.0, compute 2.90"}, (2, 90)),
    ({"X_OpenStack_Nova_API_Version": "2.26"}, (2, 26)),
    ({"OpenStack_API_Version": "compute 2.19", "X_OpenStack_Nova_API_Version": "2.60"}, (2, 19)),
    ({"OpenStack_API_Version": "compute latest"}, MAX_VERSION),
    ({"OpenStack_API_Version": "image 2.5"}, (2, 1)),
])
def test_the_requested_version_is_read_as_nova_reads_it(headers: dict[str, str], expected: tuple[int, int]) -> None:
    assert requested_version(_headers(**headers)) == expected


@pytest.mark.parametrize("value", ["2.91", "3.0", "2.0", "1.1"])
def test_a_version_out_of_range_is_406(value: str) -> None:
    with pytest.raises(NotAcceptable, match=r"Minimum is 2\.1 and maximum is 2\.90"):
        requested_version(_headers(OpenStack_API_Version=f"compute {value}"))


@pytest.mark.parametrize("value", ["2", "two", "2.01", "2.1.1", "v2.1", ""])
def test_a_garbled_version_is_400(value: str) -> None:
    with pytest.raises(BadRequest, match="Invalid API version request"):
        requested_version(_headers(X_OpenStack_Nova_API_Version=value))


def test_the_server_gains_each_field_at_its_version() -> None:
    row = _instance(description="web tier", tags=["a", "b"], hostname="web-1", reservation_id="r-1",
                    launch_index=0, user_data=None,
                    flavor={"name": "m1.tiny", "vcpus": 1, "ram": 512, "disk": 1, "ephemeral": 0, "swap": 0,
                            "extra_specs": {"hw:cpu_policy": "shared"}})
    member, admin = _ctx(admin=False), _ctx(admin=True)
    old = json.loads(Views(BASE, (2, 18)).server(row, member).model_dump_json(by_alias=True))
    assert "description" not in old and "tags" not in old and set(old["flavor"]) == {"id", "links"}
    new = Views(BASE, (2, 90)).server(row, member, server_groups=["g-1"])
    _checked(new)
    doc = json.loads(new.model_dump_json(by_alias=True))
    assert doc["description"] == "web tier" and doc["tags"] == ["a", "b"] and doc["server_groups"] == ["g-1"]
    assert doc["flavor"] == {"vcpus": 1, "ram": 512, "disk": 1, "ephemeral": 0, "swap": 0,
                             "original_name": "m1.tiny", "extra_specs": {"hw:cpu_policy": "shared"}}
    assert doc["OS-EXT-SRV-ATTR:hostname"] == "web-1" and "OS-EXT-SRV-ATTR:host" not in doc
    assert "host_status" not in doc and "OS-EXT-SRV-ATTR:reservation_id" not in doc
    admin_view = Views(BASE, (2, 16)).server(row, admin, host_status="UP")
    _checked(admin_view)
    admin_doc = json.loads(admin_view.model_dump_json(by_alias=True))
    assert admin_doc["host_status"] == "UP" and admin_doc["OS-EXT-SRV-ATTR:reservation_id"] == "r-1"
    assert "description" not in admin_doc


def test_one_class_per_field_set() -> None:
    assert server_view_type(server_mixins((2, 26), False), False) is \
        server_view_type(server_mixins((2, 30), False), False)
    assert server_view_type((), False) is v.ServerView and server_view_type((), True) is v.AdminServerView


def test_flavors_and_keypairs_at_later_versions() -> None:
    flavor = Flavor(id="1", name="m1.tiny", ram=512, vcpus=1, disk=1, swap=0, ephemeral=0, disabled=False,
                    is_public=True, rxtx_factor=1.0, description="small", extra_specs={"k": "v"})
    pair = KeyPair(id=3, name="k", public_key="ssh-ed25519 AAAA", fingerprint="aa:bb", user_id="u", type="ssh")
    views = Views(BASE, (2, 75))
    for view in (views.flavor(flavor), views.flavor(flavor, detail=False), views.keypair_summary(pair),
                 views.keypair_created(pair, None)):
        _checked(view)
    detail = views.flavor(flavor).model_dump(by_alias=True)
    assert detail["swap"] == 0 and detail["description"] == "small" and detail["extra_specs"] == {"k": "v"}
    assert Views(BASE, (2, 60)).flavor(flavor).model_dump(by_alias=True).get("extra_specs") is None
    assert views.keypair_summary(pair).model_dump(by_alias=True)["type"] == "ssh"
    assert "type" not in Views(BASE).keypair_summary(pair).model_dump(by_alias=True)


@pytest.mark.parametrize("admin", [False, True])
def test_a_page_of_later_servers_keeps_every_field(admin: bool) -> None:
    view = Views(BASE, (2, 90)).server(_instance(tags=["t"], description=None, hostname="web-1"), _ctx(admin=admin),
                                       host_status="UP")
    page = server_page_type(type(view)).trusted(servers=[view], servers_links=None)
    listed = json.loads(page.model_dump_json(by_alias=True))
    assert listed == {"servers": [json.loads(view.model_dump_json(by_alias=True))]}
    assert listed["servers"][0]["tags"] == ["t"] and ("host_status" in listed["servers"][0]) is admin
    assert server_page_type(type(view)) is server_page_type(type(view))
