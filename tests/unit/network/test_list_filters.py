"""Neutron's list filters: exact values, lists of ids, `fixed_ips=key=value`, and 400 on object attributes."""

from __future__ import annotations

import pytest

from andromede.common.errors import BadRequest
from andromede.network.views import select_docs

PORTS = [
    {"id": "p1", "name": "a", "admin_state_up": True, "security_groups": ["g1"],
     "fixed_ips": [{"subnet_id": "s1", "ip_address": "10.0.0.3"}], "allowed_address_pairs": []},
    {"id": "p2", "name": "b", "admin_state_up": False, "security_groups": ["g1", "g2"],
     "fixed_ips": [{"subnet_id": "s2", "ip_address": "10.1.0.3"}, {"subnet_id": "s1", "ip_address": "10.0.0.4"}],
     "allowed_address_pairs": [{"ip_address": "10.0.0.9", "mac_address": "fa:16:3e:00:00:01"}]},
]


def _ids(params: list[tuple[str, str]], docs: list[dict] = PORTS, collection: str = "ports") -> list[str]:
    return [d["id"] for d in select_docs(docs, params, collection, "https://x")[collection]]


def test_plain_filters() -> None:
    assert _ids([("name", "a"), ("name", "b")]) == ["p1", "p2"]
    assert _ids([("admin_state_up", "False")]) == ["p2"]
    assert _ids([("security_groups", "g2")]) == ["p2"]
    assert _ids([("unknown", "x")]) == ["p1", "p2"]


def test_fixed_ips_filters() -> None:
    assert _ids([("fixed_ips", "ip_address=10.0.0.4")]) == ["p2"]
    assert _ids([("fixed_ips", "subnet_id=s1")]) == ["p1", "p2"]
    assert _ids([("fixed_ips", "subnet_id=s1"), ("fixed_ips", "ip_address=10.1.0.3")]) == ["p2"]
    assert _ids([("fixed_ips", "ip_address_substr=.0.0.")]) == ["p1", "p2"]
    assert _ids([("fixed_ips", "ip_address=")]) == []
    assert _ids([("fixed_ips", "True")]) == ["p1", "p2"]
    with pytest.raises(BadRequest, match="not of the form"):
        _ids([("fixed_ips", "x")], docs=[])


@pytest.mark.parametrize("params,collection", [
    ([("allowed_address_pairs", "x")], "ports"), ([("allowed_address_pairs", "x")], "other"),
    ([("fixed_ips", "ip_address=10.0.0.3")], "routers"), ([("allocation_pools", "x")], "subnets")])
def test_object_attributes_are_not_filters(params: list[tuple[str, str]], collection: str) -> None:
    with pytest.raises(BadRequest, match="is invalid attribute for filtering") as caught:
        _ids(params, collection=collection)
    assert caught.value.extra["type"] == "HTTPBadRequest"


def test_an_object_attribute_found_in_documents_is_refused_too() -> None:
    docs = [{"id": "a1", "configurations": {"x": 1}}, {"id": "a2", "details": {"y": 2}}]
    with pytest.raises(BadRequest):
        _ids([("details", "x")], docs=docs, collection="agents")


def test_typed_filters_convert_like_neutron_lib() -> None:
    docs = [{"id": "s4", "ip_version": 4, "enable_dhcp": True}, {"id": "s6", "ip_version": 6, "enable_dhcp": False}]
    assert _ids([("ip_version", "6")], docs=docs, collection="subnets") == ["s6"]
    assert _ids([("ip_version", " 4 ")], docs=docs, collection="subnets") == ["s4"]
    assert _ids([("enable_dhcp", "0")], docs=docs, collection="subnets") == ["s6"]
    assert _ids([("enable_dhcp", "YES")], docs=docs, collection="subnets") == ["s4"]
    assert _ids([("admin_state_up", "1")]) == ["p1"]
    macs = [{"id": "m", "mac_address": "fa:16:3e:00:00:0a"}]
    assert _ids([("mac_address", "FA:16:3E:00:00:0A")], docs=macs) == ["m"]
    with pytest.raises(BadRequest, match="'seven' is not an integer") as caught:
        _ids([("ip_version", "seven")], docs=docs, collection="subnets")
    assert caught.value.extra["type"] == "InvalidInput"
    with pytest.raises(BadRequest, match="'maybe' cannot be converted to boolean"):
        _ids([("enable_dhcp", "maybe")], docs=docs, collection="subnets")


def test_segmentation_id_given_as_text_is_a_number() -> None:
    from pydantic import ValidationError

    from andromede.network.schemas import NetworkCreate

    assert NetworkCreate.model_validate({"provider:segmentation_id": "5"}).segmentation_id == 5
    assert NetworkCreate.model_validate({"provider:segmentation_id": 7}).segmentation_id == 7
    for bad in ("five", "0", "5.0", "１", True):
        with pytest.raises(ValidationError):
            NetworkCreate.model_validate({"provider:segmentation_id": bad})
