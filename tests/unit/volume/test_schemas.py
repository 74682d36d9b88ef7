"""The volume bodies' checks: Cinder's messages for bad sizes, names, metadata, sorts, limits and quotas."""

from __future__ import annotations

import pytest

from andromede.common.errors import BadRequest
from andromede.volume import schemas


def test_a_blank_volume_body_is_read() -> None:
    assert schemas.volume_create({"volume": {"size": "2", "name": "v", "metadata": {"k": "v"}}}) == {
        "size": 2, "name": "v", "metadata": {"k": "v"}}


@pytest.mark.parametrize(("size", "message"), [
    (0, "0 is less than the minimum of 1"), (-3, "-3 is less than the minimum of 1"),
    ("two", "'two' is not of type 'integer', 'string'"), (1.5, "1.5 is not of type"), (True, "True is not of type"),
    (None, "None is not of type"), (2 ** 31, "is greater than the maximum"),
])
def test_bad_sizes_say_why(size: object, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        schemas.volume_create({"volume": {"size": size}})
    text = caught.value.message
    assert text.startswith("Invalid input for field/attribute size.") and message in text


@pytest.mark.parametrize("body", [None, [], {"volume": "x"}, {"volumes": {"size": 1}}])
def test_a_body_without_its_envelope_is_refused(body: object) -> None:
    with pytest.raises(BadRequest, match="Missing required element 'volume'"):
        schemas.volume_create(body)


@pytest.mark.parametrize("metadata", [[], {"k": 1}, {"": "v"}, {"k" * 256: "v"}, {"k": "v" * 256}])
def test_bad_metadata_is_refused(metadata: object) -> None:
    with pytest.raises(BadRequest, match="metadata"):
        schemas.volume_create({"volume": {"size": 1, "metadata": metadata}})


def test_sort_limit_and_quota_bodies() -> None:
    assert schemas.sort("name:asc", None, None) == ("name", False)
    assert schemas.sort(None, "size", "desc") == ("size", True)
    assert schemas.sort(None, None, None) == ("created_at", True)
    for bad in ("password:asc", "name:sideways"):
        with pytest.raises(BadRequest):
            schemas.sort(bad, None, None)
    with pytest.raises(BadRequest):
        schemas.limit("-1")
    assert schemas.quota_update({"quota_set": {"volumes": "5", "gigabytes": -1, "backups": 3}}) == {
        "volumes": 5, "gigabytes": -1}
    for bad in ({"volumes": -2}, {"cores": 1}, {"volumes": True}):
        with pytest.raises(BadRequest):
            schemas.quota_update({"quota_set": bad})
