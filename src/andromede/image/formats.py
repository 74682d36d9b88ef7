"""Disk image format safety: our own header parsing, then qemu-img under resource limits.

An uploaded image only becomes active once both agree it is what it claims to be and holds nothing
that would make QEMU open another file on the host (qcow2 backing or data files, VMDK extents).
"""

from __future__ import annotations

import json
import re
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

QCOW2_MAGIC = b"QFI\xfb"
VMDK_MAGIC = b"KDMV"
ISO_MAGIC_OFFSET = 0x8001
# qcow2 incompatible feature bits we understand: dirty, corrupt, external data file, compression type,
# extended L2. Bit 2 (external data file) is refused on its own; any unknown bit is refused too.
QCOW2_KNOWN_INCOMPATIBLE = 0b11011
QCOW2_DATA_FILE_BIT = 1 << 2
QCOW2_EXT_DATA_FILE = 0x44415441
VMDK_ALLOWED_TYPES = ("monolithicSparse", "streamOptimized")
QEMU_IMG_LIMITS = ["--as=1073741824", "--cpu=30"]


class UnsafeImage(Exception):
    """The image is refused; the message is safe to show the uploader (it holds no host data)."""


@dataclass(frozen=True)
class Inspection:
    format: str
    virtual_size: int


def _read_head(path: Path, size: int = 1 << 20) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


def detect(path: Path) -> str:
    """The format the bytes say they are: qcow2, vmdk, iso, vhd, vhdx, vdi, luks, or raw."""
    head = _read_head(path, 64 * 1024)
    if head.startswith(QCOW2_MAGIC):
        return "qcow2"
    if head.startswith(VMDK_MAGIC) or head.startswith(b"# Disk DescriptorFile"):
        return "vmdk"
    if head.startswith(b"conectix"):
        return "vhd"
    if head.startswith(b"vhdxfile"):
        return "vhdx"
    if head.startswith(b"LUKS\xba\xbe"):
        return "luks"
    if len(head) >= 0x44 and struct.unpack_from("<I", head, 0x40)[0] == 0xBEDA107F:
        return "vdi"
    if head[ISO_MAGIC_OFFSET:ISO_MAGIC_OFFSET + 5] == b"CD001":
        return "iso"
    return "raw"


def check_qcow2(path: Path) -> None:
    head = _read_head(path, 64 * 1024)
    if len(head) < 72:
        raise UnsafeImage("The qcow2 header is truncated.")
    version, backing_offset, backing_size = struct.unpack_from(">IQI", head, 4)
    if version not in (2, 3):
        raise UnsafeImage(f"Unsupported qcow2 version {version}.")
    if backing_offset or backing_size:
        raise UnsafeImage("qcow2 images with a backing file are not accepted.")
    if version == 2:
        return
    if len(head) < 104:
        raise UnsafeImage("The qcow2 header is truncated.")
    incompatible = struct.unpack_from(">Q", head, 72)[0]
    if incompatible & QCOW2_DATA_FILE_BIT:
        raise UnsafeImage("qcow2 images with an external data file are not accepted.")
    if incompatible & ~QCOW2_KNOWN_INCOMPATIBLE:
        raise UnsafeImage("The qcow2 image uses unknown incompatible features.")
    header_length = struct.unpack_from(">I", head, 100)[0]
    offset = header_length
    while offset + 8 <= len(head):
        ext_type, ext_len = struct.unpack_from(">II", head, offset)
        if ext_type == 0:
            break
        if ext_type == QCOW2_EXT_DATA_FILE:
            raise UnsafeImage("qcow2 images with an external data file are not accepted.")
        offset += 8 + ((ext_len + 7) & ~7)


def _vmdk_descriptor(path: Path) -> str:
    head = _read_head(path, 64 * 1024)
    if head.startswith(b"# Disk DescriptorFile"):
        return head.decode("latin-1")
    if len(head) < 512:
        raise UnsafeImage("The VMDK header is truncated.")
    desc_sector, desc_sectors = struct.unpack_from("<QQ", head, 28)
    if not desc_sector or not desc_sectors or desc_sectors > 2048:
        raise UnsafeImage("The VMDK image has no embedded descriptor.")
    with path.open("rb") as handle:
        handle.seek(desc_sector * 512)
        return handle.read(desc_sectors * 512).split(b"\0", 1)[0].decode("latin-1")


def check_vmdk(path: Path) -> None:
    descriptor = _vmdk_descriptor(path)
    found = re.search(r'^\s*createType\s*=\s*"([^"]*)"', descriptor, re.M)
    create_type = found.group(1) if found else ""
    if create_type not in VMDK_ALLOWED_TYPES:
        raise UnsafeImage(f"VMDK images of type '{create_type}' are not accepted.")
    extents = re.findall(r"^\s*(RW|RDONLY|NOACCESS)\s+\d+\s+(\S+)", descriptor, re.M)
    if len(extents) != 1 or extents[0][1] != "SPARSE":
        raise UnsafeImage("VMDK images may only have their single embedded sparse extent.")


def qemu_img_info(path: Path, declared: str) -> dict:
    """qemu-img info with an explicit format, under an address-space and CPU-time limit."""
    fmt = "raw" if declared == "iso" else declared
    argv = ["prlimit", *QEMU_IMG_LIMITS, "qemu-img", "info", "-f", fmt, "--output=json", str(path)]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except subprocess.TimeoutExpired as exc:
        raise UnsafeImage("The image took too long to inspect.") from exc
    if result.returncode != 0:
        raise UnsafeImage(f"The image is not a valid {declared} image.")
    try:
        return json.loads(result.stdout)
    except ValueError as exc:
        raise UnsafeImage(f"The image is not a valid {declared} image.") from exc


def inspect(path: Path, declared: str, *, max_virtual_size: int) -> Inspection:
    detected = detect(path)
    acceptable = {declared} | ({"iso"} if declared == "raw" else set())
    if detected not in acceptable:
        raise UnsafeImage(f"The image data is {detected}, not the declared {declared}.")
    if declared == "qcow2":
        check_qcow2(path)
    elif declared == "vmdk":
        check_vmdk(path)
    info = qemu_img_info(path, declared)
    if info.get("backing-filename") or info.get("full-backing-filename"):
        raise UnsafeImage("Images with a backing file are not accepted.")
    specific = (info.get("format-specific") or {}).get("data") or {}
    if specific.get("data-file") or specific.get("data-file-raw"):
        raise UnsafeImage("qcow2 images with an external data file are not accepted.")
    if declared == "vmdk" and (specific.get("create-type") not in VMDK_ALLOWED_TYPES
                               or len(specific.get("extents", [])) > 1):
        raise UnsafeImage("VMDK images may only have their single embedded sparse extent.")
    virtual_size = int(info.get("virtual-size") or 0)
    if virtual_size <= 0:
        raise UnsafeImage("The image has no size.")
    if virtual_size > max_virtual_size:
        raise UnsafeImage(f"The image's virtual size exceeds the {max_virtual_size} byte limit.")
    return Inspection(format=declared, virtual_size=virtual_size)
