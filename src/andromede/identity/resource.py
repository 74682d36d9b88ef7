"""Domains and projects: the resource tree that roles are granted on."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from andromede.common.errors import BadRequest, Forbidden
from andromede.common.ids import new_id
from andromede.identity import domain_config, endpoint_filter, revoke
from andromede.identity.common import DEFAULT_DOMAIN_ID, flush_unique, get_or_404
from andromede.identity.models import (
    Credential,
    Domain,
    Group,
    Project,
    Role,
    RoleAssignment,
    User,
)
from andromede.identity.schemas import DomainCreate, DomainUpdate, ProjectCreate, ProjectUpdate

# What another service does, in the deleting transaction, when a project is deleted (session, the project's id).
ProjectDeletedHook = Callable[[Session, str], None]


def create_domain(session: Session, body: DomainCreate, domain_id: str | None = None) -> Domain:
    domain = Domain(id=domain_id or new_id(), name=body.name, description=body.description or "",
                    enabled=body.enabled, extra=body.extras())
    session.add(domain)
    flush_unique(session, "domain")
    return domain


def get_domain(session: Session, domain_id: str) -> Domain:
    return get_or_404(session, Domain, domain_id, "domain")


def find_domain(session: Session, *, domain_id: str | None, name: str | None) -> Domain | None:
    if domain_id:
        return session.get(Domain, domain_id)
    if name:
        return session.scalars(select(Domain).where(Domain.name == name)).first()
    return None


def list_domains(session: Session, *, name: str | None = None, enabled: bool | None = None) -> list[Domain]:
    query = select(Domain).order_by(Domain.name)
    if name is not None:
        query = query.where(Domain.name == name)
    if enabled is not None:
        query = query.where(Domain.enabled == enabled)
    return list(session.scalars(query))


def update_domain(session: Session, domain_id: str, body: DomainUpdate) -> Domain:
    domain = get_domain(session, domain_id)
    if body.name is not None:
        domain.name = body.name
    if body.description is not None:
        domain.description = body.description
    if body.enabled is not None:
        if domain.id == DEFAULT_DOMAIN_ID and not body.enabled:
            raise Forbidden("The default domain cannot be disabled.")
        if domain.enabled and not body.enabled:
            _revoke_domain(session, domain.id)
        domain.enabled = body.enabled
    domain.extra = {**domain.extra, **body.extras()}
    flush_unique(session, "domain")
    return domain


def _revoke_domain(session: Session, domain_id: str) -> None:
    revoke.revoke(session, domain_id=domain_id)
    for user_id in session.scalars(select(User.id).where(User.domain_id == domain_id)):
        revoke.revoke(session, user_id=user_id)
    for project_id in session.scalars(select(Project.id).where(Project.domain_id == domain_id)):
        revoke.revoke(session, project_id=project_id)


def delete_domain(session: Session, domain_id: str, on_deleted: Sequence[ProjectDeletedHook] = ()) -> None:
    domain = get_domain(session, domain_id)
    if domain.enabled:
        raise Forbidden("Cannot delete a domain that is enabled, please disable it first.")
    projects = list(session.scalars(select(Project).where(Project.domain_id == domain_id)))
    for project in sorted(projects, key=lambda p: p.parent_id is None):  # children first
        _delete_project_rows(session, project, on_deleted)
    users = list(session.scalars(select(User.id).where(User.domain_id == domain_id)))
    if users:
        session.execute(delete(Credential).where(Credential.user_id.in_(users)))
        session.execute(delete(RoleAssignment).where(RoleAssignment.actor_id.in_(users)))
        session.execute(delete(User).where(User.id.in_(users)))
    groups = list(session.scalars(select(Group.id).where(Group.domain_id == domain_id)))
    if groups:
        session.execute(delete(RoleAssignment).where(RoleAssignment.actor_id.in_(groups)))
        session.execute(delete(Group).where(Group.id.in_(groups)))
    session.execute(delete(RoleAssignment).where(RoleAssignment.target_id == domain_id))
    session.execute(delete(Role).where(Role.domain_id == domain_id))
    domain_config.forget_domain(session, domain_id)
    session.delete(domain)


def create_project(session: Session, body: ProjectCreate, default_domain_id: str,
                   project_id: str | None = None) -> Project:
    domain_id = body.domain_id or default_domain_id
    if session.get(Domain, domain_id) is None:
        raise BadRequest(f"Could not find domain: {domain_id}.")
    if body.parent_id is not None:
        parent = session.get(Project, body.parent_id)
        if parent is None:
            raise BadRequest(f"Could not find parent project: {body.parent_id}.")
        if parent.domain_id != domain_id:
            raise BadRequest("A project must be in the same domain as its parent.")
    extra = body.extras()
    if body.tags:
        extra["tags"] = body.tags
    project = Project(id=project_id or new_id(), name=body.name, domain_id=domain_id,
                      parent_id=body.parent_id, description=body.description or "",
                      enabled=body.enabled, extra=extra)
    session.add(project)
    flush_unique(session, "project")
    return project


def create_project_as_domain(session: Session, body: ProjectCreate) -> Domain:
    """Keystone's `is_domain` project: here simply a domain (domains and projects are separate tables)."""
    if body.parent_id is not None or body.domain_id is not None:
        raise BadRequest("A project acting as a domain has neither a parent nor a domain.")
    return create_domain(session, DomainCreate(name=body.name, description=body.description,
                                               enabled=body.enabled))


def get_project(session: Session, project_id: str) -> Project:
    return get_or_404(session, Project, project_id, "project")


def find_project(session: Session, *, project_id: str | None, name: str | None,
                 domain_id: str | None) -> Project | None:
    if project_id:
        return session.get(Project, project_id)
    if name and domain_id:
        return session.scalars(
            select(Project).where(Project.name == name, Project.domain_id == domain_id)).first()
    return None


def list_projects(session: Session, *, name: str | None = None, domain_id: str | None = None,
                  enabled: bool | None = None, parent_id: str | None = None,
                  ids: list[str] | None = None) -> list[Project]:
    query = select(Project).order_by(Project.name)
    if name is not None:
        query = query.where(Project.name == name)
    if domain_id is not None:
        query = query.where(Project.domain_id == domain_id)
    if enabled is not None:
        query = query.where(Project.enabled == enabled)
    if parent_id is not None:
        query = query.where(Project.parent_id == parent_id)
    if ids is not None:
        query = query.where(Project.id.in_(ids))
    return list(session.scalars(query))


def update_project(session: Session, project_id: str, body: ProjectUpdate) -> Project:
    project = get_project(session, project_id)
    if body.name is not None:
        project.name = body.name
    if body.description is not None:
        project.description = body.description
    if body.enabled is not None:
        if project.enabled and not body.enabled:
            revoke.revoke(session, project_id=project.id)
        project.enabled = body.enabled
    extra = {**project.extra, **body.extras()}
    if body.tags is not None:
        extra["tags"] = body.tags
    project.extra = extra
    flush_unique(session, "project")
    return project


def delete_project(session: Session, project_id: str, on_deleted: Sequence[ProjectDeletedHook] = ()) -> None:
    """Delete the project, its grants and its tokens; `on_deleted` tells the other services, in this transaction."""
    project = get_project(session, project_id)
    children = session.scalar(select(func.count()).select_from(Project).where(Project.parent_id == project_id))
    if children:
        raise Forbidden("Cannot delete a project that has child projects; delete them first.")
    _delete_project_rows(session, project, on_deleted)


def _delete_project_rows(session: Session, project: Project, on_deleted: Sequence[ProjectDeletedHook]) -> None:
    revoke.revoke(session, project_id=project.id)
    endpoint_filter.forget_project(session, project.id)
    session.execute(delete(RoleAssignment).where(RoleAssignment.target_type == "project",
                                                 RoleAssignment.target_id == project.id))
    session.delete(project)
    session.flush()
    for hook in on_deleted:
        hook(session, project.id)

