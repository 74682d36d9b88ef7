"""Volume transfers (Cinder's os-volume-transfer): the owner offers an available volume, gets an auth key once,
and whichever project presents the transfer's id and key takes the volume, its key re-wrapped under the new
project's KEK (kms.transfer_key). While offered the volume is `awaiting-transfer`: not deletable, not attachable.
Only the giving project (or a cloud admin) sees the transfer; the taker needs nothing but its id and key."""

from __future__ import annotations

import secrets
import string

from sqlalchemy import select
from sqlalchemy.orm import Session

from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest, NotFound
from andromede.common.ids import new_id
from andromede.common.passwords import hash_secret, verify_secret
from andromede.kms import for_services as kms
from andromede.kms.component import KeyManager
from andromede.volume import service, snapshots
from andromede.volume.models import Volume, VolumeSnapshot, VolumeTransfer

AUTH_KEY_LENGTH = 16  # Cinder's default volume_transfer_key_length
_AUTH_KEY_ALPHABET = string.ascii_letters + string.digits
AWAITING = "awaiting-transfer"


def create(session: Session, ctx: RequestContext, volume_id: str, name: str | None) -> tuple[VolumeTransfer, str]:
    """The transfer and its auth key (shown in this answer only)."""
    volume = session.get(Volume, volume_id, with_for_update=True)
    if volume is None or (volume.project_id != ctx.project_id and not ctx.is_admin):
        raise NotFound(f"Volume {volume_id} could not be found.")
    if volume.status != "available" or volume.attach_status != "detached":
        raise BadRequest("Invalid volume: status must be available")
    auth_key = "".join(secrets.choice(_AUTH_KEY_ALPHABET) for _ in range(AUTH_KEY_LENGTH))
    transfer = VolumeTransfer(id=new_id(), volume_id=volume.id, project_id=volume.project_id, name=name,
                              auth_key_hash=hash_secret(auth_key))
    volume.status = AWAITING
    session.add(transfer)
    session.flush()
    return transfer, auth_key


def find(session: Session, ctx: RequestContext, transfer_id: str) -> VolumeTransfer:
    transfer = session.get(VolumeTransfer, transfer_id)
    if transfer is None or (transfer.project_id != ctx.project_id and not ctx.is_admin):
        raise NotFound(f"Transfer {transfer_id} could not be found.")
    return transfer


def listing(session: Session, project_id: str) -> list[VolumeTransfer]:
    return list(session.scalars(select(VolumeTransfer).where(VolumeTransfer.project_id == project_id)
                                .order_by(VolumeTransfer.created_at, VolumeTransfer.id)))


def delete(session: Session, transfer: VolumeTransfer) -> None:
    """Withdraw the offer: the volume is available again."""
    volume = session.get(Volume, transfer.volume_id, with_for_update=True)
    if volume is not None and volume.status == AWAITING:
        volume.status = "available"
    session.delete(transfer)


def accept(session: Session, km: KeyManager, ctx: RequestContext, transfer_id: str, auth_key: str) -> VolumeTransfer:
    """The caller's project takes the volume. A wrong key is a 400 that changes nothing (Cinder's answer); an
    unknown transfer a 404, whoever asks."""
    taker = ctx.require_project()
    transfer = session.get(VolumeTransfer, transfer_id, with_for_update=True)
    if transfer is None:
        verify_secret(None, auth_key)  # an unknown id costs what a wrong key does
        raise NotFound(f"Transfer {transfer_id} could not be found.")
    if not verify_secret(transfer.auth_key_hash, auth_key):
        raise BadRequest(f"Invalid auth key: Attempt to transfer {transfer_id} with invalid auth key.")
    volume = session.get(Volume, transfer.volume_id, with_for_update=True)
    if volume is None or volume.status != AWAITING:
        raise BadRequest(f"Invalid volume: the volume of transfer {transfer_id} is no longer awaiting transfer.")
    service.check_quota(session, taker, volume.size)
    taken_along = session.scalars(select(VolumeSnapshot).where(VolumeSnapshot.volume_id == volume.id)).all()
    if taken_along:
        snapshots.check_quota(session, taker, len(taken_along), volume.size + sum(s.size for s in taken_along))
    if volume.encryption_key_id:
        kms.transfer_key(session, km, volume.project_id, volume.encryption_key_id, taker)
    volume.project_id, volume.user_id, volume.status = taker, ctx.user_id or "", "available"
    for snapshot in taken_along:
        snapshot.project_id = taker
    session.delete(transfer)
    session.flush()
    return transfer
