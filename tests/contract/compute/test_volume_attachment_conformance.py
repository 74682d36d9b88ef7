"""Volume attachments, checked the same way against the fake and against QEMU (a blank disk: SeaBIOS never
answers a PCIe unplug request, so a detach from the running QEMU here is always the 'guest refuses' case; the real
unplug is in test_qemu_volumes.py, with a guest)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from andromede.compute.agent.drivers.base import DriverError
from tests.contract.compute.harness import Harness


def test_an_attached_volume_shows_and_attaching_again_is_success(harness: Harness) -> None:
    spec = harness.running()
    volume = harness.volume()

    harness.driver.attach_volume(spec.uuid, volume)
    harness.driver.attach_volume(spec.uuid, volume)

    assert harness.driver.volumes(spec.uuid) == [volume.volume_id]
    assert harness.new_driver().volumes(spec.uuid) == [volume.volume_id]  # a restarted agent reads it back


def test_two_volumes_one_encrypted_one_not(harness: Harness) -> None:
    spec = harness.running()
    volumes = [harness.volume(), harness.volume(encrypted=False)]
    for volume in volumes:
        harness.driver.attach_volume(spec.uuid, volume)

    assert harness.driver.volumes(spec.uuid) == sorted(volume.volume_id for volume in volumes)


def test_attached_volumes_come_back_when_the_instance_starts_again(harness: Harness) -> None:
    spec = harness.running()
    volume = harness.volume()
    harness.driver.attach_volume(spec.uuid, volume)

    harness.driver.stop(spec.uuid, timeout=harness.stop_timeout)
    assert harness.driver.volumes(spec.uuid) == [volume.volume_id]  # off: what the next start plugs in
    harness.driver.start(spec.uuid)

    assert harness.driver.state(spec.uuid).power == "running"
    assert harness.new_driver().volumes(spec.uuid) == [volume.volume_id]


def test_a_volume_attached_to_a_stopped_instance_is_there_once_it_starts(harness: Harness) -> None:
    spec = harness.spec()
    harness.driver.ensure_defined(spec)
    volume = harness.volume()

    harness.driver.attach_volume(spec.uuid, volume)
    harness.driver.start(spec.uuid)

    assert harness.driver.volumes(spec.uuid) == [volume.volume_id]


def test_detach_from_a_stopped_instance_and_again_is_success(harness: Harness) -> None:
    spec = harness.running()
    volume = harness.volume()
    harness.driver.attach_volume(spec.uuid, volume)
    harness.driver.stop(spec.uuid, timeout=harness.stop_timeout)

    harness.driver.detach_volume(spec.uuid, volume.volume_id)
    harness.driver.detach_volume(spec.uuid, volume.volume_id)
    harness.driver.start(spec.uuid)

    assert harness.driver.volumes(spec.uuid) == []


def test_detaching_a_volume_that_is_not_attached_is_success(harness: Harness) -> None:
    spec = harness.running()
    harness.driver.detach_volume(spec.uuid, harness.volume().volume_id)
    assert harness.driver.volumes(spec.uuid) == []


def test_a_guest_that_keeps_its_disk_fails_the_detach_and_the_volume_stays(harness: Harness) -> None:
    spec = harness.running()
    volume = harness.volume()
    harness.driver.attach_volume(spec.uuid, volume)
    harness.refuse_unplug(spec.uuid)

    with pytest.raises(DriverError, match="did not release"):
        harness.driver.detach_volume(spec.uuid, volume.volume_id)

    assert harness.driver.volumes(spec.uuid) == [volume.volume_id]
    harness.driver.stop(spec.uuid, timeout=harness.stop_timeout)
    assert harness.driver.volumes(spec.uuid) == [volume.volume_id]  # still comes back at the next start


def test_without_its_key_an_encrypted_volume_keeps_the_instance_off(harness: Harness) -> None:
    spec = harness.spec()
    harness.driver.ensure_defined(spec)
    volume = harness.volume()
    harness.driver.attach_volume(spec.uuid, volume)
    del harness.volume_keys[volume.volume_id]  # the key route cannot give it (the key manager is down)

    with pytest.raises(DriverError, match=volume.volume_id):
        harness.driver.start(spec.uuid)

    assert harness.driver.state(spec.uuid).power == "shutoff"


def test_a_key_must_come_with_an_encrypted_volume_and_only_with_one(harness: Harness) -> None:
    spec = harness.running()
    encrypted, plain = harness.volume(), harness.volume(encrypted=False)

    with pytest.raises(DriverError):
        harness.driver.attach_volume(spec.uuid, replace(encrypted, key=None))
    with pytest.raises(DriverError):
        harness.driver.attach_volume(spec.uuid, replace(plain, key=b"\0" * 64))

    assert harness.driver.volumes(spec.uuid) == []


@pytest.mark.parametrize("volume_id", ["../etc", "ABCDEF00-0000-0000-0000-000000000000", ""])
def test_only_canonical_volume_ids_are_attached(harness: Harness, volume_id: str) -> None:
    spec = harness.running()
    volume = replace(harness.volume(encrypted=False), volume_id=volume_id)

    with pytest.raises(DriverError):
        harness.driver.attach_volume(spec.uuid, volume)
    assert harness.driver.volumes(spec.uuid) == []


def test_attaching_to_an_instance_that_is_not_here_is_an_error(harness: Harness) -> None:
    with pytest.raises(DriverError):
        harness.driver.attach_volume(harness.spec().uuid, harness.volume())
