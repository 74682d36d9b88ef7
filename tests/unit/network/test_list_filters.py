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
