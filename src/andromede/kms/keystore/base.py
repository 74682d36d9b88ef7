"""The master KEK's interface: it wraps and unwraps the project KEKs, and never hands out its own bytes.

Every backend seals with AES-256-GCM under its key, binding `context` (the project id) as associated data, so a
wrapped KEK moved to another project's row does not open. A blob starts with a 12-byte nonce."""

from __future__ import annotations

import os
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class MasterKeyError(Exception):
    """The master KEK cannot be opened or used (missing token, loose file mode, tampered blob)."""


class MasterKey(Protocol):
    @property
    def backend(self) -> str:
        """Which kind of store holds it ("file", "pkcs11", "fake"); recorded next to every wrapped KEK."""
        ...

    def wrap(self, key: bytes, context: bytes) -> bytes:
        """`key` sealed under the master KEK, bound to `context`."""
        ...

    def unwrap(self, blob: bytes, context: bytes) -> bytes:
        """The key `wrap` sealed; MasterKeyError if the blob was altered or bound to another context."""
        ...

    def close(self) -> None: ...


class AesGcmWrapping:
    """wrap/unwrap with an AES-256-GCM key held in this process (the file backend and the fake): a random 96-bit
    nonce per wrap, the context bound as associated data."""

    _NONCE = 12

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def wrap(self, key: bytes, context: bytes) -> bytes:
        nonce = os.urandom(self._NONCE)
        return nonce + self._aead.encrypt(nonce, key, context)

    def unwrap(self, blob: bytes, context: bytes) -> bytes:
        try:
            return self._aead.decrypt(blob[:self._NONCE], blob[self._NONCE:], context)
        except (InvalidTag, ValueError):
            raise MasterKeyError("A wrapped key did not open under the master key.") from None
