"""The Linux driver's record of what is this installation's (linux/inventory.py)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from andromede.network.agent.drivers.linux.inventory import Inventory


def test_records_come_and_go(tmp_path: Path) -> None:
    ours, other = Inventory(tmp_path / "a"), Inventory(tmp_path / "b")
    network = str(uuid.uuid4())

    ours.add("network", network)
    ours.add("network", network)

    assert ours.ids("network") == {network} and ("network", network) in ours
    assert other.ids("network") == set() and ours.ids("port") == set()
    ours.discard("network", network)
    ours.discard("network", network)
    assert ours.ids("network") == set()


def test_only_canonical_ids_become_file_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Inventory(tmp_path).add("network", "../../etc/passwd")
