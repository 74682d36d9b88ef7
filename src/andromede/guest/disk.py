"""A BIOS-bootable raw disk without loop devices or root: one active FAT16 partition at 1 MiB holding
SYSLINUX, the kernel and the initramfs, behind SYSLINUX's MBR boot code."""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from pathlib import Path

from andromede.guest.proc import BuildError, run

SECTOR = 512
MIB = 1 << 20
PARTITION_START = 2048  # sectors: 1 MiB, the usual alignment
FAT16_LBA = 0x0E
TOOL_TIMEOUT_S = 120
FIXED_MTIME = 946684800  # 2000-01-01: file dates on the FAT, so equal inputs give an equal image
MBR_CODE_CANDIDATES = (Path("/usr/lib/syslinux/mbr/mbr.bin"), Path("/usr/share/syslinux/mbr.bin"))


def partition_size(payload_bytes: int) -> int:
    """Bytes for a FAT partition holding `payload_bytes` of files: 25% + 2 MiB slack, whole MiB, >= 16 MiB."""
    wanted = payload_bytes + payload_bytes // 4 + 2 * MIB
    return max(16 * MIB, -(-wanted // MIB) * MIB)


def mbr(boot_code: bytes, start_sector: int, sector_count: int, disk_id: int = 0x414E4452) -> bytes:
    """A master boot record: `boot_code` (<= 440 bytes) and one active partition, addressed by LBA only."""
    if len(boot_code) > 440:
        raise BuildError(f"MBR boot code is {len(boot_code)} bytes, more than 440")
    entry = struct.pack("<B3sB3sII", 0x80, b"\xfe\xff\xff", FAT16_LBA, b"\xfe\xff\xff", start_sector, sector_count)
    table = entry + b"\0" * 48
    return boot_code.ljust(440, b"\0") + struct.pack("<IH", disk_id, 0) + table + b"\x55\xaa"


def mbr_boot_code() -> bytes:
    for path in MBR_CODE_CANDIDATES:
        if path.exists():
            return path.read_bytes()[:440]
    raise BuildError("SYSLINUX MBR code (mbr.bin) not found: install syslinux-common")


def make_fat_partition(image: Path, size: int, files: Mapping[str, Path], label: str = "TINYBOOT") -> None:
    """A FAT16 file system image with SYSLINUX installed and `files` ({name on disk: source}) at its root."""
    image.unlink(missing_ok=True)
    run(["mkfs.fat", "-C", "-F", "16", "-n", label, "-i", "414E4452", "-h", str(PARTITION_START), "--invariant",
         str(image), str(size // 1024)], TOOL_TIMEOUT_S)
    # mtools stamps new FAT entries with SOURCE_DATE_EPOCH when set, else with the current time.
    fixed_time = {"SOURCE_DATE_EPOCH": str(FIXED_MTIME)}
    run(["syslinux", "--install", str(image)], TOOL_TIMEOUT_S, env=fixed_time)
    for name, source in files.items():
        os.utime(source, (FIXED_MTIME, FIXED_MTIME))
        run(["mcopy", "-o", "-m", "-i", str(image), str(source), f"::/{name}"], TOOL_TIMEOUT_S, env=fixed_time)


def make_boot_disk(out: Path, files: Mapping[str, Path], workdir: Path) -> None:
    """Write the raw disk `out`: MBR, then the FAT partition at PARTITION_START."""
    size = partition_size(sum(path.stat().st_size for path in files.values()))
    part = workdir / "boot-partition.img"
    make_fat_partition(part, size, files)
    with out.open("wb") as disk:
        disk.write(mbr(mbr_boot_code(), PARTITION_START, size // SECTOR))
        disk.seek(PARTITION_START * SECTOR)
        with part.open("rb") as src:
            for block in iter(lambda: src.read(MIB), b""):
                disk.write(block)
    part.unlink()
