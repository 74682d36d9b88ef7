"""Base images on the host: downloaded once, verified against their sha512, shared read-only by overlays.

An image that can never be used (a format QEMU is not given here, data that fails its checksum, an image the
controller no longer serves) is a PermanentDriverError; a download cut short is a DriverError, tried again later.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

from andromede.agentlib.errors import PermanentError
from andromede.compute.agent.drivers.base import DriverError, PermanentDriverError
from andromede.contracts.compute import ImageRef

BOOTABLE_DISK_FORMATS = ("qcow2", "raw")


class ImageCache:
    def __init__(self, directory: Path, download: Callable[[str, Path], None]) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o755)
        self.download = download
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, image_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(image_id, threading.Lock())

    def ensure(self, image: ImageRef) -> Path:
        image_id = image.id
        if image.disk_format not in BOOTABLE_DISK_FORMATS:
            raise PermanentDriverError(f"Image {image_id} has disk format {image.disk_format}, which cannot "
                                       "boot a server (qcow2 or raw needed).")
        path = self.directory / image_id
        with self._lock(image_id):
            if path.exists():
                return path
            partial = self.directory / f".{image_id}.part"
            try:
                self.download(image_id, partial)
                digest = hashlib.sha512()
                with partial.open("rb") as handle:
                    for chunk in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(chunk)
                if image.os_hash_value and digest.hexdigest() != image.os_hash_value:
                    raise PermanentDriverError(f"Image {image_id} failed its checksum after download.")
                os.chmod(partial, 0o444)  # QEMU only ever reads a base image
                os.replace(partial, path)
            except DriverError:
                partial.unlink(missing_ok=True)
                raise
            except PermanentError as exc:
                partial.unlink(missing_ok=True)
                raise PermanentDriverError(str(exc)) from exc
            except Exception as exc:
                partial.unlink(missing_ok=True)
                raise DriverError(f"Image {image_id} could not be fetched.") from exc
        return path
