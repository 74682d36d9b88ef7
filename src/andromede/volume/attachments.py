"""Volume attachments as Cinder keeps them: a volume reserved for a server is `attaching`, `in-use` once its
host reports it plugged, `detaching` while it is unplugged, `available` again after. One server at a time (no
multiattach); the file backend is local, so only a server on the volume's own host can take it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from andromede.common.clock import isotime, utcnow
from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest, Conflict, NotFound
from andromede.common.ids import new_id
from andromede.volume import service
from andromede.volume.models import Volume, VolumeAttachment

FIRST_DATA_DEVICE = "b"  # /dev/vda is the root disk


def for_server(session: Session, server_id: str) -> list[VolumeAttachment]:
    return list(session.scalars(select(VolumeAttachment).where(VolumeAttachment.server_id == server_id)
                                .order_by(VolumeAttachment.created_at, VolumeAttachment.id)))


def for_servers(session: Session, server_ids: list[str]) -> dict[str, list[VolumeAttachment]]:
    found: dict[str, list[VolumeAttachment]] = {server_id: [] for server_id in server_ids}
    if server_ids:
        for row in session.scalars(select(VolumeAttachment).where(VolumeAttachment.server_id.in_(server_ids))
                                   .order_by(VolumeAttachment.created_at, VolumeAttachment.id)):
            found[row.server_id].append(row)
    return found


def for_volume(session: Session, volume_id: str) -> VolumeAttachment | None:
    return session.scalars(select(VolumeAttachment).where(VolumeAttachment.volume_id == volume_id)).first()


def cinder_view(volume: Volume) -> list[dict[str, Any]]:
    """The volume's `attachments` as Cinder shows them: the attachment once attached, none before or after."""
    session = object_session(volume)
    row = for_volume(session, volume.id) if session is not None else None
    if row is None or row.status == "attaching":
        return []
    return [{"id": volume.id, "attachment_id": row.id, "volume_id": volume.id, "server_id": row.server_id,
             "host_name": row.host, "device": row.device, "attached_at": isotime(row.attached_at)}]


def _next_device(taken: set[str]) -> str:
    for code in range(ord(FIRST_DATA_DEVICE), ord("z") + 1):
        device = f"/dev/vd{chr(code)}"
        if device not in taken:
            return device
    raise BadRequest("No free device name is left on this server.")


def find_volume(session: Session, ctx: RequestContext, volume_id: str, *, lock: bool = False) -> Volume:
    volume = session.get(Volume, volume_id, with_for_update=lock)
    if volume is None or (volume.project_id != ctx.project_id and not ctx.is_admin):
        raise NotFound(f"Volume {volume_id} could not be found.")
    return volume


def reserve(session: Session, ctx: RequestContext, volume_id: str, server_id: str, host: str | None, *,
            device: str | None = None, tag: str | None = None,
            delete_on_termination: bool = False) -> VolumeAttachment:
    """The caller's volume, reserved for the server: `attaching` until its host reports it plugged."""
    volume = find_volume(session, ctx, volume_id, lock=True)
    existing = for_volume(session, volume_id)
    if existing is not None and existing.server_id == server_id:
        raise BadRequest(f"Invalid volume: volume {volume_id} already attached")
    if volume.status != "available" or existing is not None:
        raise BadRequest(f"Invalid volume: volume '{volume_id}' status must be 'available'. Currently in "
                         f"'{volume.status}'")
    if host is None or volume.host != host:
        raise BadRequest(f"Invalid volume: volume {volume_id} is stored on another host than the server: a volume "
                         f"can only be attached to a server on its own host.")
    taken = {row.device for row in for_server(session, server_id)}
    if device is not None and device in taken:
        raise Conflict(f"The supplied device path ({device}) is in use.")
    attachment = VolumeAttachment(id=new_id(), volume_id=volume_id, server_id=server_id, host=host,
                                  device=device or _next_device(taken), tag=tag,
                                  delete_on_termination=delete_on_termination, status="attaching")
    volume.status, volume.attach_status, volume.updated_at = "attaching", "attaching", utcnow()
    session.add(attachment)
    session.flush()
    return attachment


def begin_detach(session: Session, server_id: str, volume_id: str) -> VolumeAttachment:
    attachment = for_volume(session, volume_id)
    if attachment is None or attachment.server_id != server_id:
        raise NotFound(f"Instance {server_id} is not attached to volume {volume_id}")
    volume = session.get(Volume, volume_id, with_for_update=True)
    attachment.status = "detaching"
    if volume is not None:
        volume.status, volume.attach_status, volume.updated_at = "detaching", "detaching", utcnow()
    session.flush()
    return attachment


def observed(session: Session, server_id: str, plugged: set[str]) -> tuple[list[str], list[str]]:
    """The server's host says which volumes are plugged into it: attaching ones there are in-use, detaching ones
    not there are available again (returned, in that order). A report that fits nothing changes nothing."""
    attached, detached = [], []
    for attachment in for_server(session, server_id):
        if attachment.status == "attaching" and attachment.volume_id in plugged:
            attachment.status, attachment.attached_at = "attached", utcnow()
            _set_volume(session, attachment.volume_id, "in-use", "attached")
            attached.append(attachment.volume_id)
        elif attachment.status == "detaching" and attachment.volume_id not in plugged:
            release(session, attachment)
            detached.append(attachment.volume_id)
    session.flush()
    return attached, detached


def failed(session: Session, server_id: str, volume_id: str) -> bool:
    """Plugging the volume failed: it is available again (never left attaching). Whether it was attaching."""
    attachment = for_volume(session, volume_id)
    if attachment is None or attachment.server_id != server_id or attachment.status != "attaching":
        return False
    release(session, attachment)
    return True


def release(session: Session, attachment: VolumeAttachment, *, deleting: bool = False) -> None:
    """The volume is off the server: available again, or deleted when it was to go with the server."""
    session.delete(attachment)
    volume = session.get(Volume, attachment.volume_id, with_for_update=True)
    if volume is None:
        return
    _set_volume(session, volume.id, "available", "detached")
    if deleting and attachment.delete_on_termination:
        service.delete_unattached(session, volume)


def _set_volume(session: Session, volume_id: str, status: str, attach_status: str) -> None:
    volume = session.get(Volume, volume_id)
    if volume is not None:
        volume.status, volume.attach_status, volume.updated_at = status, attach_status, utcnow()


def server_gone(session: Session, server_id: str) -> None:
    """The server is deleted and off its host: its volumes are available again, or deleted when asked."""
    for attachment in for_server(session, server_id):
        release(session, attachment, deleting=True)
    session.flush()
