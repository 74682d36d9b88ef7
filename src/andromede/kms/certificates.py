"""Deletion certificates: when a key is destroyed, a statement signed with the installation's Ed25519 key naming
the resource, a digest of the key's id, the time and the method. Anyone holding the installation's public key
(`andromede verify-certificate FILE`) can check one offline; the certificate holds no key material.

The signing key is a 0600 PEM file in the data dir, made at first start; its public half sits beside it."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from andromede.common.clock import utcnow
from andromede.kms.keystore import MasterKeyError

KIND = "andromede.deletion-certificate"
SHRED = ("crypto-shred: the resource's data encryption key, stored only wrapped by its project's key-encryption "
         "key, was deleted from the key manager")
PROJECT_SHRED = ("crypto-shred: the project was deleted, and with it its key-encryption key, stored only wrapped by "
                 "the master key, was deleted from the key manager: no data encryption key it wrapped (its "
                 "secrets, its volumes' keys) opens again")


def canonical(statement: dict) -> bytes:
    return json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def key_id_digest(kind: str, key_id: str) -> str:
    return "sha256:" + hashlib.sha256(f"andromede-{kind}:{key_id}".encode()).hexdigest()


def public_fingerprint(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class Signer:
    private: Ed25519PrivateKey
    installation: str

    @classmethod
    def load_or_create(cls, directory: Path, installation: str) -> Signer:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = directory / "certificate-signing-key.pem"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(Ed25519PrivateKey.generate().private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise MasterKeyError(f"The certificate signing key {path} has mode {mode:04o}: chmod 600.")
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise MasterKeyError(f"{path} does not hold an Ed25519 key.")
        public_path = directory / "certificate-signing-key.pub.pem"
        public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo)
        if not public_path.exists() or public_path.read_bytes() != public_pem:
            public_path.write_bytes(public_pem)
            public_path.chmod(0o644)
        return cls(private, installation)

    def issue(self, resource_type: str, resource_id: str, project_id: str, key_kind: str, key_id: str,
              method: str = SHRED) -> dict:
        statement = {"kind": KIND, "version": 1, "installation": self.installation,
                     "resource": {"type": resource_type, "id": resource_id, "project_id": project_id},
                     "key": {"kind": key_kind, "id_digest": key_id_digest(key_kind, key_id)},
                     "deleted_at": utcnow().isoformat(timespec="seconds") + "Z", "method": method}
        signature = self.private.sign(canonical(statement))
        return {"statement": statement, "signature_algorithm": "ed25519",
                "signature": base64.b64encode(signature).decode(),
                "signing_key": public_fingerprint(self.private.public_key())}


def verify(certificate: object, public: Ed25519PublicKey) -> str | None:
    """None if `certificate` is a well-formed statement signed by `public`; otherwise why not."""
    if not isinstance(certificate, dict) or not isinstance(certificate.get("statement"), dict):
        return "not a deletion certificate"
    statement, signature = certificate["statement"], certificate.get("signature")
    if statement.get("kind") != KIND or not isinstance(signature, str):
        return "not a deletion certificate"
    if certificate.get("signature_algorithm") != "ed25519":
        return "unknown signature algorithm"
    try:
        public.verify(base64.b64decode(signature, validate=True), canonical(statement))
    except (InvalidSignature, ValueError):
        return "the signature does not match the statement and this public key"
    return None


def load_public_key(path: Path) -> Ed25519PublicKey:
    public = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(public, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return public
