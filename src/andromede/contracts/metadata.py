"""Metadata's contract: instance identity between the relay (network agent) and the metadata service, HMAC-SHA256
over the id.

Stdlib only: the network agent imports this module.

The installation's key is 32 random bytes kept in DIR/metadata-secret (0600), on the controller only. Each host's
relay holds a key of its own, derived from it (`host_secret`, hex encoded under `metadata_secret` in its
agent.yaml), and names its host in X-Instance-Host: the service derives the same key, so a host's key vouches for
that host's callers only and no table of keys is needed.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path

SECRET_FILE = "metadata-secret"  # noqa: S105  (a file name, not a secret)
SECRET_BYTES = 32
AGENT_CONFIG_KEY = "metadata_secret"

# Set by the relay only; the namespace proxy and the relay drop any copy the guest sent.
INSTANCE_ID_HEADER = "X-Instance-ID"
TENANT_ID_HEADER = "X-Tenant-ID"
SIGNATURE_HEADER = "X-Instance-ID-Signature"
HOST_HEADER = "X-Instance-Host"
_HOST_KEY_CONTEXT = b"andromede-metadata-host\x00"


def host_secret(secret: bytes, host: str) -> bytes:
    """The key of one host's relay, derived from the installation's (HMAC-SHA256 over the host's name)."""
    return hmac.new(secret, _HOST_KEY_CONTEXT + host.encode("utf-8"), hashlib.sha256).digest()


def sign(secret: bytes, instance_id: str) -> str:
    """Hex HMAC-SHA256 of the instance id: the X-Instance-ID-Signature header's value."""
    return hmac.new(secret, instance_id.encode("utf-8"), hashlib.sha256).hexdigest()


def verify(secret: bytes | None, instance_id: str | None, signature: str | None) -> bool:
    """True only for a present id with its exact signature; compared in constant time."""
    if not secret or not instance_id or not signature:
        return False
    expected = sign(secret, instance_id)
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace"))


def ensure_secret(data_dir: Path) -> bytes:
    """Create DIR/metadata-secret once (0600, 32 random bytes); return its bytes. Never replaces an existing one."""
    path = data_dir / SECRET_FILE
    try:
        return load_secret(path)
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{SECRET_FILE}.", dir=data_dir)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(SECRET_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
        # link() refuses to replace: a concurrent start that won the race keeps its secret, and readers never
        # see a half-written file.
        with contextlib.suppress(FileExistsError):
            os.link(temp_name, path)
    finally:
        os.unlink(temp_name)
    return load_secret(path)


def load_secret(path: Path) -> bytes:
    data = path.read_bytes()
    if len(data) != SECRET_BYTES:
        raise ValueError(f"{path} must hold exactly {SECRET_BYTES} bytes")
    return data


def secret_from_config(config: dict) -> bytes | None:
    """The key from an agent.yaml document (hex), or None when the document has none."""
    value = config.get(AGENT_CONFIG_KEY)
    if not value:
        return None
    secret = bytes.fromhex(str(value))
    if len(secret) != SECRET_BYTES:
        raise ValueError(f"{AGENT_CONFIG_KEY} must be {SECRET_BYTES} bytes, hex encoded")
    return secret
