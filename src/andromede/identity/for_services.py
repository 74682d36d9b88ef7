"""What other services ask of identity, without reading its tables: which project a well-known name is, and the
users their agents authenticate as (hosts/credentials.py: one user and one application credential per host)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from andromede.common.config import Settings
from andromede.identity import assignment, resource, users
from andromede.identity.assignment import Grant
from andromede.identity.common import DEFAULT_DOMAIN_ID
from andromede.identity.credentials import create_application_credential
from andromede.identity.models import ApplicationCredential, User
from andromede.identity.schemas import ApplicationCredentialCreate, ProjectCreate, RoleCreate, UserCreate


@dataclass(frozen=True)
class AgentCredential:
    """A service user's application credential: what its agent authenticates with (the secret is shown once)."""
    user_id: str
    credential_id: str
    secret: str


def project_id_named(session: Session, name: str, domain_id: str = DEFAULT_DOMAIN_ID) -> str | None:
    """The id of the project of that name in that domain (the default one unless told), None when there is none."""
    project = resource.find_project(session, project_id=None, name=name, domain_id=domain_id)
    return project.id if project is not None else None


def user_id_named(session: Session, name: str, domain_id: str = DEFAULT_DOMAIN_ID) -> str | None:
    user = users.find_user(session, user_id=None, name=name, domain_id=domain_id)
    return user.id if user is not None else None


def user_exists(session: Session, user_id: str) -> bool:
    return session.get(User, user_id) is not None


def existing_users(session: Session, user_ids: Collection[str]) -> set[str]:
    """Those of USER_IDS that are users still."""
    return set(session.scalars(select(User.id).where(User.id.in_(user_ids)))) if user_ids else set()


def credential_owner(session: Session, credential_id: str) -> str | None:
    """The user an application credential belongs to, None when there is no such credential."""
    credential = session.get(ApplicationCredential, credential_id)
    return credential.user_id if credential is not None else None


def delete_user(session: Session, user_id: str) -> None:
    """Delete a user with its grants and application credentials; every token made from them is revoked."""
    users.delete_user(session, user_id)


def create_agent_user(session: Session, settings: Settings, *, name: str, description: str, role: str,
                      project: str, credential_name: str, credential_description: str) -> AgentCredential:
    """A user of the default domain with no password (it authenticates by its credential only) holding ROLE on
    PROJECT, both made when missing, and its one application credential on that project."""
    role_row = assignment.find_role(session, name=role) or assignment.create_role(session, RoleCreate(name=role))
    project_row = resource.find_project(session, project_id=None, name=project, domain_id=DEFAULT_DOMAIN_ID) \
        or resource.create_project(session, ProjectCreate(name=project, description="Services"), DEFAULT_DOMAIN_ID)
    user = users.create_user(session, settings, UserCreate(name=name, description=description), DEFAULT_DOMAIN_ID)
    assignment.add_grant(session, Grant("user", user.id, "project", project_row.id, role_row.id))
    session.flush()
    credential, secret = create_application_credential(session, user_id=user.id, project_id=project_row.id,
                                                       body=ApplicationCredentialCreate(
                                                           name=credential_name, description=credential_description))
    return AgentCredential(user.id, credential.id, secret)
