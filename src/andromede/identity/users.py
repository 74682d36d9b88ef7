"""Users and groups: creation with the password policy, updates that revoke, group membership."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from andromede.common.clock import utcnow
from andromede.common.config import Settings
from andromede.common.errors import BadRequest, NotFound, Unauthorized
from andromede.common.ids import new_id
from andromede.common.passwords import hash_secret, verify_secret
from andromede.identity import revoke
from andromede.identity.common import flush_unique, get_or_404
from andromede.identity.models import (
    ApplicationCredential,
    Credential,
    Domain,
    Group,
    GroupMember,
    RoleAssignment,
    User,
)
from andromede.identity.schemas import GroupCreate, GroupUpdate, UserCreate, UserOptions, UserUpdate


def check_password_policy(settings: Settings, password: str) -> None:
    if len(password.encode()) > settings.password_max_bytes:
        raise BadRequest(f"Password is longer than {settings.password_max_bytes} bytes.")
    if len(password) < settings.password_min_length:
        raise BadRequest(
            f"Password does not meet the requirements: at least {settings.password_min_length} characters.")


def _merge_options(current: dict, update: UserOptions | None) -> dict:
    if update is None:
        return current
    merged = dict(current)
    for key, value in update.model_dump(exclude_unset=True).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def create_user(session: Session, settings: Settings, body: UserCreate, default_domain_id: str,
                user_id: str | None = None) -> User:
    domain_id = body.domain_id or default_domain_id
    if session.get(Domain, domain_id) is None:
        raise NotFound(f"Could not find domain: {domain_id}.")  # Keystone's DomainNotFound
    if body.password is not None:
        check_password_policy(settings, body.password)
    user = User(id=user_id or new_id(), name=body.name, domain_id=domain_id, enabled=body.enabled,
                default_project_id=body.default_project_id, description=body.description or "",
                extra=body.extras(), options=_merge_options({}, body.options))
    session.add(user)
    flush_unique(session, "user")
    if body.password is not None:
        set_password(session, user, body.password)
    return user


def set_password(session: Session, user: User, password: str) -> None:
    user.password_hash = hash_secret(password)
    user.password_created_at = utcnow()
    user.failed_auth_count = 0
    user.locked_until = None


def get_user(session: Session, user_id: str) -> User:
    return get_or_404(session, User, user_id, "user")


def find_user(session: Session, *, user_id: str | None, name: str | None,
              domain_id: str | None) -> User | None:
    if user_id:
        return session.get(User, user_id)
    if name and domain_id:
        return session.scalars(select(User).where(User.name == name, User.domain_id == domain_id)).first()
    return None


def list_users(session: Session, *, name: str | None = None, domain_id: str | None = None,
               enabled: bool | None = None, group_id: str | None = None) -> list[User]:
    query = select(User).order_by(User.name)
    if name is not None:
        query = query.where(User.name == name)
    if domain_id is not None:
        query = query.where(User.domain_id == domain_id)
    if enabled is not None:
        query = query.where(User.enabled == enabled)
    if group_id is not None:
        query = query.join(GroupMember, GroupMember.user_id == User.id).where(GroupMember.group_id == group_id)
    return list(session.scalars(query))


def update_user(session: Session, settings: Settings, user_id: str, body: UserUpdate) -> User:
    user = get_user(session, user_id)
    if body.name is not None:
        user.name = body.name
    if body.description is not None:
        user.description = body.description
    if "default_project_id" in body.model_fields_set:
        user.default_project_id = body.default_project_id
    if body.enabled is not None:
        if user.enabled and not body.enabled:
            revoke.revoke(session, user_id=user.id)
        user.enabled = body.enabled
        if body.enabled:
            user.failed_auth_count = 0
            user.locked_until = None
    if body.password is not None:
        check_password_policy(settings, body.password)
        set_password(session, user, body.password)
        revoke.revoke(session, user_id=user.id)
    user.options = _merge_options(user.options, body.options)
    user.extra = {**user.extra, **body.extras()}
    flush_unique(session, "user")
    return user


def change_own_password(session: Session, settings: Settings, user_id: str, original: str, new: str) -> None:
    user = get_user(session, user_id)
    if not verify_secret(user.password_hash, original):
        raise Unauthorized("The original password is incorrect.")
    check_password_policy(settings, new)
    set_password(session, user, new)
    revoke.revoke(session, user_id=user.id)


def delete_user(session: Session, user_id: str) -> None:
    user = get_user(session, user_id)
    revoke.revoke(session, user_id=user.id)
    session.execute(delete(RoleAssignment).where(RoleAssignment.actor_type == "user",
                                                 RoleAssignment.actor_id == user.id))
    session.execute(delete(GroupMember).where(GroupMember.user_id == user.id))
    session.execute(delete(ApplicationCredential).where(ApplicationCredential.user_id == user.id))
    session.execute(delete(Credential).where(Credential.user_id == user.id))
    session.delete(user)


# ---- groups ------------------------------------------------------------------------------------

def create_group(session: Session, body: GroupCreate, default_domain_id: str) -> Group:
    domain_id = body.domain_id or default_domain_id
    if session.get(Domain, domain_id) is None:
        raise BadRequest(f"Could not find domain: {domain_id}.")
    group = Group(id=new_id(), name=body.name, domain_id=domain_id, description=body.description or "",
                  extra=body.extras())
    session.add(group)
    flush_unique(session, "group")
    return group


def get_group(session: Session, group_id: str) -> Group:
    return get_or_404(session, Group, group_id, "group")


def list_groups(session: Session, *, name: str | None = None, domain_id: str | None = None,
                user_id: str | None = None) -> list[Group]:
    query = select(Group).order_by(Group.name)
    if name is not None:
        query = query.where(Group.name == name)
    if domain_id is not None:
        query = query.where(Group.domain_id == domain_id)
    if user_id is not None:
        query = query.join(GroupMember, GroupMember.group_id == Group.id).where(GroupMember.user_id == user_id)
    return list(session.scalars(query))


def update_group(session: Session, group_id: str, body: GroupUpdate) -> Group:
    group = get_group(session, group_id)
    if body.name is not None:
        group.name = body.name
    if body.description is not None:
        group.description = body.description
    group.extra = {**group.extra, **body.extras()}
    flush_unique(session, "group")
    return group


def delete_group(session: Session, group_id: str) -> None:
    group = get_group(session, group_id)
    for user_id in session.scalars(select(GroupMember.user_id).where(GroupMember.group_id == group_id)):
        revoke.revoke(session, user_id=user_id)
    session.execute(delete(RoleAssignment).where(RoleAssignment.actor_type == "group",
                                                 RoleAssignment.actor_id == group.id))
    session.execute(delete(GroupMember).where(GroupMember.group_id == group.id))
    session.delete(group)


def add_member(session: Session, group_id: str, user_id: str) -> None:
    get_group(session, group_id)
    get_user(session, user_id)
    if session.get(GroupMember, (group_id, user_id)) is None:
        session.add(GroupMember(group_id=group_id, user_id=user_id))


def is_member(session: Session, group_id: str, user_id: str) -> bool:
    get_group(session, group_id)
    get_user(session, user_id)
    return session.get(GroupMember, (group_id, user_id)) is not None


def remove_member(session: Session, group_id: str, user_id: str) -> None:
    if not is_member(session, group_id, user_id):
        raise NotFound(f"User {user_id} is not a member of group {group_id}.")
    session.execute(delete(GroupMember).where(GroupMember.group_id == group_id, GroupMember.user_id == user_id))
    revoke.revoke(session, user_id=user_id)

