"""Malicious and mislabelled disk images, made with qemu-img or by patching headers."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path


def qemu_img(*args: str) -> None:
    subprocess.run(["qemu-img", *args], check=True, capture_output=True, timeout=60)


def small_qcow2(path: Path, size: str = "16M") -> Path:
    qemu_img("create", "-f", "qcow2", str(path), size)
    return path


def backing_file(tmp: Path) -> Path:
    path = tmp / "backing.qcow2"
    qemu_img("create", "-f", "qcow2", "-b", "/etc/passwd", "-F", "raw", str(path), "1M")
    return path


def data_file(tmp: Path) -> Path:
    path = tmp / "datafile.qcow2"
    qemu_img("create", "-f", "qcow2", "-o", f"data_file={tmp / 'data.raw'}", str(path), "1M")
    return path


def vmdk_flat_extent(tmp: Path) -> Path:
    path = tmp / "flat.vmdk"
    path.write_text('# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n'
                    'createType="monolithicFlat"\nRW 2048 FLAT "/etc/passwd" 0\n')
    return path


def huge_virtual_size(tmp: Path) -> Path:
    """A valid small qcow2 whose header claims 2^60 bytes (qemu-img itself refuses to make one)."""
    path = small_qcow2(tmp / "huge.qcow2", "1M")
    with path.open("r+b") as handle:
        handle.seek(24)
        handle.write(struct.pack(">Q", 1 << 60))
    return path
