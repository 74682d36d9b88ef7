"""qemu-img: the instance's root disk is a qcow2 overlay on a shared, read-only base image."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from andromede.compute.agent.drivers.base import DriverError

QEMU_IMG_TIMEOUT = 60.0
GIB = 1024**3


def virtual_size(image: Path, image_format: str, *, qemu_img: str = "qemu-img") -> int:
    # -U: the base is shared by running guests (read-only); reading its header must not need their lock.
    info = _run([qemu_img, "info", "-U", "--output=json", "-f", image_format, str(image)])
    return int(json.loads(info)["virtual-size"])


def create_overlay(overlay: Path, *, base: Path, base_format: str, size_gib: int, qemu_img: str = "qemu-img") -> None:
    """Create `overlay` (atomically) backed by `base`; size_gib=0 keeps the base's virtual size (flavor disk 0)."""
    base = base.resolve()
    if size_gib:
        base_size = virtual_size(base, base_format, qemu_img=qemu_img)
        if size_gib * GIB < base_size:
            raise DriverError(
                f"the flavor's root disk ({size_gib} GiB) is smaller than the image ({base_size / GIB:.1f} GiB)"
            )
    temp = overlay.with_name(f".{overlay.name}.{os.getpid()}.tmp")
    command = [qemu_img, "create", "-q", "-f", "qcow2", "-F", base_format, "-b", str(base), str(temp)]
    if size_gib:
        command.append(f"{size_gib}G")
    try:
        _run(command)
        os.replace(temp, overlay)
    finally:
        temp.unlink(missing_ok=True)


def _run(command: list[str]) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=QEMU_IMG_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        raise DriverError(f"{command[0]} {command[1]} timed out after {QEMU_IMG_TIMEOUT:.0f} s") from exc
    except FileNotFoundError as exc:
        raise DriverError(f"{command[0]} is not installed (Debian package qemu-utils)") from exc
    if result.returncode != 0:
        raise DriverError(f"{command[0]} {command[1]} failed: {result.stderr.strip() or result.returncode}")
    return result.stdout
