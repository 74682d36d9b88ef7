"""The components services share: one per type, provided once, asked for by type."""

from __future__ import annotations

import pytest

from andromede.servicekit.descriptor import Components


class Store:
    pass


def test_a_component_is_found_by_its_type() -> None:
    components = Components()
    store = Store()
    components.provide(store)
    assert components.get(Store) is store


def test_a_missing_component_names_its_type() -> None:
    with pytest.raises(LookupError, match="no service provides a Store"):
        Components().get(Store)


def test_a_type_is_provided_once() -> None:
    components = Components()
    components.provide(Store())
    with pytest.raises(ValueError, match="already provided"):
        components.provide(Store())
