"""The fake twin of the master KEK: a key in memory, for unit tests of what sits above the keystore."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from andromede.kms.keystore.base import MasterKeyError

_NONCE = 12


class FakeMasterKey:
    backend = "fake"

    def __init__(self, key: bytes | None = None) -> None:
        self._aead = AESGCM(key or AESGCM.generate_key(bit_length=256))
        self.closed = False

    def wrap(self, key: bytes, context: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, key, context)

    def unwrap(self, blob: bytes, context: bytes) -> bytes:
        try:
            return self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], context)
        except (InvalidTag, ValueError):
            raise MasterKeyError("A wrapped key did not open under the master key.") from None

    def close(self) -> None:
        self.closed = True
