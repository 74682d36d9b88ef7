"""Roles, implied roles and role assignments; effective roles are what tokens and policy see."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from andromede.common.errors import BadRequest, Forbidden, NotFound
from andromede.common.ids import new_id
from andromede.identity import revoke
from andromede.identity.common import flush_unique, get_or_404
from andromede.identity.models import (
    Domain,
    Group,
    GroupMember,
    ImpliedRole,
    Project,
    Role,
    RoleAssignment,
    User,
)
from andromede.identity.schemas import RoleCreate, RoleUpdate

SYSTEM_TARGET = "system"


def create_role(session: Session, body: RoleCreate, role_id: str | None = None) -> Role:
    if body.domain_id is not None and session.get(Domain, body.domain_id) is None:
        raise BadRequest(f"Could not find domain: {body.domain_id}.")
    role = Role(id=role_id or new_id(), name=body.name, domain_id=body.domain_id,
                scope_key=body.domain_id or "", description=body.description or "", extra=body.extras())
    session.add(role)
    flush_unique(session, "role")
    return role


def get_role(session: Session, role_id: str) -> Role:
    return get_or_404(session, Role, role_id, "role")


def find_role(session: Session, *, role_id: str | None = None, name: str | None = None,
              domain_id: str | None = None) -> Role | None:
    if role_id:
        return session.get(Role, role_id)
    if name:
        return session.scalars(select(Role).where(Role.name == name, Role.scope_key == (domain_id or ""))).first()
    return None


def list_roles(session: Session, *, name: str | None = None, domain_id: str | None = None) -> list[Role]:
    query = select(Role).where(Role.scope_key == (domain_id or "")).order_by(Role.name)
    if name is not None:
        query = query.where(Role.name == name)
    return list(session.scalars(query))


def update_role(session: Session, role_id: str, body: RoleUpdate) -> Role:
    role = get_role(session, role_id)
    if body.name is not None:
        role.name = body.name
    if body.description is not None:
        role.description = body.description
    role.extra = {**role.extra, **body.extras()}
    flush_unique(session, "role")
    return role


def delete_role(session: Session, role_id: str) -> None:
    role = get_role(session, role_id)
    for assignment in session.scalars(select(RoleAssignment).where(RoleAssignment.role_id == role_id)):
        _revoke_for_assignment(session, assignment)
    session.execute(delete(RoleAssignment).where(RoleAssignment.role_id == role_id))
    session.execute(delete(ImpliedRole).where(or_(ImpliedRole.prior_role_id == role_id,
                                                  ImpliedRole.implied_role_id == role_id)))
    session.delete(role)


def add_implied_role(session: Session, prior_id: str, implied_id: str) -> None:
    get_role(session, prior_id)
    get_role(session, implied_id)
    if session.get(ImpliedRole, (prior_id, implied_id)) is None:
        session.add(ImpliedRole(prior_role_id=prior_id, implied_role_id=implied_id))


# ---- grants ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Grant:
    actor_type: str  # user | group
    actor_id: str
    target_type: str  # project | domain | system
    target_id: str
    role_id: str


def _validate(session: Session, grant: Grant) -> None:
    actor_model = User if grant.actor_type == "user" else Group
    get_or_404(session, actor_model, grant.actor_id, grant.actor_type)
    if grant.target_type == "project":
        get_or_404(session, Project, grant.target_id, "project")
    elif grant.target_type == "domain":
        get_or_404(session, Domain, grant.target_id, "domain")
    role = get_role(session, grant.role_id)
    if role.domain_id is not None:
        _check_domain_specific(session, role, grant)


def _check_domain_specific(session: Session, role: Role, grant: Grant) -> None:
    """Keystone: a domain-specific role is granted only within its domain (403), and never on the system (400)."""
    if grant.target_type == SYSTEM_TARGET:
        raise BadRequest(f"Role {role.id} is a domain-specific role and cannot be assigned on the system.")
    if grant.target_type == "project":
        project = session.get(Project, grant.target_id)
        if project is not None and project.domain_id != role.domain_id:
            raise Forbidden(f"Project {grant.target_id} must be in the same domain as the role {role.id} "
                            "being assigned.")
    elif grant.target_id != role.domain_id:
        raise Forbidden(f"Domain {grant.target_id} must be the domain of the role {role.id} being assigned.")


def _key(grant: Grant) -> tuple:
    return (grant.actor_type, grant.actor_id, grant.target_type, grant.target_id, grant.role_id, False)


def add_grant(session: Session, grant: Grant) -> None:
    _validate(session, grant)
    if session.get(RoleAssignment, _key(grant)) is None:
        session.add(RoleAssignment(actor_type=grant.actor_type, actor_id=grant.actor_id,
                                   target_type=grant.target_type, target_id=grant.target_id,
                                   role_id=grant.role_id, inherited=False))


def has_grant(session: Session, grant: Grant) -> bool:
    _validate(session, grant)
    return session.get(RoleAssignment, _key(grant)) is not None


def remove_grant(session: Session, grant: Grant) -> None:
    _validate(session, grant)
    assignment = session.get(RoleAssignment, _key(grant))
    if assignment is None:
        raise NotFound(f"Could not find role assignment with role: {grant.role_id}.")
    _revoke_for_assignment(session, assignment)
    session.delete(assignment)


def _revoke_for_assignment(session: Session, assignment: RoleAssignment) -> None:
    if assignment.actor_type == "user":
        user_ids = [assignment.actor_id]
    else:
        user_ids = list(session.scalars(select(GroupMember.user_id)
                                        .where(GroupMember.group_id == assignment.actor_id)))
    for user_id in user_ids:
        if assignment.target_type == "project":
            revoke.revoke(session, user_id=user_id, project_id=assignment.target_id)
        elif assignment.target_type == "domain":
            revoke.revoke(session, user_id=user_id, domain_id=assignment.target_id)
        else:
            revoke.revoke(session, user_id=user_id)


def list_assignments(session: Session, *, user_id: str | None = None, group_id: str | None = None,
                     role_id: str | None = None, project_id: str | None = None,
                     domain_id: str | None = None, system: bool = False,
                     effective: bool = False) -> list[RoleAssignment]:
    query = select(RoleAssignment).order_by(RoleAssignment.actor_id, RoleAssignment.target_id)
    if role_id is not None:
        query = query.where(RoleAssignment.role_id == role_id)
    if project_id is not None:
        query = query.where(RoleAssignment.target_type == "project", RoleAssignment.target_id == project_id)
    if domain_id is not None:
        query = query.where(RoleAssignment.target_type == "domain", RoleAssignment.target_id == domain_id)
    if system:
        query = query.where(RoleAssignment.target_type == SYSTEM_TARGET)
    if group_id is not None:
        query = query.where(RoleAssignment.actor_type == "group", RoleAssignment.actor_id == group_id)
    if user_id is not None and not effective:
        query = query.where(RoleAssignment.actor_type == "user", RoleAssignment.actor_id == user_id)
    rows = list(session.scalars(query))
    if not effective:
        return rows
    # Effective: group grants become one row per member; user filter applies after expansion.
    expanded: list[RoleAssignment] = []
    for row in rows:
        if row.actor_type == "user":
            expanded.append(row)
            continue
        for member in session.scalars(select(GroupMember.user_id).where(GroupMember.group_id == row.actor_id)):
            expanded.append(RoleAssignment(actor_type="user", actor_id=member, target_type=row.target_type,
                                           target_id=row.target_id, role_id=row.role_id, inherited=False))
    if user_id is not None:
        expanded = [row for row in expanded if row.actor_id == user_id]
    unique = {(r.actor_id, r.target_type, r.target_id, r.role_id): r for r in expanded}
    return list(unique.values())


# ---- effective roles ---------------------------------------------------------------------------

def effective_role_ids(session: Session, user_id: str, target_type: str, target_id: str) -> set[str]:
    """Roles a user holds on a target, directly or through groups, with implied roles expanded."""
    group_ids = select(GroupMember.group_id).where(GroupMember.user_id == user_id)
    query = select(RoleAssignment.role_id).where(
        RoleAssignment.target_type == target_type,
        RoleAssignment.target_id == target_id,
        or_(
            (RoleAssignment.actor_type == "user") & (RoleAssignment.actor_id == user_id),
            (RoleAssignment.actor_type == "group") & (RoleAssignment.actor_id.in_(group_ids)),
        ),
    )
    direct = set(session.scalars(query))
    return strip_domain_roles(session, expand_implied(session, direct))


def strip_domain_roles(session: Session, role_ids: set[str]) -> set[str]:
    """As Keystone, domain-specific roles stay out of tokens: they count only through the global roles they imply."""
    if not role_ids:
        return role_ids
    local = set(session.scalars(select(Role.id).where(Role.id.in_(role_ids), Role.domain_id.is_not(None))))
    return role_ids - local


def expand_implied(session: Session, role_ids: set[str]) -> set[str]:
    if not role_ids:
        return role_ids
    rules: dict[str, list[str]] = {}
    for prior, implied in session.execute(select(ImpliedRole.prior_role_id, ImpliedRole.implied_role_id)):
        rules.setdefault(prior, []).append(implied)
    result, pending = set(role_ids), list(role_ids)
    while pending:
        for implied in rules.get(pending.pop(), []):
            if implied not in result:
                result.add(implied)
                pending.append(implied)
    return result


def roles_by_ids(session: Session, role_ids: set[str]) -> list[Role]:
    if not role_ids:
        return []
    return list(session.scalars(select(Role).where(Role.id.in_(role_ids)).order_by(Role.name)))


def projects_for_user(session: Session, user_id: str) -> list[Project]:
    group_ids = select(GroupMember.group_id).where(GroupMember.user_id == user_id)
    project_ids = select(RoleAssignment.target_id).where(
        RoleAssignment.target_type == "project",
        or_((RoleAssignment.actor_type == "user") & (RoleAssignment.actor_id == user_id),
            (RoleAssignment.actor_type == "group") & (RoleAssignment.actor_id.in_(group_ids))))
    return list(session.scalars(select(Project).where(Project.id.in_(project_ids)).order_by(Project.name)))


def domains_for_user(session: Session, user_id: str) -> list[Domain]:
    group_ids = select(GroupMember.group_id).where(GroupMember.user_id == user_id)
    domain_ids = select(RoleAssignment.target_id).where(
        RoleAssignment.target_type == "domain",
        or_((RoleAssignment.actor_type == "user") & (RoleAssignment.actor_id == user_id),
            (RoleAssignment.actor_type == "group") & (RoleAssignment.actor_id.in_(group_ids))))
    return list(session.scalars(select(Domain).where(Domain.id.in_(domain_ids)).order_by(Domain.name)))


def user_holds_role_anywhere(session: Session, user_id: str, role_id: str) -> bool:
    group_ids = select(GroupMember.group_id).where(GroupMember.user_id == user_id)
    query = select(RoleAssignment.role_id).where(
        RoleAssignment.role_id == role_id,
        or_((RoleAssignment.actor_type == "user") & (RoleAssignment.actor_id == user_id),
            (RoleAssignment.actor_type == "group") & (RoleAssignment.actor_id.in_(group_ids)))).limit(1)
    return session.scalar(query) is not None
