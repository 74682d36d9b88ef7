"""Secrets: create, find, list, fill, read and delete, in the caller's session.

Who sees a secret: its project's users, and the users its read ACL names (of any project). Anyone else gets 404,
never 403, so a secret's id tells nothing about whether it exists. An expired secret is gone for everyone."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from andromede.common.clock import utcnow
from andromede.common.context import RequestContext
from andromede.common.errors import ApiError, Conflict, NotFound
from andromede.kms import keys
from andromede.kms.component import KeyManager
from andromede.kms.models import DeletionCertificate, Secret, SecretAcl
from andromede.kms.schemas import SecretFields

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


class NotAcceptable(ApiError):
    status = 406
    title = "Not Acceptable"
    default_message = "Wrong payload content-type"


def _live() -> ColumnElement[bool]:
    return or_(Secret.expiration.is_(None), Secret.expiration > utcnow())


def create(session: Session, km: KeyManager, project_id: str, creator_id: str, fields: SecretFields) -> Secret:
    secret = Secret(id=str(uuid.uuid4()), project_id=project_id, creator_id=creator_id, name=fields.name,
                    secret_type=fields.type, algorithm=fields.algorithm, bit_length=fields.bit_length,
                    mode=fields.mode, expiration=fields.expiration, status="ACTIVE", user_metadata={},
                    created_at=utcnow(),
                    updated_at=utcnow())
    if fields.payload is not None:
        _fill(session, km, secret, fields.payload, fields.content_type or "application/octet-stream")
    session.add(secret)
    session.flush()
    return secret


def _fill(session: Session, km: KeyManager, secret: Secret, payload: bytes, content_type: str) -> None:
    sealed = keys.seal_payload(session, km.master, secret.project_id, secret.id, payload)
    secret.wrapped_dek, secret.ciphertext = sealed.wrapped_dek, sealed.ciphertext
    secret.kek_generation, secret.content_type = sealed.kek_generation, content_type
    secret.updated_at = utcnow()


def acl_of(session: Session, secret_id: str) -> SecretAcl | None:
    return session.get(SecretAcl, secret_id)


def find(session: Session, ctx: RequestContext, secret_id: str, *,
         expired_too: bool = False) -> tuple[Secret, SecretAcl | None]:
    """The secret if the caller may know of it (its project, or a user its read ACL names); 404 otherwise. An
    expired secret is gone to every read, but its owner may still delete it, and so shred its key."""
    query = select(Secret).where(Secret.id == secret_id)
    secret = session.scalars(query if expired_too else query.where(_live())).first()
    if secret is None:
        raise NotFound("Secret not found.")
    acl = acl_of(session, secret.id)
    if secret.project_id != ctx.project_id and not (acl is not None and ctx.user_id in acl.users):
        raise NotFound("Secret not found.")
    return secret, acl


def target(secret: Secret, acl: SecretAcl | None) -> dict:
    """What the policy rules read about a secret (Barbican's target.secret.*)."""
    return {"project_id": secret.project_id, "creator_id": secret.creator_id,
            "read_project_access": acl.project_access if acl is not None else True,
            "acl_read_users": list(acl.users) if acl is not None else []}


def page(session: Session, project_id: str, params: Mapping[str, str]) -> tuple[list[Secret], int, int, int]:
    """The project's live secrets matching Barbican's filters: (page, offset, limit, total)."""
    offset, limit = paging(params)
    query = select(Secret).where(Secret.project_id == project_id, _live())
    if params.get("name"):
        query = query.where(Secret.name == params["name"])
    if params.get("alg"):
        query = query.where(Secret.algorithm == params["alg"])
    if params.get("mode"):
        query = query.where(Secret.mode == params["mode"])
    if params.get("secret_type"):
        query = query.where(Secret.secret_type == params["secret_type"])
    bits = params.get("bits", "")
    if bits.isdigit() and int(bits) > 0:
        query = query.where(Secret.bit_length == int(bits))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Secret.created_at, Secret.id).offset(offset).limit(limit)).all()
    return list(rows), offset, limit, total


MAX_OFFSET = 2**31 - 1  # SQL's OFFSET takes a 64-bit integer at most; no list gets near this


def paging(params: Mapping[str, str]) -> tuple[int, int]:
    """Barbican's clean_paging_values: bad values fall back to the defaults, limit is 1..100."""
    try:
        offset = min(MAX_OFFSET, max(0, int(params.get("offset") or 0)))
    except ValueError:
        offset = 0
    try:
        limit = min(MAX_LIMIT, max(1, int(params.get("limit") or DEFAULT_LIMIT)))
    except ValueError:
        limit = DEFAULT_LIMIT
    return offset, limit


def put_payload(session: Session, km: KeyManager, secret: Secret, payload: bytes, content_type: str) -> None:
    if secret.ciphertext is not None:
        raise Conflict("Secret already has data, cannot modify it.")
    _fill(session, km, secret, payload, content_type)


def payload(session: Session, km: KeyManager, secret: Secret, accept: str) -> tuple[bytes, str]:
    """The payload as the caller's Accept asks for it (text or bytes): (body, content type)."""
    if secret.ciphertext is None or secret.content_type is None:
        raise NotFound("Not Found. Sorry but your secret has no payload.")
    wanted = (accept or "").split(",")[0].split(";")[0].strip().lower()
    if wanted in ("", "*/*"):
        wanted = secret.content_type
    clear = keys.open_payload(session, km.master, secret)
    if wanted == "text/plain":
        try:
            clear.decode("utf-8")
        except UnicodeDecodeError:
            raise NotAcceptable("Wrong payload content-type") from None
        return clear, "text/plain"
    if wanted in ("application/octet-stream", "application/pkcs8"):
        return clear, wanted
    raise NotAcceptable("Wrong payload content-type")


def delete(session: Session, km: KeyManager, secret: Secret, *, resource: tuple[str, str] | None = None) -> None:
    """Deleting the row deletes its wrapped DEK with it, and the owner gets a signed deletion certificate.

    What stays of the row in the database's free pages or in backups is sealed under the project KEK, which still
    exists: a single secret is shredded for good once those copies are gone (or its project's KEK is rotated and
    the old wrapped KEK is gone too). A whole project's KEK destroyed shreds every copy at once.

    `resource` (kind, id) names what the key protected when another service owns it (a volume): the certificate
    states and is filed under that resource, so its owner fetches it by the volume's id."""
    if km.signer is not None:
        kind, resource_id = resource or ("secret", secret.id)
        document = km.signer.issue(kind, resource_id, secret.project_id, "dek", secret.id)
        session.merge(DeletionCertificate(resource_id=resource_id, resource_type=kind,
                                          project_id=secret.project_id, document=document, created_at=utcnow()))
    session.delete(secret)
    session.flush()


def deletion_certificate(session: Session, project_id: str | None, resource_id: str, *,
                         any_project: bool = False) -> dict:
    """The certificate of a resource of `project_id`, or of any project's for a cloud admin (`any_project`): a
    deleted project's own certificate has no one left in the project to fetch it."""
    row = session.get(DeletionCertificate, resource_id)
    if row is None or (row.project_id != project_id and not any_project):
        raise NotFound("Deletion certificate not found.")
    return row.document


def set_acl(session: Session, secret: Secret, acl: SecretAcl | None, access: bool | None, users: list[str] | None,
            *, replace: bool) -> None:
    """PUT (replace) or PATCH (merge) the secret's read ACL, as Barbican: PUT defaults project-access to true and
    users to none; PATCH keeps what it does not name."""
    now = utcnow()
    if acl is None:
        acl = SecretAcl(secret_id=secret.id, project_access=True, users=[], created_at=now, updated_at=now)
        session.add(acl)
    if replace:
        acl.project_access = True if access is None else access
        acl.users = users or []
    else:
        if access is not None:
            acl.project_access = access
        if users is not None:
            acl.users = users
    acl.updated_at = now
    session.flush()


def delete_acl(session: Session, acl: SecretAcl | None) -> None:
    if acl is not None:
        session.delete(acl)
        session.flush()
