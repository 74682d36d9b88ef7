"""Application credentials (hashed secrets) and stored credentials (ec2, totp: sealed secrets)."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from andromede.common.clock import parse_isotime, utcnow
from andromede.common.errors import BadRequest, Conflict, NotFound
from andromede.common.ids import new_id, random_urlsafe
from andromede.common.keyring import InvalidSealedData, Keyring
from andromede.common.passwords import hash_secret
from andromede.db.engine import Database, matched_rows
from andromede.identity import assignment, revoke
from andromede.identity.assignment import effective_role_ids
from andromede.identity.cache import CACHE_NEUTRAL
from andromede.identity.common import flush_unique
from andromede.identity.models import ApplicationCredential, Credential, Project, Role, User
from andromede.identity.schemas import ApplicationCredentialCreate, CredentialCreate, CredentialUpdate

_CRED_AD = b"andromede-credential-v1"
# A client may choose an application credential's secret; a short one could be guessed (generated ones: 64).
APP_CRED_SECRET_MIN_LENGTH = 16


# ---- application credentials -------------------------------------------------------------------

def create_application_credential(session: Session, *, user_id: str, project_id: str | None,
                                  body: ApplicationCredentialCreate, system: bool = False,
                                  token_roles: frozenset[str] | None = None) -> tuple[ApplicationCredential, str]:
    """Bound to `project_id`, or with `system` to the system (its tokens are system-scoped).

    `token_roles`, the role names of the token asking (None for the installation's own credentials), caps the
    roles as Keystone does: a credential never holds a role its maker's token does not, so a reader-only
    application credential cannot mint a member one.
    """
    if body.access_rules:
        raise BadRequest("Access rules are not supported.")
    if system == (project_id is not None):
        raise BadRequest("An application credential is bound to either one project or the system.")
    held = assignment.effective_role_ids(session, user_id, "system", "all") if system \
        else assignment.effective_role_ids(session, user_id, "project", project_id or "")
    if token_roles is not None:
        held = {role.id for role in assignment.roles_by_ids(session, held) if role.name in token_roles}
    if body.roles:
        wanted: set[str] = set()
        for ref in body.roles:
            role = assignment.find_role(session, role_id=ref.id, name=ref.name, domain_id=ref.domain_id)
            if role is None or role.id not in held:
                raise BadRequest(f"The user does not hold role {ref.id or ref.name} on the "
                                 f"{'system' if system else 'project'}.")
            wanted.add(role.id)
    else:
        wanted = held
    expires_at: datetime | None = None
    if body.expires_at is not None:
        try:
            expires_at = parse_isotime(body.expires_at)
        except ValueError as exc:
            raise BadRequest("expires_at is not an ISO 8601 time.") from exc
        if expires_at <= utcnow():
            raise BadRequest("expires_at is in the past.")
    if body.secret is not None and len(body.secret) < APP_CRED_SECRET_MIN_LENGTH:
        raise BadRequest(f"The application credential secret must be at least {APP_CRED_SECRET_MIN_LENGTH} "
                         "characters long (leave it out to have one generated).")
    secret = body.secret or random_urlsafe(48)
    credential = ApplicationCredential(
        id=new_id(), name=body.name, user_id=user_id, project_id=project_id, system="all" if system else None,
        secret_hash=hash_secret(secret),
        description=body.description or "", role_ids=sorted(wanted), expires_at=expires_at,
        unrestricted=body.unrestricted)
    session.add(credential)
    flush_unique(session, "application credential")
    return credential, secret


def get_application_credential(session: Session, user_id: str, credential_id: str) -> ApplicationCredential:
    credential = session.get(ApplicationCredential, credential_id)
    if credential is None or credential.user_id != user_id:
        raise NotFound(f"Could not find Application Credential: {credential_id}.")
    return credential


def list_application_credentials(session: Session, user_id: str,
                                 name: str | None = None) -> list[ApplicationCredential]:
    query = select(ApplicationCredential).where(ApplicationCredential.user_id == user_id)
    if name is not None:
        query = query.where(ApplicationCredential.name == name)
    return list(session.scalars(query.order_by(ApplicationCredential.name)))


def delete_application_credential(session: Session, user_id: str, credential_id: str) -> None:
    credential = get_application_credential(session, user_id, credential_id)
    revoke.revoke(session, app_cred_id=credential.id)
    session.delete(credential)


def role_refs(session: Session, role_ids: list[str]) -> list[dict]:
    if not role_ids:
        return []
    roles = session.scalars(select(Role).where(Role.id.in_(role_ids)).order_by(Role.name))
    return [{"id": role.id, "name": role.name, "domain_id": role.domain_id} for role in roles]


# ---- stored credentials ------------------------------------------------------------------------

class CredentialStore:
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def seal(self, blob: str) -> str:
        return self.keyring.seal_text(blob, _CRED_AD)

    def open(self, credential: Credential) -> str:
        try:
            return self.keyring.open_text(credential.sealed_blob, _CRED_AD)
        except InvalidSealedData:
            return ""

    def create(self, session: Session, body: CredentialCreate) -> Credential:
        credential_id = new_id()
        if body.type == "ec2":
            access = _ec2_access(body.blob)
            if body.project_id is None:
                raise BadRequest("An ec2 credential needs a project_id.")
            credential_id = hashlib.sha256(access.encode()).hexdigest()
        if body.project_id is not None and session.get(Project, body.project_id) is None:
            raise BadRequest(f"Could not find project: {body.project_id}.")
        if session.get(User, body.user_id) is None:
            raise BadRequest(f"Could not find user: {body.user_id}.")
        if session.get(Credential, credential_id) is not None:
            raise BadRequest("A credential with this access key already exists.")
        credential = Credential(id=credential_id, user_id=body.user_id, project_id=body.project_id,
                                type=body.type, sealed_blob=self.seal(body.blob), extra={})
        session.add(credential)
        session.flush()
        return credential

    def update(self, session: Session, credential: Credential, body: CredentialUpdate) -> Credential:
        if body.type is not None and body.type != credential.type:
            raise BadRequest("The type of a credential cannot be changed.")
        if body.user_id is not None and body.user_id != credential.user_id:
            raise BadRequest("The owner of a credential cannot be changed.")
        if body.project_id is not None and body.project_id != credential.project_id:
            # As Keystone, a credential moves to another project; only to one its owner holds a role on.
            if session.get(Project, body.project_id) is None:
                raise BadRequest(f"Could not find project: {body.project_id}.")
            if not effective_role_ids(session, credential.user_id, "project", body.project_id):
                raise BadRequest(f"The credential's user has no role on project {body.project_id}.")
            credential.project_id = body.project_id
        if body.blob is not None:
            if credential.type == "ec2":
                self._check_ec2_update(session, credential, body.blob)
            credential.sealed_blob = self.seal(body.blob)
        return credential

    def _check_ec2_update(self, session: Session, credential: Credential, blob: str) -> None:
        """Keystone's rule: new access and secret keys are fine (the id stays), but what binds the credential
        to a trust, an application credential or an access token can neither change nor go."""
        access = _ec2_access(blob)
        new, old = json.loads(blob), json.loads(self.open(credential) or "{}")
        for key in ("trust_id", "app_cred_id", "access_token_id", "access_id"):
            if old.get(key) != new.get(key):
                raise BadRequest(f"{key} can not be updated for credential")
        if access != old.get("access") and find_ec2(self, session, access) is not None:
            raise Conflict("An ec2 credential with this access key already exists.")

    def create_ec2(self, session: Session, user_id: str, project_id: str) -> tuple[Credential, dict]:
        if session.get(Project, project_id) is None:
            raise BadRequest(f"Could not find project: {project_id}.")
        access, secret = secrets.token_hex(16), secrets.token_hex(20)
        blob = json.dumps({"access": access, "secret": secret, "trust_id": None})
        credential = self.create(session, CredentialCreate(type="ec2", user_id=user_id, project_id=project_id,
                                                            blob=blob))
        return credential, {"access": access, "secret": secret}

    def totp_secrets(self, session: Session, user_id: str) -> tuple[list[str], int | None]:
        """The secrets of the user's TOTP credentials, and the last time step the user had accepted."""
        rows = session.scalars(select(Credential).where(Credential.user_id == user_id,
                                                        Credential.type == "totp"))
        secrets_ = [blob for blob in (self.open(row) for row in rows) if blob]
        last_step = session.scalar(select(User.totp_last_step).where(User.id == user_id))
        return secrets_, last_step


def claim_totp_step(db: Database, user_id: str, step: int) -> bool:
    """Record `step` as used by the user, in a transaction of its own; False if it (or a later one) was used.

    Per user, not per credential: a seed enrolled twice must not accept a passcode twice. A conditional
    UPDATE, so that of two requests racing with one passcode only one wins.
    """
    table = User.__table__
    with db.session() as session:
        session.info[CACHE_NEUTRAL] = True
        result = session.execute(update(table).where(
            table.c.id == user_id, or_(table.c.totp_last_step.is_(None), table.c.totp_last_step < step),
        ).values(totp_last_step=step))
        return matched_rows(result) == 1


def _ec2_access(blob: str) -> str:
    try:
        doc = json.loads(blob)
    except (ValueError, RecursionError) as exc:  # RecursionError: nesting deeper than the parser's stack
        raise BadRequest("The blob of an ec2 credential must be JSON.") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("access"), str) or not doc["access"]:
        raise BadRequest("The blob of an ec2 credential needs an 'access' key.")
    return doc["access"]


def get_credential(session: Session, credential_id: str) -> Credential:
    credential = session.get(Credential, credential_id)
    if credential is None:
        raise NotFound(f"Could not find credential: {credential_id}.")
    return credential


def list_credentials(session: Session, *, user_id: str | None = None, type: str | None = None) -> list[Credential]:
    query = select(Credential).order_by(Credential.created_at)
    if user_id is not None:
        query = query.where(Credential.user_id == user_id)
    if type is not None:
        query = query.where(Credential.type == type)
    return list(session.scalars(query))


def find_ec2(store: CredentialStore, session: Session, access: str, user_id: str | None = None) -> Credential | None:
    """The ec2 credential whose access key this is: its id is the key's hash unless the key was changed since."""
    row = session.get(Credential, hashlib.sha256(access.encode()).hexdigest())
    candidates = [row] if row is not None else []
    query = select(Credential).where(Credential.type == "ec2")
    if user_id is not None:
        query = query.where(Credential.user_id == user_id)
    candidates += [r for r in session.scalars(query) if r is not row]
    for candidate in candidates:
        if candidate.type != "ec2" or (user_id is not None and candidate.user_id != user_id):
            continue
        try:
            if json.loads(store.open(candidate) or "{}").get("access") == access:
                return candidate
        except ValueError:
            continue
    return None
