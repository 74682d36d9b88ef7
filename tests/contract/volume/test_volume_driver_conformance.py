"""What every storage driver does, checked the same way against the fake and against the file driver (qemu-img).

Contents go in and come out through the encryption layer (qemu-io and qemu-img with the key on a pipe, for the
file driver), and the bytes the backend stores are read from outside, as an attacker on the host would.
"""

from __future__ import annotations

import base64
import json
import subprocess

import pytest

from andromede.agentlib.errors import PermanentError, TemporaryError, is_permanent
from andromede.volume.agent.drivers import qemu_img
from andromede.volume.agent.drivers.base import (
    GIB,
    PermanentVolumeError,
    VolumeDriverError,
    VolumeNotFound,
    WrongKey,
)
from andromede.volume.agent.drivers.file import FileDriver
from tests.contract.volume.harness import FileHarness, Harness, new_id, new_key

BLOCK = 4096
FIRST = b"\x5a" * BLOCK
SECOND = b"\xa5" * BLOCK
CANARY = b"andromede-canary-7f3e9c1d-the-guest-wrote-this!".ljust(512, b"#")


# ---- sizes ----


def test_a_blank_encrypted_volume_has_its_size_reads_zeroes_and_is_thin(harness: Harness) -> None:
    volume, key = new_id(), new_key()

    info = harness.driver.create(volume, 2, key=key)

    assert (info.volume_id, info.size_gib, info.encrypted, info.snapshots) == (volume, 2, True, ())
    assert 0 < info.allocated_bytes < 64 * 1024 * 1024  # a blank volume holds little more than its headers
    assert harness.driver.describe(volume) == info
    assert volume in harness.driver.list_volumes()
    assert harness.read(volume, GIB, BLOCK, key=key) == b"\0" * BLOCK
    # Asked again (the reconcile loop repeats itself): the same volume; with another size: refused.
    assert harness.driver.create(volume, 2, key=key) == info
    with pytest.raises(PermanentVolumeError):
        harness.driver.create(volume, 3, key=key)


def test_a_volume_without_encryption_stores_what_it_is_given(harness: Harness) -> None:
    volume = new_id()

    info = harness.driver.create(volume, 1, key=None)
    harness.write(volume, 0, FIRST, key=None)

    assert (info.size_gib, info.encrypted) == (1, False)
    assert harness.read(volume, 0, BLOCK, key=None) == FIRST
    assert "encrypt" not in harness.driver.qemu_block_spec(volume, node_name="vol0", secret_id=None)


def test_extend_grows_keeping_the_contents_and_never_shrinks(harness: Harness) -> None:
    volume, key = new_id(), new_key()
    harness.driver.create(volume, 1, key=key)
    harness.write(volume, 0, FIRST, key=key)

    grown = harness.driver.extend(volume, 3, key=key)

    assert grown.size_gib == 3 and harness.driver.describe(volume).size_gib == 3
    assert harness.read(volume, 0, BLOCK, key=key) == FIRST
    assert harness.read(volume, 2 * GIB, BLOCK, key=key) == b"\0" * BLOCK  # the new space reads as zeroes
    assert harness.driver.extend(volume, 3, key=key).size_gib == 3  # already so: nothing to do
    with pytest.raises(PermanentVolumeError):
        harness.driver.extend(volume, 2, key=key)
    assert harness.driver.describe(volume).size_gib == 3


# ---- snapshots and copies ----


def test_a_snapshot_freezes_the_contents_and_a_volume_made_from_it_has_them(harness: Harness) -> None:
    source, source_key = new_id(), new_key()
    snapshot, copy, copy_key = new_id(), new_id(), new_key()
    harness.driver.create(source, 1, key=source_key)
    harness.write(source, 0, FIRST, key=source_key)

    harness.driver.snapshot(source, snapshot, key=source_key)
    harness.driver.snapshot(source, snapshot, key=source_key)  # again: nothing to do
    harness.write(source, 0, SECOND, key=source_key)
    made = harness.driver.create_from_snapshot(copy, source, snapshot, source_key=source_key, key=copy_key,
                                               size_gib=2)

    assert harness.driver.describe(source).snapshots == (snapshot,)
    assert (made.size_gib, made.encrypted, made.snapshots) == (2, True, ())
    assert harness.read(copy, 0, BLOCK, key=copy_key) == FIRST
    assert harness.read(source, 0, BLOCK, key=source_key) == SECOND
    # The copy is under its own key: the source's key does not open it.
    with pytest.raises(WrongKey):
        harness.read(copy, 0, BLOCK, key=source_key)

    harness.driver.delete_snapshot(source, snapshot, key=source_key)
    harness.driver.delete_snapshot(source, snapshot, key=source_key)  # gone already: nothing to do
    assert harness.driver.describe(source).snapshots == ()
    with pytest.raises(VolumeNotFound):
        harness.driver.create_from_snapshot(new_id(), source, snapshot, source_key=source_key, key=new_key())


def test_a_clone_is_an_independent_copy_under_its_own_key(harness: Harness) -> None:
    source, source_key, clone, clone_key = new_id(), new_key(), new_id(), new_key()
    harness.driver.create(source, 1, key=source_key)
    harness.write(source, 1024 * 1024, FIRST, key=source_key)

    made = harness.driver.clone(clone, source, source_key=source_key, key=clone_key, size_gib=2)
    harness.write(source, 1024 * 1024, SECOND, key=source_key)
    harness.driver.delete(source)

    assert (made.size_gib, made.encrypted) == (2, True)
    assert harness.read(clone, 1024 * 1024, BLOCK, key=clone_key) == FIRST
    with pytest.raises(WrongKey):
        harness.read(clone, 0, BLOCK, key=source_key)


def test_a_clone_can_change_the_encryption_either_way(harness: Harness) -> None:
    plain, encrypted, back, key = new_id(), new_id(), new_id(), new_key()
    harness.driver.create(plain, 1, key=None)
    harness.write(plain, 0, FIRST, key=None)

    assert harness.driver.clone(encrypted, plain, source_key=None, key=key).encrypted
    assert not harness.driver.clone(back, encrypted, source_key=key, key=None).encrypted

    assert harness.read(encrypted, 0, BLOCK, key=key) == FIRST
    assert harness.read(back, 0, BLOCK, key=None) == FIRST


def test_a_volume_from_a_raw_image_has_its_contents(harness: Harness) -> None:
    volume, key = new_id(), new_key()
    image = harness.raw_image(FIRST + SECOND, 64 * 1024 * 1024)

    info = harness.driver.create_from_image(volume, image, "raw", 1, key=key)

    assert (info.size_gib, info.encrypted) == (1, True)
    assert harness.read(volume, 0, BLOCK, key=key) == FIRST
    assert harness.read(volume, BLOCK, BLOCK, key=key) == SECOND
    assert harness.read(volume, 32 * 1024 * 1024, BLOCK, key=key) == b"\0" * BLOCK


def test_an_image_that_does_not_fit_or_names_another_file_is_refused(harness: Harness) -> None:
    too_big = harness.raw_image(b"", GIB + 4096)
    with pytest.raises(PermanentVolumeError):
        harness.driver.create_from_image(new_id(), too_big, "raw", 1, key=None)

    # A qcow2 whose backing file is any file of the host would copy that file into a tenant's volume.
    secret_file = harness.raw_image(b"root:x:0:0:secret", 4096)
    with pytest.raises(PermanentVolumeError):
        harness.driver.create_from_image(new_id(), harness.qcow2_image(4096, backing=secret_file), "qcow2", 1,
                                         key=None)

    with pytest.raises(VolumeNotFound):
        harness.driver.create_from_image(new_id(), harness.workdir / "missing.raw", "raw", 1, key=None)
    assert harness.driver.list_volumes() == []  # nothing half-made


def test_a_volume_from_a_qcow2_image_has_its_size(harness: Harness) -> None:
    volume = new_id()
    info = harness.driver.create_from_image(volume, harness.qcow2_image(512 * 1024 * 1024), "qcow2", 1, key=None)
    assert (info.size_gib, info.encrypted) == (1, False)


# ---- deletion ----


def test_delete_frees_the_volume_and_its_snapshots(harness: Harness) -> None:
    volume, key = new_id(), new_key()
    harness.driver.create(volume, 1, key=key)
    harness.write(volume, 0, CANARY, key=key)
    harness.driver.snapshot(volume, new_id(), key=key)

    harness.driver.delete(volume)

    assert volume not in harness.driver.list_volumes()
    with pytest.raises(VolumeNotFound):
        harness.driver.describe(volume)
    assert harness.stored_bytes(volume) == b""
    assert not [path for path in harness.stored_files() if volume in path.name]
    harness.driver.delete(volume)  # gone already: nothing to do


# ---- keys ----


def test_a_canary_written_through_the_encryption_is_nowhere_in_the_stored_bytes(harness: Harness) -> None:
    encrypted, key, plain = new_id(), new_key(), new_id()
    harness.driver.create(encrypted, 1, key=key)
    harness.driver.create(plain, 1, key=None)

    for offset in (0, 1024 * 1024, 512 * 1024 * 1024):
        harness.write(encrypted, offset, CANARY, key=key)
        harness.write(plain, offset, CANARY, key=None)
    harness.driver.snapshot(encrypted, new_id(), key=key)
    harness.write(encrypted, 0, FIRST, key=key)  # the snapshot now holds the only copy of the first canary

    assert harness.read(encrypted, 1024 * 1024, len(CANARY), key=key) == CANARY
    assert CANARY[:24] not in harness.stored_bytes(encrypted)
    assert CANARY[:24] in harness.stored_bytes(plain)  # the control: the same search finds it in clear
    for path in harness.stored_files():
        assert CANARY[:24] not in path.read_bytes() or plain in path.name


def test_a_wrong_or_missing_key_opens_nothing(harness: Harness) -> None:
    volume, key, plain = new_id(), new_key(), new_id()
    harness.driver.create(volume, 1, key=key)
    harness.driver.create(plain, 1, key=None)
    harness.write(volume, 0, FIRST, key=key)

    with pytest.raises(WrongKey):
        harness.read(volume, 0, BLOCK, key=new_key())
    with pytest.raises(WrongKey):
        harness.driver.clone(new_id(), volume, source_key=new_key(), key=new_key())
    with pytest.raises(WrongKey):
        harness.driver.extend(volume, 2, key=None)
    with pytest.raises(WrongKey):
        harness.driver.snapshot(plain, new_id(), key=key)
    with pytest.raises(WrongKey):
        harness.driver.qemu_block_spec(volume, node_name="vol0", secret_id=None)
    assert sorted(harness.driver.list_volumes()) == sorted([volume, plain])
    assert harness.driver.describe(volume).size_gib == 1


def key_forms(key: bytes) -> list[bytes]:
    passphrase = qemu_img.passphrase(key)
    return [key, passphrase, passphrase.upper(), base64.b64encode(key), base64.b64encode(passphrase)]


def test_a_key_is_never_on_a_command_line_nor_in_a_file(harness: Harness) -> None:
    volume, key, snapshot, copy, copy_key = new_id(), new_key(), new_id(), new_id(), new_key()
    harness.driver.create(volume, 1, key=key)
    harness.write(volume, 0, FIRST, key=key)
    harness.driver.snapshot(volume, snapshot, key=key)
    harness.driver.extend(volume, 2, key=key)
    harness.driver.create_from_snapshot(copy, volume, snapshot, source_key=key, key=copy_key)
    harness.read(copy, 0, BLOCK, key=copy_key)

    forms = [form for secret in (key, copy_key) for form in key_forms(secret)]
    for argv in harness.argvs():
        joined = "\0".join(argv).encode()
        assert not [form for form in forms if form in joined], argv
        assert not [arg for arg in argv if arg.startswith("secret,") and "file=/dev/fd/" not in arg], argv
    for path in harness.stored_files():
        contents = path.read_bytes()
        assert not [form for form in forms if form in contents], path
    if isinstance(harness, FileHarness):
        assert any("secret,id=" in arg for argv in harness.argvs() for arg in argv)  # keys did go by the pipe


def test_the_qemu_secret_carries_the_passphrase_for_qmp_only(harness: Harness) -> None:
    key = new_key()
    secret = harness.driver.qemu_secret("vol0-key", key)
    assert (secret["qom-type"], secret["id"], secret["format"]) == ("secret", "vol0-key", "base64")
    assert base64.b64decode(secret["data"]) == qemu_img.passphrase(key)


# ---- errors ----


def test_errors_are_typed_for_the_reconcile_loop(harness: Harness) -> None:
    assert issubclass(VolumeDriverError, TemporaryError) and not is_permanent(VolumeDriverError("disk full"))
    for error in (PermanentVolumeError, VolumeNotFound, WrongKey):
        assert issubclass(error, PermanentError) and issubclass(error, VolumeDriverError)

    with pytest.raises(VolumeNotFound):
        harness.driver.describe(new_id())
    with pytest.raises(VolumeNotFound):
        harness.driver.extend(new_id(), 2, key=None)
    with pytest.raises(VolumeNotFound):
        harness.driver.snapshot(new_id(), new_id(), key=None)
    with pytest.raises(PermanentVolumeError):
        harness.driver.create("../../etc/passwd", 1, key=None)
    with pytest.raises(PermanentVolumeError):
        harness.driver.snapshot(new_id(), "snap;rm -rf /", key=None)
    for size in (0, -1, True, 1.5):
        with pytest.raises(PermanentVolumeError):
            harness.driver.create(new_id(), size, key=None)  # type: ignore[arg-type]
    assert harness.driver.list_volumes() == []


# ---- the file driver only: what QEMU and a restarted agent see ----


@pytest.fixture
def file_harness(harness: Harness) -> FileHarness:
    if not isinstance(harness, FileHarness):
        pytest.skip("what only real files and a real QEMU block layer can show")
    return harness


def test_qemu_opens_the_volume_with_the_block_spec_and_the_secret(file_harness: FileHarness) -> None:
    volume, key = new_id(), new_key()
    file_harness.driver.create(volume, 1, key=key)
    file_harness.write(volume, 0, FIRST, key=key)
    spec = file_harness.driver.qemu_block_spec(volume, node_name="vol0", secret_id="k")

    # The node description as QEMU takes it (a json: filename is what blockdev-add would get), the key on a pipe.
    output = qemu_img.run(["qemu-io", "--object", qemu_img.SecretObject("k"), "-c", f"read -P 0x5a 0 {BLOCK}",
                           f"json:{json.dumps(spec)}"], {"k": key})

    assert "read 4096/4096 bytes" in output
    assert spec["encrypt"] == {"format": "luks", "key-secret": "k"}
    assert spec["backing"] is None and spec["node-name"] == "vol0"


def test_a_new_driver_on_the_same_directory_finds_every_volume(file_harness: FileHarness) -> None:
    volumes = sorted([new_id(), new_id()])
    for volume in volumes:
        file_harness.driver.create(volume, 1, key=None)
    (file_harness.file_driver.directory / "not-a-volume.qcow2").write_bytes(b"")

    again = FileDriver(file_harness.file_driver.directory)

    assert again.list_volumes() == volumes
    assert again.describe(volumes[0]).size_gib == 1


def test_volume_files_are_for_the_agent_only(file_harness: FileHarness) -> None:
    volume = new_id()
    file_harness.driver.create(volume, 1, key=None)
    directory = file_harness.file_driver.directory
    assert directory.stat().st_mode & 0o777 == 0o700
    assert file_harness.file_driver.path(volume).stat().st_mode & 0o777 == 0o600
    assert subprocess.run(["qemu-img", "check", "-q", "-f", "qcow2", str(file_harness.file_driver.path(volume))],
                          check=False).returncode == 0
