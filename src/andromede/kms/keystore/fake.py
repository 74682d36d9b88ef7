"""The fake twin of the master KEK: a key in memory, for unit tests of what sits above the keystore."""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from andromede.kms.keystore.base import AesGcmWrapping


class FakeMasterKey(AesGcmWrapping):
    backend = "fake"

    def __init__(self, key: bytes | None = None) -> None:
        super().__init__(key or AESGCM.generate_key(bit_length=256))
        self.closed = False

    def close(self) -> None:
        self.closed = True
