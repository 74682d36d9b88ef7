"""What only the fake does: faults injected by tests, and contents kept sparse."""

from __future__ import annotations

import uuid

import pytest

from andromede.agentlib.errors import PermanentError
from andromede.volume.agent.drivers.base import GIB, PermanentVolumeError, VolumeDriverError
from andromede.volume.agent.drivers.fake import FakeVolumeDriver


def test_an_injected_fault_fails_the_next_call_only() -> None:
    driver = FakeVolumeDriver()
    driver.inject_fault("create", "disk full")
    driver.inject_fault("extend", "bad size", permanent=True)
    volume = str(uuid.uuid4())

    with pytest.raises(VolumeDriverError, match="disk full") as raised:
        driver.create(volume, 1, key=None)
    assert not isinstance(raised.value, PermanentError)
    assert driver.list_volumes() == []
    driver.create(volume, 1, key=None)
    with pytest.raises(PermanentVolumeError, match="bad size"):
        driver.extend(volume, 2, key=None)
    assert driver.extend(volume, 2, key=None).size_gib == 2


def test_contents_far_apart_cost_only_what_was_written() -> None:
    driver, volume, key = FakeVolumeDriver(), str(uuid.uuid4()), b"k" * 64
    driver.create(volume, 100, key=key)

    driver.write(volume, 99 * GIB, b"end", key=key)
    driver.write(volume, 0, b"start", key=key)

    assert driver.read(volume, 99 * GIB, 3, key=key) == b"end"
    assert driver.read(volume, 0, 5, key=key) == b"start"
    assert len(driver.stored_bytes(volume)) == 2 * 4096
    with pytest.raises(PermanentVolumeError):
        driver.write(volume, 100 * GIB - 1, b"xx", key=key)
