"""The key hierarchy: master KEK → one KEK per project → one DEK per secret → the payload.

A project's KEK is made on its first use and stored only wrapped by the master KEK (bound to the project id). Each
secret gets a fresh 256-bit DEK; the payload is sealed under it and the DEK under the project KEK, both with
AES-256-GCM and the secret's id as associated data, so no sealed value opens in another row. Rotating a project's
KEK re-wraps that project's DEKs: payloads (and volume data, whose keys are secrets) are not touched."""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from andromede.common.clock import utcnow
from andromede.db.inserts import insert_unless_present
from andromede.kms.keystore import MasterKey
from andromede.kms.models import Order, ProjectKek, Secret, SecretAcl

_NONCE = 12


class KeyUnavailable(Exception):
    """A sealed value did not open: tampered with, or its key is gone."""


@dataclass(frozen=True)
class Sealed:
    wrapped_dek: bytes
    ciphertext: bytes
    kek_generation: int


def _seal(key: bytes, plaintext: bytes, context: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, context)


def _open(key: bytes, blob: bytes, context: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(blob[:_NONCE], blob[_NONCE:], context)
    except (InvalidTag, ValueError):
        raise KeyUnavailable("a sealed value did not open") from None


def _project_context(project_id: str) -> bytes:
    return b"andromede-kms-project-kek:" + project_id.encode()


def _secret_context(secret_id: str) -> bytes:
    return b"andromede-kms-secret:" + secret_id.encode()


def project_kek(session: Session, master: MasterKey, project_id: str, *,
                sealing: bool = False) -> tuple[bytes, int]:
    """The project's KEK in clear (in memory only) and its generation; made and stored wrapped on first use.
    `sealing`: the row stays share-locked until the caller commits, so a rotation (which locks it for update)
    cannot replace the KEK under a DEK being wrapped with it (PostgreSQL; SQLite has one writer anyway)."""
    row = session.get(ProjectKek, project_id, with_for_update={"read": True} if sealing else None)
    if row is None:
        _claim(session, project_id, master.wrap(AESGCM.generate_key(bit_length=256), _project_context(project_id)),
               master.backend)
        # Ours, or the one a concurrent request stored first.
        row = session.scalars(select(ProjectKek).where(ProjectKek.project_id == project_id)
                              .execution_options(populate_existing=True)).one()
    return master.unwrap(row.wrapped_key, _project_context(project_id)), row.generation


def _claim(session: Session, project_id: str, wrapped: bytes, backend: str) -> None:
    """INSERT the project's first KEK unless another request already stored one."""
    insert_unless_present(session, ProjectKek, {"project_id": project_id, "wrapped_key": wrapped,
                                                "backend": backend, "generation": 1, "created_at": utcnow()})


def seal_payload(session: Session, master: MasterKey, project_id: str, secret_id: str,
                 payload: bytes) -> Sealed:
    kek, generation = project_kek(session, master, project_id, sealing=True)
    dek = AESGCM.generate_key(bit_length=256)
    context = _secret_context(secret_id)
    return Sealed(_seal(kek, dek, context), _seal(dek, payload, context), generation)


def open_payload(session: Session, master: MasterKey, secret: Secret) -> bytes:
    if secret.wrapped_dek is None or secret.ciphertext is None:
        raise KeyUnavailable("the secret has no payload")
    kek, _generation = project_kek(session, master, secret.project_id)
    context = _secret_context(secret.id)
    return _open(_open(kek, secret.wrapped_dek, context), secret.ciphertext, context)


def rotate_project_kek(session: Session, master: MasterKey, project_id: str) -> int:
    """A new KEK for the project; every DEK of the project re-wrapped under it. The number of DEKs re-wrapped."""
    old_kek, generation = project_kek(session, master, project_id)
    row = session.execute(select(ProjectKek).where(ProjectKek.project_id == project_id).with_for_update()).scalar_one()
    new_kek = AESGCM.generate_key(bit_length=256)
    secrets = session.scalars(select(Secret).where(Secret.project_id == project_id,
                                                   Secret.wrapped_dek.is_not(None)).with_for_update()).all()
    for secret in secrets:
        assert secret.wrapped_dek is not None
        context = _secret_context(secret.id)
        secret.wrapped_dek = _seal(new_kek, _open(old_kek, secret.wrapped_dek, context), context)
        secret.kek_generation = generation + 1
    row.wrapped_key = master.wrap(new_kek, _project_context(project_id))
    row.backend = master.backend
    row.generation = generation + 1
    row.rotated_at = utcnow()
    session.flush()
    return len(secrets)


def move_to_project(session: Session, master: MasterKey, secret: Secret, project_id: str) -> None:
    """Give the secret to another project: its DEK re-wrapped under that project's KEK (the payload untouched),
    so destroying the old project's KEK no longer reaches it and the new owner's does."""
    if secret.wrapped_dek is None:
        secret.project_id = project_id
        return
    old_kek, _generation = project_kek(session, master, secret.project_id)
    new_kek, generation = project_kek(session, master, project_id, sealing=True)
    context = _secret_context(secret.id)
    secret.wrapped_dek = _seal(new_kek, _open(old_kek, secret.wrapped_dek, context), context)
    secret.kek_generation = generation
    secret.project_id = project_id
    secret.updated_at = utcnow()


def destroy_project_kek(session: Session, project_id: str) -> int | None:
    """Deletes the project's KEK and every secret sealed under it (DEKs, payloads, ACLs): nothing the project
    stored opens again. The generation destroyed, None when the project never had a KEK.

    The wrapped KEK is overwritten before its row goes, and SQLite (secure_delete) zeroes the freed page; on
    PostgreSQL the old tuple versions stay in the table's file until VACUUM reclaims them. A database backup made
    before the deletion still holds the wrapped KEK, which the master key opens: the project is shredded for good
    once those backups are gone."""
    row = session.execute(select(ProjectKek).where(ProjectKek.project_id == project_id).with_for_update()
                          ).scalar_one_or_none()
    doomed = select(Secret.id).where(Secret.project_id == project_id).scalar_subquery()
    session.execute(delete(SecretAcl).where(SecretAcl.secret_id.in_(doomed)))
    session.execute(delete(Secret).where(Secret.project_id == project_id))
    session.execute(delete(Order).where(Order.project_id == project_id))
    if row is None:
        return None
    generation = row.generation
    row.wrapped_key = bytes(len(row.wrapped_key))
    session.flush()
    session.delete(row)
    session.flush()
    return generation
