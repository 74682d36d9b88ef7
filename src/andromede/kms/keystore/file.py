"""The master KEK as a 0600 file in the data dir: 32 random bytes, made at first start.

A file readable by anyone but its owner is refused: the server will not start on a key others may have read."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from andromede.kms.keystore.base import AesGcmWrapping, MasterKeyError

_KEY_BYTES = 32


class FileMasterKey(AesGcmWrapping):
    backend = "file"

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(self._load_or_create())

    def _load_or_create(self) -> bytes:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(os.urandom(_KEY_BYTES))
                handle.flush()
                os.fsync(handle.fileno())
        mode = stat.S_IMODE(self.path.stat().st_mode)
        if mode & 0o077:
            raise MasterKeyError(f"The master key file {self.path} has mode {mode:04o}: it must be readable by its "
                                 "owner only (chmod 600), and the server will not use a key others may have read.")
        key = self.path.read_bytes()
        if len(key) != _KEY_BYTES:
            raise MasterKeyError(f"The master key file {self.path} does not hold a {_KEY_BYTES}-byte key.")
        return key

    def close(self) -> None:
        return None
