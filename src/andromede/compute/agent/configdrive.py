"""The OpenStack config drive as an ISO 9660 image (Joliet + Rock Ridge), volume label `config-2`.

Guests find it by label (cloud-init, cloudbase-init, our tiny guest) and read `openstack/<version>/...`.
The caller builds every document; this module only lays them out on the volume, the way Nova does.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pycdlib

from andromede.common.files import atomic_writer
from andromede.compute.agent.drivers.base import ConfigDrive

VOLUME_LABEL = "config-2"
# Nova writes every metadata version it knows; guests pick the newest they understand. `latest` plus the newest
# dated version is what cloud-init and cloudbase-init look for.
VERSIONS = ("2018-08-27", "latest")


def config_drive_files(drive: ConfigDrive) -> dict[str, bytes]:
    """Path on the volume → content, for every file the drive carries."""
    documents: dict[str, bytes] = {
        "meta_data.json": _json(drive.meta_data),
        "network_data.json": _json(drive.network_data),
        "vendor_data.json": _json(drive.vendor_data),
        "vendor_data2.json": _json({}),
    }
    if drive.user_data is not None:
        documents["user_data"] = drive.user_data
    return {f"openstack/{version}/{name}": content for version in VERSIONS for name, content in documents.items()}


def build_config_drive(drive: ConfigDrive, path: Path) -> None:
    """Write the drive to `path` atomically: readers see the old file or the complete new one, never a partial."""
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, joliet=3, rock_ridge="1.09", vol_ident=VOLUME_LABEL, app_ident_str="andromede")
    try:
        created_dirs: set[str] = set()
        for volume_path, content in sorted(config_drive_files(drive).items()):
            *dirs, _ = volume_path.split("/")
            for depth in range(1, len(dirs) + 1):
                directory = "/".join(dirs[:depth])
                if directory not in created_dirs:
                    iso.add_directory(
                        _iso9660_path(directory, is_file=False), rr_name=dirs[depth - 1], joliet_path="/" + directory
                    )
                    created_dirs.add(directory)
            iso.add_fp(
                io.BytesIO(content),
                len(content),
                _iso9660_path(volume_path, is_file=True),
                rr_name=volume_path.rsplit("/", 1)[-1],
                joliet_path="/" + volume_path,
            )
        _write_atomically(iso, path)
    finally:
        iso.close()


def _json(document: dict) -> bytes:
    return json.dumps(document).encode()


def _iso9660_path(volume_path: str, *, is_file: bool) -> str:
    """The plain ISO 9660 (level 3) spelling; guests use the Rock Ridge or Joliet names, this is the fallback."""
    parts = volume_path.split("/")
    dirs = [_d_characters(part) for part in (parts[:-1] if is_file else parts)]
    if not is_file:
        return "/" + "/".join(dirs)
    stem, _, extension = parts[-1].rpartition(".") if "." in parts[-1] else (parts[-1], "", "")
    return "/" + "/".join([*dirs, f"{_d_characters(stem)}.{_d_characters(extension)};1"])


def _d_characters(name: str) -> str:
    return re.sub(r"[^A-Z0-9_]", "_", name.upper())[:30]


def _write_atomically(iso: pycdlib.PyCdlib, path: Path) -> None:
    # Private by default: user data may carry secrets. QEMU opens the file before it drops privileges.
    with atomic_writer(path) as handle:
        iso.write_fp(handle)
