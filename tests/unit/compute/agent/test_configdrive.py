from __future__ import annotations

import io
import json
from pathlib import Path

import pycdlib
import pytest

from andromede.compute.agent.configdrive import build_config_drive
from andromede.compute.agent.drivers.base import ConfigDrive

META_DATA = {
    "uuid": "7f1c2a3b-0000-4000-8000-00000000abcd",
    "hostname": "web-1.example.org",
    "name": "web-1",
    "availability_zone": "nova",
    "launch_index": 0,
    "project_id": "0123456789abcdef0123456789abcdef",
    "public_keys": {"demo": "ssh-ed25519 AAAAC3Nza demo@host"},
    "keys": [{"name": "demo", "type": "ssh", "data": "ssh-ed25519 AAAAC3Nza demo@host"}],
    "meta": {"role": "wébserver"},
}
NETWORK_DATA = {"links": [{"id": "tap1", "type": "phy", "ethernet_mac_address": "fa:16:3e:00:00:01"}]}
VERSIONS = ("latest", "2018-08-27")


class Volume:
    """An ISO read back with pycdlib, through each of its three name spaces."""

    def __init__(self, path: Path) -> None:
        self.iso = pycdlib.PyCdlib()
        self.iso.open(str(path))

    def label(self) -> str:
        return self.iso.pvd.volume_identifier.decode().strip()

    def read(self, name: str, *, via: str = "rr_path") -> bytes:
        out = io.BytesIO()
        self.iso.get_file_from_iso_fp(out, **{via: name})
        return out.getvalue()

    def rock_ridge_files(self) -> set[str]:
        found = set()
        for directory, _, files in self.iso.walk(rr_path="/"):
            found.update(f"{directory}/{name}".lstrip("/") for name in files)
        return found

    def close(self) -> None:
        self.iso.close()


@pytest.fixture()
def volume_of(tmp_path: Path):
    opened: list[Volume] = []

    def build(drive: ConfigDrive) -> Volume:
        path = tmp_path / "config.iso"
        build_config_drive(drive, path)
        opened.append(Volume(path))
        return opened[-1]

    yield build
    for volume in opened:
        volume.close()


def test_volume_is_labelled_config_2(volume_of) -> None:
    assert volume_of(ConfigDrive(meta_data=META_DATA)).label() == "config-2"


def test_every_document_is_there_in_latest_and_the_dated_version(volume_of) -> None:
    volume = volume_of(ConfigDrive(meta_data=META_DATA, user_data=b"#!/bin/sh\n", network_data=NETWORK_DATA))

    expected = {
        f"openstack/{version}/{name}"
        for version in VERSIONS
        for name in ("meta_data.json", "user_data", "network_data.json", "vendor_data.json", "vendor_data2.json")
    }
    assert volume.rock_ridge_files() == expected


def test_documents_are_the_callers_verbatim(volume_of) -> None:
    user_data = b"#cloud-config\npackages: [htop]\n\x00\xff binary is fine\n"
    vendor_data = {"cloud-init": "#cloud-config\n"}
    volume = volume_of(
        ConfigDrive(meta_data=META_DATA, user_data=user_data, network_data=NETWORK_DATA, vendor_data=vendor_data)
    )

    for version in VERSIONS:
        base = f"/openstack/{version}"
        assert json.loads(volume.read(f"{base}/meta_data.json")) == META_DATA
        assert json.loads(volume.read(f"{base}/network_data.json")) == NETWORK_DATA
        assert json.loads(volume.read(f"{base}/vendor_data.json")) == vendor_data
        assert json.loads(volume.read(f"{base}/vendor_data2.json")) == {}
        assert volume.read(f"{base}/user_data") == user_data


def test_joliet_names_match_rock_ridge_names(volume_of) -> None:
    volume = volume_of(ConfigDrive(meta_data=META_DATA, user_data=b"hello"))

    assert json.loads(volume.read("/openstack/latest/meta_data.json", via="joliet_path")) == META_DATA
    assert volume.read("/openstack/2018-08-27/user_data", via="joliet_path") == b"hello"


def test_plain_iso9660_names_are_the_uppercase_fallback(volume_of) -> None:
    volume = volume_of(ConfigDrive(meta_data=META_DATA, user_data=b"hello"))

    assert json.loads(volume.read("/OPENSTACK/LATEST/META_DATA.JSON;1", via="iso_path")) == META_DATA
    assert volume.read("/OPENSTACK/2018_08_27/USER_DATA.;1", via="iso_path") == b"hello"


def test_no_user_data_file_without_user_data(volume_of) -> None:
    files = volume_of(ConfigDrive(meta_data=META_DATA)).rock_ridge_files()

    assert not any(name.endswith("/user_data") for name in files)
    assert "openstack/latest/meta_data.json" in files


def test_empty_user_data_is_still_a_file(volume_of) -> None:
    assert volume_of(ConfigDrive(meta_data=META_DATA, user_data=b"")).read("/openstack/latest/user_data") == b""


def test_rewriting_replaces_the_file_and_leaves_no_temporary_behind(tmp_path: Path) -> None:
    path = tmp_path / "config.iso"
    build_config_drive(ConfigDrive(meta_data={"v": 1}), path)
    build_config_drive(ConfigDrive(meta_data={"v": 2}), path)

    volume = Volume(path)
    try:
        assert json.loads(volume.read("/openstack/latest/meta_data.json")) == {"v": 2}
    finally:
        volume.close()
    assert [entry.name for entry in tmp_path.iterdir()] == ["config.iso"]
    assert path.stat().st_mode & 0o077 == 0  # may carry secrets in user data


def test_a_failed_write_keeps_the_previous_drive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.iso"
    build_config_drive(ConfigDrive(meta_data={"v": 1}), path)
    before = path.read_bytes()

    def broken_write(self: pycdlib.PyCdlib, fp: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(pycdlib.PyCdlib, "write_fp", broken_write)
    with pytest.raises(OSError, match="disk full"):
        build_config_drive(ConfigDrive(meta_data={"v": 2}), path)

    assert path.read_bytes() == before
    assert [entry.name for entry in tmp_path.iterdir()] == ["config.iso"]


def test_the_label_is_where_guests_probe_for_it(tmp_path: Path) -> None:
    """The tiny guest (and blkid) read the primary volume descriptor's identifier at byte 32808."""
    path = tmp_path / "config.iso"
    build_config_drive(ConfigDrive(meta_data={}), path)

    with path.open("rb") as iso:
        iso.seek(32808)
        assert iso.read(8) == b"config-2"
