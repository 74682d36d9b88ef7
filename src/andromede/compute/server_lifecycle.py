"""What Nova's server actions beyond power do: lock, reset-state, rebuild, disk config and the guest's password.

Facts from Nova (nova/compute/api.py, nova/api/openstack/compute/*): a locked server refuses state changes to anyone
but a cloud admin; the lock says who set it ("owner" when the server's project did, "admin" otherwise) and only that
side unlocks without the override; rebuild is allowed from ACTIVE, SHUTOFF and ERROR and ends where it started
(a rebuilt SHUTOFF server is SHUTOFF again, an ERROR one ACTIVE).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from andromede.common.clock import utcnow
from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest, Conflict, NotFound
from andromede.compute import keypairs, servers
from andromede.compute.models import Flavor, Instance
from andromede.compute.schemas import RebuildBody


def check_unlocked(ctx: RequestContext, instance: Instance) -> None:
    """Nova's check_instance_lock: refused before any state check, cloud admins excepted."""
    if instance.locked and not ctx.is_admin:
        raise Conflict(f"Instance {instance.uuid} is locked")


def lock(session: Session, ctx: RequestContext, instance: Instance, reason: str | None) -> None:
    instance.locked = True
    instance.locked_by = "owner" if ctx.project_id == instance.project_id else "admin"
    instance.locked_reason = reason
    servers.bump(session, instance)


def expected_locker(ctx: RequestContext, instance: Instance) -> bool:
    """Nova's is_expected_locked_by: the owner may lift the owner's lock, anyone else the admin's."""
    expected = "owner" if ctx.project_id == instance.project_id else "admin"
    return instance.locked_by is None or instance.locked_by == expected


def unlock(session: Session, instance: Instance) -> None:
    instance.locked, instance.locked_by, instance.locked_reason = False, None, None
    servers.bump(session, instance)


RESET_STATES = {"active": "active", "error": "error"}


def reset_state(session: Session, instance: Instance, state: str) -> None:
    """os-resetState: the recorded state only; the host is not touched (Nova's too)."""
    instance.vm_state, instance.task_state = RESET_STATES[state], None
    instance.updated_at = utcnow()


def rebuild(session: Session, settings_password: bool, ctx: RequestContext, instance: Instance,
            body: RebuildBody) -> str | None:
    """Ask the host to make the root disk again from the (new) image; returns the adminPass to show, if any."""
    if instance.host is None:  # never placed (no valid host): no host to rebuild it on
        raise Conflict(f"Cannot 'rebuild' instance {instance.uuid} while it is in vm_state {instance.vm_state}")
    image_id = body.imageRef.rstrip("/").rsplit("/", 1)[-1]
    try:
        image = servers.bootable_image(session, ctx, image_id)
    except BadRequest as exc:
        if "could not be found" in exc.message:
            raise BadRequest("Cannot find image for rebuild") from None
        raise
    snapshot = instance.flavor
    servers.check_flavor_fits(Flavor(ram=snapshot.get("ram", 0), disk=snapshot.get("disk", 0)), image)
    key_data = instance.key_data
    if "key_name" in body.model_fields_set:
        key_data = None
        if body.key_name is not None:
            try:
                key_data = keypairs.get(session, ctx.user_id or "", body.key_name).public_key
            except NotFound:
                raise BadRequest(f"Invalid key_name provided: {body.key_name}.") from None
    if "user_data" in body.model_fields_set:
        servers.decode_user_data(body.user_data)

    def change(i: Instance) -> None:
        i.image_id, i.task_state, i.rebuild_seq = image.id, "rebuilding", i.rebuild_seq + 1
        if i.vm_state == "error":  # Nova brings an ERROR server back ACTIVE
            i.desired_power = "running"
        if body.name is not None:
            i.name = body.name
        if body.metadata is not None:
            i.meta = dict(body.metadata)
        if body.disk_config is not None:
            i.disk_config = body.disk_config
        if "key_name" in body.model_fields_set:
            i.key_name, i.key_data = body.key_name, key_data
        if "user_data" in body.model_fields_set:
            i.user_data = body.user_data
        servers.set_access_ips(i, body)
        i.fault = None

    servers.transition(session, instance, ("ACTIVE", "SHUTOFF", "ERROR"), "rebuild", change)
    if not settings_password:
        return None
    return body.adminPass or servers.random_password()

