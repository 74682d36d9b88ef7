"""The 2.0 patch media type, read into 2.1 operations as Glance reads it."""

from __future__ import annotations

import pytest

from andromede.common.errors import BadRequest
from andromede.image.schemas import patch_from_v2_0


def test_each_operation_is_named_by_its_key() -> None:
    body = [{"replace": "/name", "value": "x"}, {"add": "/a~1b", "value": "y"}, {"remove": "/c"}]
    assert patch_from_v2_0(body) == [{"op": "replace", "path": "/name", "value": "x"},
                                     {"op": "add", "path": "/a~1b", "value": "y"},
                                     {"op": "remove", "path": "/c"}]


@pytest.mark.parametrize("operation", [
    {"add": "/a", "remove": "/b"},  # two operations in one
    {"value": "x"},  # none
    {"op": "add", "path": "/a", "value": "x"},  # the 2.1 shape
    {"add": "/a"},  # no value
    {"replace": "/a", "value": "x", "path": "/b"},  # a stray member
])
def test_anything_else_is_a_400(operation: dict) -> None:
    with pytest.raises(BadRequest):
        patch_from_v2_0([operation])


def test_a_body_that_is_not_a_list_of_objects_is_left_to_the_2_1_validation() -> None:
    assert patch_from_v2_0({"replace": "/name"}) == {"replace": "/name"}
    assert patch_from_v2_0(["x"]) == ["x"]
