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
VMDK3_MAGIC = b"COWD"
# QEMU reads a sparse VMDK's descriptor (extents, parentFileNameHint) right after the 512-byte header.
VMDK_DESCRIPTOR_SECTOR = 1
VMDK_DESCRIPTOR_MAX_SECTORS = 2048
# QEMU looks for parentFileNameHint in this much text after the header, whatever the descriptor's stated size.
VMDK_QEMU_DESCRIPTOR_SECTORS = 20
ISO_MAGIC_OFFSET = 0x8001
# qcow2 incompatible feature bits we understand: dirty, corrupt, external data file, compression type,
# extended L2. Bit 2 (external data file) is refused on its own; any unknown bit is refused too.
QCOW2_KNOWN_INCOMPATIBLE = 0b11011
QCOW2_DATA_FILE_BIT = 1 << 2
QCOW2_EXT_DATA_FILE = 0x44415441
VMDK_ALLOWED_TYPES = ("monolithicSparse", "streamOptimized")
_VMDK_VERSION_LINE = re.compile(rb"version=[123]\r?\n")
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
    if head.startswith((VMDK_MAGIC, VMDK3_MAGIC)) or is_vmdk_descriptor(head):
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


def is_vmdk_descriptor(head: bytes) -> bool:
    """A text VMDK descriptor, recognised as QEMU's probe does: comment and blank lines, then `version=N`.

    Such a file is nothing but a list of other files (extents) for QEMU to open; whatever its declared
    format, it must never reach qemu-img.
    """
    if head.startswith(b"# Disk DescriptorFile"):
        return True
    for line in head.split(b"\n"):
        if line.startswith(b"#") or not line.strip(b" \r"):
            continue
        return _VMDK_VERSION_LINE.match(line + b"\n") is not None
    return False


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
    """The descriptor embedded in a single-file sparse VMDK, where QEMU reads it."""
    head = _read_head(path, 64 * 1024)
    if not head.startswith(VMDK_MAGIC):
        raise UnsafeImage("Only single-file VMDK images (monolithicSparse, streamOptimized) are accepted; "
                          "descriptor files, which name other files, are not.")
    if len(head) < 512:
        raise UnsafeImage("The VMDK header is truncated.")
    version, _flags, capacity, _grain, desc_sector, desc_sectors = struct.unpack_from("<IIQQQQ", head, 4)
    if version not in (1, 2, 3):
        raise UnsafeImage(f"Unsupported VMDK version {version}.")
    if capacity == 0:  # QEMU would then take the embedded descriptor's extents as the disk's files
        raise UnsafeImage("The VMDK image has no capacity of its own.")
    if desc_sector != VMDK_DESCRIPTOR_SECTOR or not 0 < desc_sectors <= VMDK_DESCRIPTOR_MAX_SECTORS:
        raise UnsafeImage("The VMDK image's descriptor is not where it belongs.")
    with path.open("rb") as handle:
        handle.seek(desc_sector * 512)
        raw = handle.read(max(desc_sectors, VMDK_QEMU_DESCRIPTOR_SECTORS) * 512).split(b"\0", 1)[0]
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise UnsafeImage("The VMDK descriptor is not text.") from exc


def check_vmdk(path: Path) -> None:
    descriptor = _vmdk_descriptor(path)
    if "parentfilenamehint" in descriptor.lower():  # QEMU finds it anywhere in the text
        raise UnsafeImage("VMDK images with a parent (backing) file are not accepted.")
    create_type, extents = "", []
    # Every line must be one we understand (as OpenStack's format inspector requires): comments, disk
    # database entries, `key=value` headers, extents.
    for line in (raw.strip() for raw in descriptor.splitlines()):
        if not line or line.startswith("#") or line.startswith("ddb."):
            continue
        key, equals, value = line.partition("=")
        if equals and " " not in key.strip():
            if key.strip().lower() == "createtype":
                create_type = value.strip().strip('"')
            continue
        if line.split(" ", 1)[0] in ("RW", "RDONLY", "NOACCESS"):
            extents.append(line)
            continue
        raise UnsafeImage("The VMDK descriptor holds a line that is not understood.")
    if create_type.lower() not in (t.lower() for t in VMDK_ALLOWED_TYPES):
        raise UnsafeImage(f"VMDK images of type '{create_type[:64]}' are not accepted.")
    if len(extents) != 1 or extents[0].split()[2:3] != ["SPARSE"] or "/" in extents[0]:
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
