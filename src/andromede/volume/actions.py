"""Cinder's volume actions (`POST /volumes/{id}/action`): os-extend, growing an available volume.

The volume becomes `extending` with the size it is to reach; its host's agent grows the file (the desired size is
the new one) and reports it `available`, and only then does the volume show its new size, as Cinder's does. The new
GiB count in the gigabytes quota from the request on. Extending an in-use volume needs its guest's QEMU to grow the
disk it has open: not yet."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from andromede.common.clock import utcnow
from andromede.common.errors import BadRequest
from andromede.volume import service
from andromede.volume.models import Volume

IN_USE_EXTEND = ("Invalid volume: extending an in-use volume is not supported yet (its guest's QEMU must grow the "
                 "disk it has open); detach the volume first.")


def parse(body: object) -> Any:
    """The argument of the one action a body names (os-extend: the only one yet)."""
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Invalid request body: one action is expected.")
    ((action, argument),) = body.items()
    if action != "os-extend":
        raise BadRequest(f"There is no such action: {action}")
    return argument


def new_size(argument: object) -> int:
    size = argument.get("new_size") if isinstance(argument, dict) else None
    if isinstance(size, str) and size.strip().isdigit():
        size = int(size)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1 or size > 2 ** 31 - 1:
        raise BadRequest(f"Invalid input for field/attribute new_size. Value: {size}. {size!r} is not a valid "
                         "size (an integer from 1)")
    return size


def extend(session: Session, volume: Volume, size: int) -> None:
    if volume.status == "in-use":
        raise BadRequest(IN_USE_EXTEND)
    if volume.status != "available" or volume.host is None:
        raise BadRequest(f"Invalid volume: Volume {volume.id} status must be available to extend, but current "
                         f"status is: {volume.status}.")
    if size <= volume.size:
        raise BadRequest(f"Invalid input received: New size for extend must be greater than current size. "
                         f"(current: {volume.size}, extended: {size}).")
    service.lock_quota(session, volume.project_id)
    service.check_gigabytes(service.quotas(session, volume.project_id), service.usage(session, volume.project_id),
                            size - volume.size)
    volume.status, volume.extending_to, volume.updated_at = "extending", size, utcnow()
    service.desired_changed(session, volume)
    session.flush()
