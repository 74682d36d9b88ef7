"""Server groups (os-server-groups): a policy the scheduler applies to the servers booted with `--hint group=`.

Hard policies filter the candidate hosts (affinity: only the members' host; anti-affinity: none of the members'
hosts), soft ones only reorder them, so they never make a boot fail. Another project's group is not found (404),
never forbidden: its id is no proof it exists.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest, NotFound
from andromede.common.ids import is_uuid
from andromede.compute.group_models import ServerGroup, ServerGroupMember
from andromede.compute.models import Instance

HARD_POLICIES = ("anti-affinity", "affinity")
SOFT_POLICIES = ("soft-anti-affinity", "soft-affinity")  # microversion 2.15


class Named(Protocol):
    @property
    def name(self) -> str: ...


HostT = TypeVar("HostT", bound=Named)
Arrange = Callable[[Sequence[HostT]], list[HostT]]


def _not_found(group_id: str) -> NotFound:
    return NotFound(f"Instance group {group_id} could not be found.")


def create(session: Session, ctx: RequestContext, name: str, policy: str, rules: dict | None = None) -> ServerGroup:
    group = ServerGroup(uuid=str(uuid.uuid4()), name=name, project_id=ctx.require_project(),
                        user_id=ctx.user_id or "", policy=policy, rules=dict(rules or {}))
    session.add(group)
    session.flush()
    return group


def get(session: Session, ctx: RequestContext, group_id: str) -> ServerGroup:
    group = session.get(ServerGroup, group_id) if len(group_id) <= 36 else None
    if group is None or (not ctx.is_admin and group.project_id != ctx.project_id):
        raise _not_found(group_id)
    return group


def list_groups(session: Session, ctx: RequestContext, all_projects: bool, limit: int | None,
                offset: int) -> list[ServerGroup]:
    query = select(ServerGroup).order_by(ServerGroup.created_at, ServerGroup.uuid)
    if not (all_projects and ctx.is_admin):
        query = query.where(ServerGroup.project_id == (ctx.project_id or ""))
    query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def delete_group(session: Session, ctx: RequestContext, group_id: str) -> None:
    group = get(session, ctx, group_id)
    session.execute(delete(ServerGroupMember).where(ServerGroupMember.group_uuid == group.uuid))
    session.delete(group)


def members(session: Session, groups: Sequence[ServerGroup]) -> dict[str, list[str]]:
    """Each group's live servers, in the order they joined."""
    found: dict[str, list[str]] = {group.uuid: [] for group in groups}
    if not groups:
        return found
    rows = session.execute(
        select(ServerGroupMember.group_uuid, ServerGroupMember.instance_uuid)
        .join(Instance, Instance.uuid == ServerGroupMember.instance_uuid)
        .where(ServerGroupMember.group_uuid.in_(found), Instance.deleted.is_(False),
               Instance.desired_power != "deleted")
        .order_by(ServerGroupMember.created_at, ServerGroupMember.instance_uuid))
    for group_uuid, instance_uuid in rows:
        found[group_uuid].append(instance_uuid)
    return found


def from_hints(session: Session, ctx: RequestContext, hints: dict | None) -> ServerGroup | None:
    """The group a create's scheduler hints name. Nova answers 400 for a group it cannot find; another project's
    group is one it cannot find."""
    group_id = (hints or {}).get("group")
    if group_id is None:
        return None
    if not isinstance(group_id, str) or not is_uuid(group_id):
        raise BadRequest(f"Invalid input for field/attribute group. Value: {group_id}. "
                         f"'{group_id}' is not a 'uuid'")
    try:
        return get(session, ctx, group_id)
    except NotFound as exc:
        raise BadRequest(exc.message) from None


def add_member(session: Session, group: ServerGroup, instance_uuid: str) -> None:
    session.add(ServerGroupMember(group_uuid=group.uuid, instance_uuid=instance_uuid))
    session.flush()


def _member_hosts(session: Session, group: ServerGroup) -> list[str]:
    return list(session.scalars(
        select(Instance.host).join(ServerGroupMember, ServerGroupMember.instance_uuid == Instance.uuid)
        .where(ServerGroupMember.group_uuid == group.uuid, Instance.deleted.is_(False),
               Instance.desired_power != "deleted", Instance.host.is_not(None))))


def arrangement(session: Session, group: ServerGroup) -> Arrange:
    """How the group's policy filters or orders the scheduler's candidates (best first), as Nova's
    ServerGroup(Anti)AffinityFilter and ServerGroupSoft(Anti)AffinityWeigher do."""
    used = _member_hosts(session, group)
    policy = group.policy

    def arrange(hosts: Sequence[HostT]) -> list[HostT]:
        if policy == "affinity":
            return [h for h in hosts if not used or h.name in used]
        if policy == "anti-affinity":  # 2.64's max_server_per_host allows more than one member per host
            most = int(group.rules.get("max_server_per_host", 1))
            return [h for h in hosts if used.count(h.name) < most]
        # Soft policies: a stable sort keeps the scheduler's own order among equals.
        sign = -1 if policy == "soft-affinity" else 1
        return sorted(hosts, key=lambda h: sign * used.count(h.name))

    return arrange
