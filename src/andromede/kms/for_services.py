"""What other services (the volume service first) use of the key manager, in their own session: a DEK-backed
secret made for a project, its key bytes read server-side, and its destruction; and, for identity, a deleted
project's KEK destroyed. The secret is the project's like any other (it shows in `openstack secret list`, as
Cinder's keys do in Barbican)."""

from __future__ import annotations

import os

from sqlalchemy.orm import Session

from andromede.common.clock import utcnow
from andromede.common.errors import NotFound
from andromede.kms import keys, secrets
from andromede.kms.certificates import PROJECT_SHRED
from andromede.kms.component import KeyManager
from andromede.kms.models import DeletionCertificate, Secret, SecretAcl
from andromede.kms.schemas import SecretFields


def create_key(session: Session, km: KeyManager, project_id: str, creator_id: str, *, bit_length: int = 512,
               algorithm: str = "aes", mode: str = "xts", name: str | None = None) -> str:
    """A new random symmetric key of `bit_length` bits, stored as a secret of the project; its id."""
    fields = SecretFields(name=name, type="symmetric", algorithm=algorithm, bit_length=bit_length, mode=mode,
                          payload=os.urandom(bit_length // 8), content_type="application/octet-stream")
    return secrets.create(session, km, project_id, creator_id, fields).id


def _owned(session: Session, project_id: str, secret_id: str) -> Secret:
    secret = session.get(Secret, secret_id)
    if secret is None or secret.project_id != project_id:
        raise NotFound("Secret not found.")
    return secret


def key_bytes(session: Session, km: KeyManager, project_id: str, secret_id: str) -> bytes:
    """The key in clear, for the caller to hand to QEMU over QMP: never to log, store or answer."""
    return keys.open_payload(session, km.master, _owned(session, project_id, secret_id))


def destroy_key(session: Session, km: KeyManager, project_id: str, secret_id: str, *,
                resource: tuple[str, str] | None = None) -> dict | None:
    """Destroys the key; its deletion certificate (None when the key manager signs none, or when the key was
    already gone: a member may delete a volume's secret through the key-manager API, and the volume must still
    be deletable then, as Cinder treats a missing key as deleted). `resource` (kind, id), the resource the key
    protected: its certificate names it and is fetched by its id, not the secret's."""
    secret = session.get(Secret, secret_id)
    if secret is None or secret.project_id != project_id:
        return None
    secrets.delete(session, km, secret, resource=resource)
    filed_under = resource[1] if resource else secret_id
    return secrets.deletion_certificate(session, project_id, filed_under) if km.signer is not None else None


def transfer_key(session: Session, km: KeyManager, project_id: str, secret_id: str, new_project_id: str) -> None:
    """The key becomes the new project's secret (a volume transfer): re-wrapped under its KEK, the old project's
    ACL dropped. Nothing to do when the key is already gone."""
    secret = session.get(Secret, secret_id, with_for_update=True)
    if secret is None or secret.project_id != project_id:
        return
    keys.move_to_project(session, km.master, secret, new_project_id)
    acl = session.get(SecretAcl, secret_id)
    if acl is not None:
        session.delete(acl)


def destroy_project(session: Session, km: KeyManager, project_id: str) -> None:
    """A project is gone: its KEK is destroyed with every secret sealed under it, and a deletion certificate for
    the project is kept for a cloud admin to fetch (`GET /key-manager/v1/deletion-certificates/{project_id}`).
    No certificate when the project never had a KEK: there was no key to destroy."""
    generation = keys.destroy_project_kek(session, project_id)
    if generation is None or km.signer is None:
        return
    document = km.signer.issue("project", project_id, project_id, "project-kek", f"{project_id}/{generation}",
                               method=PROJECT_SHRED)
    session.merge(DeletionCertificate(resource_id=project_id, resource_type="project", project_id=project_id,
                                      document=document, created_at=utcnow()))
    session.flush()
