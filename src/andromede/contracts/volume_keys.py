"""How a volume's key becomes the passphrase of its LUKS layer, for the volume agent (which formats volumes with
qemu-img) and the compute agent (which hands the key to QEMU when it attaches one): both must say it the same way.

QEMU's LUKS wants a UTF-8 passphrase, so it is the key's hex form (what Cinder and Nova do with Barbican keys).
"""

from __future__ import annotations


def luks_passphrase(key: bytes) -> bytes:
    return key.hex().encode("ascii")
