"""Rotating AES-GCM keys kept as files in the data dir (one key per file, the highest number is primary).

Tokens, auth receipts and stored credential secrets are sealed with these keys. Old keys stay readable
until nothing they sealed can still be valid, so rotation never invalidates a live token.
"""

from __future__ import annotations

import base64
import os
import struct
import threading
import time
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_HEADER = struct.Struct(">BI")  # format version, key number
_FORMAT = 1
_NONCE_BYTES = 12
_CHECK_EVERY_S = 60.0


class InvalidSealedData(Exception):
    """The data was tampered with, truncated, or sealed by a key we no longer hold."""


class Keyring:
    def __init__(self, directory: Path, *, rotate_after_s: int | None = None, keep: int = 3) -> None:
        self.directory = directory
        self.rotate_after_s = rotate_after_s
        self.keep = keep
        self._lock = threading.Lock()
        self._keys: dict[int, AESGCM] = {}
        self._primary = 0
        self._next_check = time.monotonic() + _CHECK_EVERY_S
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._load()
        if not self._keys:
            self._create_key()

    def _load(self) -> None:
        keys: dict[int, AESGCM] = {}
        for path in self.directory.iterdir():
            if path.name.isdigit():
                keys[int(path.name)] = AESGCM(base64.urlsafe_b64decode(path.read_bytes().strip()))
        self._keys = keys
        self._primary = max(keys) if keys else 0

    def _create_key(self) -> None:
        number = self._primary + 1
        path = self.directory / str(number)
        tmp = self.directory / f".{number}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)))
        try:
            # link() never replaces: if another server process made this key first, keep theirs.
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
        self._load()

    def rotate_if_due(self) -> bool:
        """Make a new primary key when the current one is older than the rotation period."""
        if self.rotate_after_s is None:
            return False
        with self._lock:
            self._load()  # another process may have rotated already
            primary_path = self.directory / str(self._primary)
            if time.time() - primary_path.stat().st_mtime < self.rotate_after_s:
                return False
            self._create_key()
            for number in sorted(self._keys)[: -self.keep]:
                (self.directory / str(number)).unlink(missing_ok=True)
            self._load()
            return True

    def seal(self, plaintext: bytes, associated: bytes = b"") -> bytes:
        if self.rotate_after_s is not None and time.monotonic() >= self._next_check:
            self._next_check = time.monotonic() + _CHECK_EVERY_S
            self.rotate_if_due()
        nonce = os.urandom(_NONCE_BYTES)
        header = _HEADER.pack(_FORMAT, self._primary)
        return header + nonce + self._keys[self._primary].encrypt(nonce, plaintext, header + associated)

    def open(self, sealed: bytes, associated: bytes = b"") -> bytes:
        if len(sealed) < _HEADER.size + _NONCE_BYTES + 16:
            raise InvalidSealedData("too short")
        header = sealed[: _HEADER.size]
        fmt, number = _HEADER.unpack(header)
        if fmt != _FORMAT:
            raise InvalidSealedData("unknown format")
        key = self._keys.get(number)
        if key is None:
            with self._lock:
                self._load()  # another process may have rotated
            key = self._keys.get(number)
            if key is None:
                raise InvalidSealedData("unknown key")
        nonce = sealed[_HEADER.size : _HEADER.size + _NONCE_BYTES]
        try:
            return key.decrypt(nonce, sealed[_HEADER.size + _NONCE_BYTES :], header + associated)
        except InvalidTag as exc:
            raise InvalidSealedData("authentication failed") from exc

    def seal_text(self, plaintext: str, associated: bytes = b"") -> str:
        return base64.urlsafe_b64encode(self.seal(plaintext.encode(), associated)).rstrip(b"=").decode()

    def open_text(self, sealed: str, associated: bytes = b"") -> str:
        try:
            raw = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
        except (ValueError, TypeError) as exc:
            raise InvalidSealedData("not base64") from exc
        return self.open(raw, associated).decode()
