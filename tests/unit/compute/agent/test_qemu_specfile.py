from __future__ import annotations

from pathlib import Path

from andromede.compute.agent.drivers.base import ConfigDrive, InstanceSpec
from andromede.compute.agent.drivers.qemu.specfile import read_spec, write_spec

SPEC = InstanceSpec(
    uuid="7f1c2a3b-0000-4000-8000-00000000abcd",
    hostname="web-1",
    vcpus=2,
    memory_mib=512,
    root_gib=0,
    base_image=Path("/var/lib/andromede/images/tiny.raw"),
    base_format="raw",
    config_drive=ConfigDrive(
        meta_data={"uuid": "7f1c2a3b", "meta": {"k": "vé"}},
        user_data=b"\x00\xffbinary",
        network_data={"links": []},
        vendor_data={"a": 1},
    ),
    nics=({"tap": "tap1", "mac": "fa:16:3e:00:00:01"},),
)


def test_a_spec_round_trips_exactly(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"

    write_spec(SPEC, path)

    assert read_spec(path) == SPEC


def test_a_spec_without_config_drive_round_trips(tmp_path: Path) -> None:
    spec = InstanceSpec(**{**SPEC.__dict__, "config_drive": None, "nics": ()})
    path = tmp_path / "spec.json"

    write_spec(spec, path)

    assert read_spec(path) == spec


def test_writing_the_same_spec_again_touches_nothing(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    assert write_spec(SPEC, path)
    inode = path.stat().st_ino

    assert not write_spec(SPEC, path)
    assert path.stat().st_ino == inode
    assert write_spec(InstanceSpec(**{**SPEC.__dict__, "vcpus": 4}), path)


def test_the_spec_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    write_spec(SPEC, path)

    assert path.stat().st_mode & 0o077 == 0
    assert [entry.name for entry in tmp_path.iterdir()] == ["spec.json"]
