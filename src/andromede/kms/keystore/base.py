"""The master KEK's interface: it wraps and unwraps the project KEKs, and never hands out its own bytes.

Every backend seals with AES-256-GCM under its key, binding `context` (the project id) as associated data, so a
wrapped KEK moved to another project's row does not open. A blob starts with a 12-byte nonce."""

from __future__ import annotations

from typing import Protocol


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
