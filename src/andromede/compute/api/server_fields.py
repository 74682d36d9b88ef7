"""What later microversions change in the servers API's requests: fields of create and update accepted only from
the version that brings them, GET /servers's later filters, and the values only some documents show."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from andromede.common.clock import parse_isotime, utcnow
from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest
from andromede.common.ids import is_uuid
from andromede.compute import server_tags
from andromede.compute.api.microversion import Version
from andromede.compute.group_models import ServerGroupMember
from andromede.compute.models import Instance
from andromede.compute.schemas import ServerCreate, ServerUpdate
from andromede.compute.views import host_status
from andromede.hosts import service as hosts
from andromede.hosts.liveness import is_alive

CREATE_FIELDS_SINCE = {"description": (2, 19), "tags": (2, 52), "hostname": (2, 90)}
UPDATE_FIELDS_SINCE = {"description": (2, 19), "hostname": (2, 90)}
# Nova's statuses (2.38 refuses any other as a filter).
STATUSES = frozenset({"ACTIVE", "BUILD", "DELETED", "SOFT_DELETED", "ERROR", "HARD_REBOOT", "MIGRATING", "PASSWORD",
                      "PAUSED", "REBOOT", "REBUILD", "RESCUE", "RESIZE", "REVERT_RESIZE", "SHELVED",
                      "SHELVED_OFFLOADED", "SHUTOFF", "SUSPENDED", "UNKNOWN", "VERIFY_RESIZE"})
# The query parameters Nova's schema knows for GET /servers; 2.75 refuses any other.
LIST_PARAMS = frozenset({
    "user_id", "project_id", "tenant_id", "launch_index", "image_ref", "image", "kernel_id", "ramdisk_id",
    "hostname", "key_name", "power_state", "vm_state", "task_state", "host", "node", "flavor", "reservation_id",
    "launched_at", "terminated_at", "availability_zone", "name", "display_name", "description",
    "display_description", "created_at", "updated_at", "status", "ip", "ip6", "changes-since", "changes-before",
    "all_tenants", "deleted", "sort_key", "sort_dir", "limit", "marker", "config_drive", "access_ip_v4",
    "access_ip_v6", "auto_disk_config", "progress", "default_swap_device", "default_ephemeral_device", "metadata",
    "system_metadata", "locked_by", "locked", "uuid", "root_device_name", "cleaned", "soft_deleted", "vcpus",
    "memory_mb", "root_gb", "ephemeral_gb", "vm_mode", "architecture", "os_type", "shutdown_terminate",
    "disable_terminate", "tags", "tags-any", "not-tags", "not-tags-any"})
# 2.83 lets members filter on these (admins always could); our rows hold them as strings or numbers.
MEMBER_FILTERS_283 = ("availability_zone", "key_name", "user_id", "vm_state", "task_state", "power_state")


def _unexpected(field: str) -> BadRequest:
    return BadRequest(f"Invalid input for field/attribute server. Additional properties are not allowed "
                      f"('{field}' was unexpected)")


def check_create(body: ServerCreate, version: Version) -> None:
    for field, since in CREATE_FIELDS_SINCE.items():
        if version < since and field in body.model_fields_set:
            raise _unexpected(field)
    if version >= (2, 57) and body.personality is not None:
        raise _unexpected("personality")
    if version < (2, 37):  # "auto" and "none" stay accepted there too, as they were before microversions
        return
    if body.networks is None:
        raise BadRequest("Invalid input for field/attribute server. 'networks' is a required property")
    for ref in body.networks if isinstance(body.networks, list) else []:
        if ref.uuid is not None and not is_uuid(ref.uuid):
            raise BadRequest(f"Invalid input for field/attribute uuid. Value: {ref.uuid}. "
                             f"'{ref.uuid}' is not a 'uuid'")


def check_update(body: ServerUpdate, version: Version) -> None:
    for field, since in UPDATE_FIELDS_SINCE.items():
        if version < since and field in body.model_fields_set:
            raise _unexpected(field)


def apply_update(instance: Instance, body: ServerUpdate) -> bool:
    """The later fields of an update (description, hostname); True when something changed."""
    given = body.model_fields_set & {"description", "hostname"}
    if "description" in given:
        instance.description = body.description
    if "hostname" in given and body.hostname is not None:
        instance.hostname = body.hostname
    return bool(given)


def list_filter(params: dict[str, str], ctx: RequestContext, version: Version) -> Callable[[Instance], bool] | None:
    """Check GET /servers's query as this version does, and the filter of what the later versions add."""
    if version >= (2, 75):
        unknown = sorted(set(params) - LIST_PARAMS)
        if unknown:
            raise BadRequest(f"Invalid input for query parameters {unknown[0]}. Additional properties are not "
                             f"allowed ('{unknown[0]}' was unexpected)")
    if version >= (2, 38) and "status" in params and params["status"].upper() not in STATUSES:
        raise BadRequest("Invalid status value")
    checks: list[Callable[[Instance], bool]] = []
    if version >= (2, 26) and params.keys() & {"tags", "tags-any", "not-tags", "not-tags-any"}:
        checks.append(lambda row: server_tags.matches(row, params))
    if version >= (2, 66) and "changes-before" in params:
        try:
            before = parse_isotime(params["changes-before"])
            since = parse_isotime(params["changes-since"]) if "changes-since" in params else None
        except ValueError as exc:
            raise BadRequest("Invalid changes-before value.") from exc
        if since is not None and since > before:
            raise BadRequest("The value of changes-since must be less than or equal to changes-before.")
        checks.append(lambda row: row.updated_at <= before)
    if version >= (2, 83):
        wanted = {key: params[key] for key in MEMBER_FILTERS_283 if key in params}
        if wanted:
            checks.append(lambda row: all(str(getattr(row, key)) == value for key, value in wanted.items()))
    if not checks:
        return None
    return lambda row: all(check(row) for check in checks)


def host_statuses(session: Session) -> dict[str, str]:
    """2.16: each host's status as a server on it shows it to admins."""
    now = utcnow()
    return {h.name: host_status(h.enabled, is_alive(h.last_seen, now)) for h in hosts.listed(session)}


def group_ids(session: Session, instance: Instance) -> list[str]:
    """2.71: the server groups a server belongs to (Nova's one group, at most)."""
    return list(session.scalars(select(ServerGroupMember.group_uuid)
                                .where(ServerGroupMember.instance_uuid == instance.uuid)
                                .order_by(ServerGroupMember.created_at)))
