"""Volumes in a real QEMU: what QMP shows of an attachment, where the key is not, and, with the tiny guest, a
canary written through one VM's disk read back by another while the volume's file holds only ciphertext.

Bounded: one VM at a time, 256 MiB at most; under TCG a tiny guest is ready in well under a minute.
"""

from __future__ import annotations

import base64
import logging
import os
import time
import uuid as uuidlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from andromede.compute.agent.drivers.base import DriverError, InstanceSpec
from andromede.compute.agent.drivers.qemu import QemuDriver, qmp
from andromede.compute.agent.drivers.qemu.layout import InstancePaths
from andromede.compute.agent.drivers.qemu.volumes import SERIAL_LENGTH, device_id
from andromede.contracts.volume_keys import luks_passphrase
from tests.contract.compute.harness import QemuHarness, make_qemu_harness, sample_config_drive

pytestmark = pytest.mark.vm
TINY_IMAGE_ENV = "ANDROMEDE_TEST_TINY_IMAGE_PATH"
VIRTIO_BLOCK_DEVICE_IDS = {0x1001, 0x1042}  # transitional, modern


@pytest.fixture()
def qemu(blank_base_image: Path) -> Iterator[QemuHarness]:
    made = make_qemu_harness(blank_base_image)
    yield made
    made.close()


@pytest.fixture()
def tiny_image() -> Path:
    image = os.environ.get(TINY_IMAGE_ENV)
    if image and Path(image).is_file():
        return Path(image)
    from andromede.guest import build_tiny_image, default_cache_dir

    return build_tiny_image(default_cache_dir())


def pci_device_ids(qmp_socket: Path) -> list[int]:
    found = []

    def walk(devices: list[dict]) -> None:
        for device in devices:
            found.append(device["id"]["device"])
            walk(device.get("pci_bridge", {}).get("devices", []))

    for bus in qmp.execute(qmp_socket, "query-pci"):
        walk(bus["devices"])
    return found


def test_the_disk_is_on_the_pci_bus_with_the_volume_serial_and_the_key_is_nowhere_on_the_host(
        qemu: QemuHarness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # qemu.qmp logs every message it sends at DEBUG
    spec = qemu.running()
    socket = InstancePaths(qemu.state_dir / spec.uuid).qmp_socket
    disks_before = sum(device in VIRTIO_BLOCK_DEVICE_IDS for device in pci_device_ids(socket))
    volume = qemu.volume()

    qemu.driver.attach_volume(spec.uuid, volume)

    assert sum(device in VIRTIO_BLOCK_DEVICE_IDS for device in pci_device_ids(socket)) == disks_before + 1
    serial = qmp.execute(socket, "qom-get", {"path": f"/machine/peripheral/{device_id(volume.volume_id)}",
                                             "property": "serial"})
    assert serial == volume.volume_id[:SERIAL_LENGTH]
    [block] = [entry for entry in qmp.execute(socket, "query-block") if volume.volume_id in entry.get("qdev", "")]
    assert block["inserted"]["encrypted"] and "/dev/fdset/" in block["inserted"]["file"]
    # The key went over the socket only: not on QEMU's command line, in its environment or any file of the instance.
    assert volume.key is not None
    key_forms = [volume.key, luks_passphrase(volume.key), base64.b64encode(luks_passphrase(volume.key))]
    pid = qemu.driver.state(spec.uuid).pid
    seen = [Path(f"/proc/{pid}/cmdline").read_bytes(), Path(f"/proc/{pid}/environ").read_bytes()]
    seen += [path.read_bytes() for path in (qemu.state_dir / spec.uuid).iterdir() if path.is_file()]
    seen.append(caplog.text.encode())
    assert "object-add" in caplog.text  # the secret's message was logged, redacted
    assert not any(form in text for form in key_forms for text in seen)


def test_a_second_attach_finds_another_slot_and_a_detached_volume_can_come_back(qemu: QemuHarness) -> None:
    spec = qemu.spec()
    qemu.driver.ensure_defined(spec)
    first, second = qemu.volume(), qemu.volume(encrypted=False)
    qemu.driver.attach_volume(spec.uuid, first)
    qemu.driver.start(spec.uuid)  # first plugged in before the CPUs run, second hot-plugged
    qemu.driver.attach_volume(spec.uuid, second)

    assert qemu.driver.volumes(spec.uuid) == sorted([first.volume_id, second.volume_id])
    assert qmp.query_status(InstancePaths(qemu.state_dir / spec.uuid).qmp_socket) == "running"


# ---- with the tiny guest ----

WAIT_FOR_DISK = """
for tries in $(seq 600); do
  for serial in /sys/block/vd*/serial; do
    [ "$(cat "$serial" 2>/dev/null)" = "{serial}" ] || continue
    disk=/dev/$(basename "$(dirname "$serial")")
"""


def writer_script(serial: str, canary: str) -> bytes:
    return (f"#!/bin/sh\n(\n{WAIT_FOR_DISK.format(serial=serial)}"
            f"    printf '%s' '{canary}' | dd of=\"$disk\" bs=512 conv=sync,notrunc,fsync 2>/dev/null\n"
            f"    echo \"volume-test: wrote $disk\"; exit 0\n  done\n  sleep 0.2\ndone\n) &\n").encode()


def reader_script(serial: str, length: int) -> bytes:
    return (f"#!/bin/sh\n(\n{WAIT_FOR_DISK.format(serial=serial)}"
            f"    echo \"volume-test: read $(dd if=\"$disk\" bs=512 count=1 2>/dev/null | head -c {length})\"\n"
            f"    exit 0\n  done\n  sleep 0.2\ndone\n) &\n").encode()


def wait_for_console(qemu: QemuHarness, uuid: str, text: str, *, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in qemu.driver.console_output(uuid):
        assert time.monotonic() < deadline, f"no {text!r} on the console:\n{qemu.driver.console_output(uuid)}"
        time.sleep(0.2)


def tiny_guest(qemu: QemuHarness, tiny_image: Path, user_data: bytes) -> InstanceSpec:
    spec = qemu.spec(base_image=tiny_image, base_format="raw", root_gib=0, memory_mib=256)
    drive = replace(sample_config_drive(spec.uuid, f"tiny-{spec.uuid[:8]}"), user_data=user_data)
    return replace(spec, config_drive=drive)


def test_a_canary_written_through_one_guest_is_read_by_the_next_and_never_in_clear_on_the_host(
        qemu: QemuHarness, tiny_image: Path) -> None:
    assert isinstance(qemu.driver, QemuDriver)
    qemu.driver.unplug_timeout = 60.0  # a guest's pciehp takes seconds to release a slot
    volume = qemu.volume()
    serial = volume.volume_id[:SERIAL_LENGTH]
    canary = f"canary-{uuidlib.uuid4().hex}"

    writer = tiny_guest(qemu, tiny_image, writer_script(serial, canary))
    qemu.driver.ensure_defined(writer)
    qemu.driver.start(writer.uuid)
    wait_for_console(qemu, writer.uuid, "andromede-tiny: ready")
    qemu.driver.attach_volume(writer.uuid, volume)  # hot-plug into a booted guest
    wait_for_console(qemu, writer.uuid, "volume-test: wrote /dev/vd")
    qemu.driver.detach_volume(writer.uuid, volume.volume_id)  # the guest releases it
    assert qemu.driver.volumes(writer.uuid) == []
    qemu.driver.destroy(writer.uuid)

    reader = tiny_guest(qemu, tiny_image, reader_script(serial, len(canary)))
    qemu.driver.ensure_defined(reader)
    qemu.driver.attach_volume(reader.uuid, volume)  # off: plugged in at start, before the guest runs
    qemu.driver.start(reader.uuid)
    wait_for_console(qemu, reader.uuid, f"volume-test: read {canary}")
    qemu.driver.destroy(reader.uuid)

    assert canary.encode() not in qemu.storage.path(volume.volume_id).read_bytes()


def test_a_volume_that_cannot_be_plugged_in_at_start_leaves_no_qemu_behind(qemu: QemuHarness) -> None:
    spec = qemu.spec()
    qemu.driver.ensure_defined(spec)
    volume = qemu.volume()
    qemu.driver.attach_volume(spec.uuid, volume)
    qemu.storage.path(volume.volume_id).unlink()  # the volume's file is gone from under it

    with pytest.raises(DriverError, match="cannot open volume file"):
        qemu.driver.start(spec.uuid)

    assert qemu.driver.state(spec.uuid).power == "shutoff"
    assert qemu.driver.volumes(spec.uuid) == [volume.volume_id]  # still attached: the next start tries again
