"""VMDK descriptors that name host files are refused from the uploaded bytes alone, before qemu-img runs."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from andromede.image import formats

FLAT = 'createType="monolithicFlat"\nRW 2048 FLAT "{path}" 0\n'
TWO_GB = 'createType="twoGbMaxExtentFlat"\nRW 4192256 FLAT "{path}" 0\nRW 2048 FLAT "{path}" 0\n'
SPARSE_EXTENT = 'createType="monolithicSparse"\nRW 2048 SPARSE "{path}"\n'
TARGETS = ("/etc/shadow", "shadow", "../../../etc/shadow", "0b6f8e2c-41d5-4b37-9a8f-4b2b2f2a9c11")


def _descriptor(body: str, *, prologue: str = "# Disk DescriptorFile\n") -> str:
    return f"{prologue}version=1\nCID=fffffffe\nparentCID=ffffffff\n{body}"


def _sparse(tmp: Path, kind: str = "monolithicSparse") -> Path:
    path = tmp / f"{kind}.vmdk"
    subprocess.run(["qemu-img", "create", "-f", "vmdk", "-o", f"subformat={kind}", str(path), "1M"],
                   check=True, capture_output=True, timeout=60)
    return path


def _patch_descriptor(path: Path, text: str, *, capacity: int | None = None) -> Path:
    """Rewrite a qemu-made sparse VMDK's embedded descriptor (and optionally its header capacity)."""
    with path.open("r+b") as handle:
        if capacity is not None:
            handle.seek(12)
            handle.write(struct.pack("<Q", capacity))
        handle.seek(36)
        (sectors,) = struct.unpack("<Q", handle.read(8))
        raw = text.encode()
        assert len(raw) < sectors * 512
        handle.seek(512)
        handle.write(raw.ljust(sectors * 512, b"\0"))
    return path


@pytest.fixture()
def no_qemu_img(monkeypatch: pytest.MonkeyPatch) -> list:
    calls: list = []

    def refuse(path: Path, declared: str) -> dict:
        calls.append((path, declared))
        raise AssertionError("qemu-img must not open this file")

    monkeypatch.setattr(formats, "qemu_img_info", refuse)
    return calls


@pytest.mark.parametrize("declared", ["vmdk", "raw", "qcow2", "iso"])
@pytest.mark.parametrize("template", [FLAT, TWO_GB, SPARSE_EXTENT])
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("prologue", ["# Disk DescriptorFile\n", "", "# made by hand\n  \n"])
def test_descriptor_files_are_refused_under_any_label(tmp_path: Path, no_qemu_img: list, declared: str,
                                                     template: str, target: str, prologue: str) -> None:
    path = tmp_path / "disk.img"
    path.write_text(_descriptor(template.format(path=target), prologue=prologue))
    assert formats.detect(path) == "vmdk"
    with pytest.raises(formats.UnsafeImage) as refused:
        formats.inspect(path, declared, max_virtual_size=1 << 40)
    assert "shadow" not in str(refused.value)
    assert no_qemu_img == []


@pytest.mark.parametrize("target", TARGETS)
def test_a_sparse_vmdk_without_capacity_cannot_point_its_extent_elsewhere(tmp_path: Path, no_qemu_img: list,
                                                                          target: str) -> None:
    # With capacity 0 QEMU opens the embedded descriptor's extents, resolved next to the image: other images.
    path = _patch_descriptor(_sparse(tmp_path), _descriptor(SPARSE_EXTENT.format(path=target), prologue=""),
                             capacity=0)
    with pytest.raises(formats.UnsafeImage):
        formats.inspect(path, "vmdk", max_virtual_size=1 << 40)
    assert no_qemu_img == []


@pytest.mark.parametrize("text", [
    _descriptor(SPARSE_EXTENT.format(path="disk.vmdk") + 'parentFileNameHint="/etc/shadow"\n'),
    _descriptor(SPARSE_EXTENT.format(path="disk.vmdk") + 'ddb.comment = "parentFileNameHint=\\"x\\""\n'),
    _descriptor(FLAT.format(path="/etc/shadow")),
    _descriptor(SPARSE_EXTENT.format(path="/etc/shadow")),
    _descriptor(SPARSE_EXTENT.format(path="disk.vmdk") + 'RW 2048 FLAT "other" 0\n'),
    _descriptor(SPARSE_EXTENT.format(path="disk.vmdk") + "something qemu might read\n"),
])
def test_embedded_descriptors_naming_other_files_are_refused(tmp_path: Path, no_qemu_img: list, text: str) -> None:
    path = _patch_descriptor(_sparse(tmp_path), text)
    with pytest.raises(formats.UnsafeImage):
        formats.inspect(path, "vmdk", max_virtual_size=1 << 40)
    assert no_qemu_img == []


def test_a_descriptor_away_from_sector_one_is_refused(tmp_path: Path, no_qemu_img: list) -> None:
    path = _sparse(tmp_path)
    with path.open("r+b") as handle:
        handle.seek(28)
        handle.write(struct.pack("<Q", 2))
    with pytest.raises(formats.UnsafeImage):
        formats.inspect(path, "vmdk", max_virtual_size=1 << 40)
    assert no_qemu_img == []


@pytest.mark.parametrize("kind", ["monolithicSparse", "streamOptimized"])
def test_single_file_vmdks_made_by_qemu_img_are_accepted(tmp_path: Path, kind: str) -> None:
    inspection = formats.inspect(_sparse(tmp_path, kind), "vmdk", max_virtual_size=1 << 40)
    assert inspection.format == "vmdk" and inspection.virtual_size == 1 << 20


def test_text_that_is_not_a_descriptor_stays_raw(tmp_path: Path) -> None:
    path = tmp_path / "notes.raw"
    path.write_bytes(b"# a comment\nversion=10\n" + b"\0" * 4096)
    assert formats.detect(path) == "raw"
