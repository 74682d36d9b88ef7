"""What compute may ask of the volume service about attachments (compute never touches volume tables): reserve a
volume for a server, begin its detach, fold in what the server's host reports, list a server's attachments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from andromede.common.context import RequestContext
from andromede.volume import attachments
from andromede.volume.models import Volume, VolumeAttachment

PLUGGED = ("attaching", "attached")  # the statuses in which the server's host must have the volume plugged


@dataclass(frozen=True)
class Attachment:
    id: str
    volume_id: str
    server_id: str
    host: str
    device: str
    tag: str | None
    delete_on_termination: bool
    status: str  # attaching, attached, detaching
    attached_at: datetime | None
    encrypted: bool


def _facts(session: Session, row: VolumeAttachment) -> Attachment:
    volume = session.get(Volume, row.volume_id)
    return Attachment(id=row.id, volume_id=row.volume_id, server_id=row.server_id, host=row.host,
                      device=row.device, tag=row.tag, delete_on_termination=row.delete_on_termination,
                      status=row.status, attached_at=row.attached_at,
                      encrypted=volume is not None and volume.encryption_key_id is not None)


def reserve(session: Session, ctx: RequestContext, volume_id: str, server_id: str, host: str | None, *,
            device: str | None = None, tag: str | None = None, delete_on_termination: bool = False) -> Attachment:
    """Nova's answers: another project's or an unknown volume 404, one not available (or on another host) 400."""
    row = attachments.reserve(session, ctx, volume_id, server_id, host, device=device, tag=tag,
                              delete_on_termination=delete_on_termination)
    return _facts(session, row)


def of_server(session: Session, server_id: str) -> list[Attachment]:
    return [_facts(session, row) for row in attachments.for_server(session, server_id)]


def of_servers(session: Session, server_ids: list[str]) -> dict[str, list[Attachment]]:
    return {server_id: [_facts(session, row) for row in rows]
            for server_id, rows in attachments.for_servers(session, server_ids).items()}


def begin_detach(session: Session, ctx: RequestContext, server_id: str, volume_id: str) -> Attachment:
    """Nova's 404s: a volume the caller cannot see, or one not attached to this server."""
    attachments.find_volume(session, ctx, volume_id)
    return _facts(session, attachments.begin_detach(session, server_id, volume_id))


def find(session: Session, ctx: RequestContext, volume_id: str) -> None:
    """Nothing, or 404 when the caller cannot see the volume."""
    attachments.find_volume(session, ctx, volume_id)


def set_delete_on_termination(session: Session, server_id: str, volume_id: str, value: bool) -> None:
    row = attachments.for_volume(session, volume_id)
    if row is not None and row.server_id == server_id:
        row.delete_on_termination = value


def observed(session: Session, server_id: str, plugged: set[str]) -> tuple[list[str], list[str]]:
    """(volumes now in-use, volumes now available again) after the host's report of what is plugged."""
    return attachments.observed(session, server_id, plugged)


def attach_failed(session: Session, server_id: str, volume_id: str) -> bool:
    return attachments.failed(session, server_id, volume_id)


def server_gone(session: Session, server_id: str) -> None:
    attachments.server_gone(session, server_id)
