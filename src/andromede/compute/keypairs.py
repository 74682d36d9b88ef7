"""SSH keypairs: imported (ed25519, ECDSA, RSA) or generated here, fingerprinted the way Nova does."""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import select
from sqlalchemy.orm import Session

from andromede.common.errors import BadRequest, Conflict, NotFound
from andromede.compute.models import KeyPair

ALLOWED_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa")


def fingerprint(public_key: str) -> str:
    """Nova's fingerprint: colon-separated MD5 of the base64-decoded key blob."""
    blob = base64.b64decode(public_key.split()[1])
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


def validate_public_key(public_key: str) -> str:
    text = public_key.strip()
    parts = text.split()
    if len(parts) < 2 or parts[0] not in ALLOWED_TYPES or "\n" in text:
        raise BadRequest("Keypair data is invalid: expected one OpenSSH public key "
                         "(ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa).")
    try:
        key = serialization.load_ssh_public_key(" ".join(parts[:2]).encode())
    except (ValueError, TypeError, IndexError) as exc:
        raise BadRequest("Keypair data is invalid: the public key could not be parsed.") from exc
    size = getattr(key, "key_size", None)
    if parts[0] == "ssh-rsa" and size is not None and size < 2048:
        raise BadRequest("Keypair data is invalid: RSA keys must have at least 2048 bits.")
    return text


def generate() -> tuple[str, str]:
    """A new ed25519 keypair: (public OpenSSH line, private key in OpenSSH PEM)."""
    private = ed25519.Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                        serialization.NoEncryption()).decode()
    public = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                               serialization.PublicFormat.OpenSSH).decode()
    return public + " Generated-by-Andromede", private_pem


def create(session: Session, user_id: str, name: str, public_key: str | None,
           key_type: str = "ssh") -> tuple[KeyPair, str | None]:
    if session.scalars(select(KeyPair).where(KeyPair.user_id == user_id, KeyPair.name == name)).first():
        raise Conflict(f"Key pair '{name}' already exists.")
    if key_type != "ssh":
        raise BadRequest("Keypair data is invalid: x509 certificates are not supported here, only SSH keys.")
    private_key = None
    if public_key is None:
        public_key, private_key = generate()
    else:
        public_key = validate_public_key(public_key)
    keypair = KeyPair(user_id=user_id, name=name, public_key=public_key, fingerprint=fingerprint(public_key))
    session.add(keypair)
    session.flush()
    return keypair, private_key


def get(session: Session, user_id: str, name: str) -> KeyPair:
    keypair = session.scalars(select(KeyPair).where(KeyPair.user_id == user_id, KeyPair.name == name)).first()
    if keypair is None:
        raise NotFound(f"Keypair {name} not found for user {user_id}")
    return keypair


def list_keypairs(session: Session, user_id: str) -> list[KeyPair]:
    return list(session.scalars(select(KeyPair).where(KeyPair.user_id == user_id).order_by(KeyPair.name)))


def delete(session: Session, user_id: str, name: str) -> None:
    session.delete(get(session, user_id, name))
