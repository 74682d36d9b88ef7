"""What a server's host reports of its volumes, folded into the volume service's attachments and the server's
instance actions: a volume plugged is in-use, one unplugged available again, one that failed to plug available
with the attach event in Error; a deleted server's volumes are released (or deleted, when asked)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from andromede.compute import instance_actions, servers
from andromede.compute.models import Instance
from andromede.volume import for_compute as volumes

ATTACH, DETACH = instance_actions.EVENTS["attach_volume"], instance_actions.EVENTS["detach_volume"]


def apply_observed(session: Session, instance: Instance, plugged: list[str] | None,
                   faults: Mapping[str, str] | None) -> None:
    if instance.deleted:
        volumes.server_gone(session, instance.uuid)
        return
    failed = False
    for volume_id, reason in (faults or {}).items():
        if volumes.attach_failed(session, instance.uuid, volume_id):
            instance_actions.finish_event(session, instance.uuid, ATTACH,
                                          f"Volume {volume_id} could not be attached: {reason}")
            failed = True
    if failed:  # the host must drop it from the instance's desired volumes
        servers.bump(session, instance)
    if plugged is None:
        return
    attached, detached = volumes.observed(session, instance.uuid, set(plugged))
    for _ in attached:
        instance_actions.finish_event(session, instance.uuid, ATTACH)
    for _ in detached:
        instance_actions.finish_event(session, instance.uuid, DETACH)
