"""A volume carries data from one real VM to the next through the real CLI: server A gets the volume
(`openstack server add volume`), its guest writes a canary on it, the volume comes off (`server remove volume`) and
goes onto server B, whose guest reads the canary back; the volume's file on the host never holds it in clear.

Bounded: one VM at a time, 256 MiB (m1.tiny), the tiny guest; TCG when KVM does not work.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from andromede.compute.agent.drivers.qemu.volumes import SERIAL_LENGTH
from tests.contract.compute.test_qemu_volumes import reader_script, writer_script
from tests.e2e.support import BOOT_TIMEOUT, console, poll, qemu_cloud
from tests.support.server import Server

pytestmark = pytest.mark.vm


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from qemu_cloud(tmp_path_factory, "volcloud")


def _volume_status(cloud: Server, volume_id: str, wanted: str) -> None:
    poll(lambda: cloud.openstack_json("volume", "show", volume_id)["status"] == wanted, 180,
         f"volume {volume_id} {wanted}")


def _boot(cloud: Server, name: str, script: Path) -> None:
    created = cloud.openstack_json("server", "create", "--image", "tiny", "--flavor", "m1.tiny", "--user-data",
                                   str(script), "--config-drive", "True", "--wait", name)
    assert created["status"] == "ACTIVE"
    poll(lambda: "andromede-tiny: ready" in console(cloud, name), BOOT_TIMEOUT, f"{name} to boot")


def test_a_canary_goes_from_one_server_to_the_next_on_a_volume(cloud: Server, tmp_path: Path) -> None:
    volume = cloud.openstack_json("volume", "create", "--size", "1", "carrier")
    volume_id = volume["id"]
    _volume_status(cloud, volume_id, "available")
    on_host = str(uuidlib.UUID(hex=volume_id))  # the drivers' name: the file, and the disk's serial in the guest
    serial, canary = on_host[:SERIAL_LENGTH], f"canary-{uuidlib.uuid4().hex}"

    writer = tmp_path / "writer.sh"
    writer.write_bytes(writer_script(serial, canary))
    _boot(cloud, "vol-writer", writer)
    cloud.openstack("server", "add", "volume", "vol-writer", volume_id)
    _volume_status(cloud, volume_id, "in-use")
    poll(lambda: "volume-test: wrote /dev/vd" in console(cloud, "vol-writer"), 120, "the canary written")
    cloud.openstack("server", "remove", "volume", "vol-writer", volume_id)
    _volume_status(cloud, volume_id, "available")
    cloud.openstack("server", "delete", "--wait", "vol-writer")  # one VM at a time

    reader = tmp_path / "reader.sh"
    reader.write_bytes(reader_script(serial, len(canary)))
    _boot(cloud, "vol-reader", reader)
    cloud.openstack("server", "add", "volume", "vol-reader", volume_id)
    _volume_status(cloud, volume_id, "in-use")
    attached = cloud.openstack_json("server", "volume", "list", "vol-reader")
    assert [a["Volume ID"] for a in attached] == [volume_id]
    poll(lambda: f"volume-test: read {canary}" in console(cloud, "vol-reader"), 120, "the canary read back")

    stored = cloud.data_dir / "volumes" / f"{on_host}.qcow2"
    assert stored.is_file() and canary.encode() not in stored.read_bytes()  # LUKS: ciphertext only on the host
    cloud.openstack("server", "delete", "--wait", "vol-reader")
    _volume_status(cloud, volume_id, "available")
    cloud.openstack("volume", "delete", volume_id)
