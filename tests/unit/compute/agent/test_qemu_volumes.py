from __future__ import annotations

import base64
import copy

import pytest

from andromede.compute.agent.drivers.base import DriverError, VolumeAttachment
from andromede.compute.agent.drivers.qemu import volumes

VOLUME_ID = "0b5c7a9e-1f2d-4c3b-8a6e-9d8c7b6a5f4e"
SPEC = {
    "node-name": "volume",
    "driver": "qcow2",
    "file": {"driver": "file", "filename": f"/var/lib/andromede/volumes/{VOLUME_ID}.qcow2"},
    "backing": None,
    "encrypt": {"format": "luks", "key-secret": "key"},
}


def test_names_are_the_volumes_and_the_node_name_fits_qemus_limit() -> None:
    assert volumes.device_id(VOLUME_ID) == f"volume-{VOLUME_ID}"
    assert len(volumes.node_name(VOLUME_ID)) <= 31
    assert volumes.node_name(VOLUME_ID) != volumes.node_name("1" + VOLUME_ID[1:])


def test_the_prepared_spec_reads_the_fd_set_under_the_drivers_names_and_leaves_the_original_alone() -> None:
    original = copy.deepcopy(SPEC)
    prepared = volumes.prepared_spec(VOLUME_ID, SPEC, 3)

    assert prepared["file"] == {"driver": "file", "filename": "/dev/fdset/3"}
    assert prepared["node-name"] == volumes.node_name(VOLUME_ID)
    assert prepared["encrypt"] == {"format": "luks", "key-secret": volumes.secret_id(VOLUME_ID)}
    assert prepared["backing"] is None
    assert original == SPEC


def test_the_secret_is_the_keys_luks_passphrase_in_base64() -> None:
    key = bytes(range(64))
    secret = volumes.secret_object(VOLUME_ID, key)
    assert secret["qom-type"] == "secret" and secret["format"] == "base64"
    assert base64.b64decode(secret["data"]) == key.hex().encode()  # what qemu-img formatted the volume with


@pytest.mark.parametrize("spec", [
    {"driver": "qcow2"},
    {"driver": "qcow2", "file": {"driver": "nbd", "filename": "/x"}},
    {"driver": "qcow2", "file": {"driver": "file", "filename": "relative.qcow2"}},
])
def test_a_spec_without_an_absolute_file_is_refused(spec: dict) -> None:
    with pytest.raises(DriverError):
        volumes.volume_file(spec)


def test_an_attachment_never_shows_its_key() -> None:
    attachment = VolumeAttachment(VOLUME_ID, SPEC, b"very secret key bytes")
    assert "very secret" not in repr(attachment) and "very secret" not in str(attachment)


def test_the_volume_file_is_opened_only_as_a_regular_file_never_through_a_symlink(tmp_path) -> None:
    target = tmp_path / "volume.qcow2"
    target.write_bytes(b"")
    link = tmp_path / "link.qcow2"
    link.symlink_to(target)

    with pytest.raises(DriverError):
        volumes.open_volume_file(link)
    with pytest.raises(DriverError):
        volumes.open_volume_file(tmp_path)
