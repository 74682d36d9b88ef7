"""Image bytes on disk: uploads stream to a temp file while being hashed, then move into place."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Upload:
    path: Path
    size: int = 0

    def __post_init__(self) -> None:
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha512 = hashlib.sha512()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self.handle = os.fdopen(fd, "wb")

    def write(self, chunk: bytes) -> None:
        self.handle.write(chunk)
        self.md5.update(chunk)
        self.sha512.update(chunk)
        self.size += len(chunk)

    def close(self) -> None:
        if not self.handle.closed:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()

    def discard(self) -> None:
        if not self.handle.closed:
            self.handle.close()
        self.path.unlink(missing_ok=True)


class ImageStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def path(self, image_id: str) -> Path:
        return self.directory / image_id

    def begin(self, image_id: str) -> Upload:
        return Upload(self.directory / f".upload-{image_id}-{secrets.token_hex(4)}")

    def commit(self, upload: Upload, image_id: str) -> Path:
        upload.close()
        final = self.path(image_id)
        os.replace(upload.path, final)
        return final

    def delete(self, image_id: str) -> None:
        self.path(image_id).unlink(missing_ok=True)

    def sweep_partial(self) -> None:
        """Uploads interrupted by a crash leave temp files; nothing refers to them."""
        for leftover in self.directory.glob(".upload-*"):
            leftover.unlink(missing_ok=True)
