"""What the metadata service asks of compute: a live instance as a read-only view, and what its network says.

The metadata service never reads compute's tables; it is called on every request an instance makes, so each call
is a few indexed queries in the caller's session.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from andromede.compute import networking
from andromede.compute.models import Instance


@dataclass(frozen=True)
class InstanceView:
    """The instance's facts the metadata trees and the config drive carry."""
    uuid: str
    project_id: str
    host: str | None
    name: str
    hostname: str
    image_id: str
    flavor_name: str
    key_name: str | None
    key_data: str | None
    user_data: str | None
    meta: dict
    availability_zone: str
    launch_index: int
    reservation_id: str
    password: str = ""


def live_instance(session: Session, instance_id: str) -> InstanceView | None:
    """The instance, None when there is none or it is deleted (or being deleted)."""
    instance = session.get(Instance, instance_id)
    if instance is None or instance.deleted or instance.desired_power == "deleted":
        return None
    return InstanceView(
        uuid=instance.uuid, project_id=instance.project_id, host=instance.host, name=instance.name,
        hostname=instance.hostname, image_id=instance.image_id,
        flavor_name=str(instance.flavor.get("name", instance.flavor_id)), key_name=instance.key_name,
        key_data=instance.key_data, user_data=instance.user_data, meta=dict(instance.meta),
        availability_zone=instance.availability_zone, launch_index=instance.launch_index,
        reservation_id=instance.reservation_id, password=instance.password or "")


def store_password(session: Session, instance_id: str, value: str) -> bool:
    """The guest's one post of its (encrypted) password; False when one is held already: Nova's 409."""
    instance = session.get(Instance, instance_id)
    if instance is None or instance.password:
        return False
    instance.password = value
    return True


def _row(session: Session, instance: InstanceView) -> Instance:
    row = session.get(Instance, instance.uuid)  # in the session's identity map since live_instance
    assert row is not None
    return row


def network_data(session: Session, instance: InstanceView) -> dict:
    """openstack/<version>/network_data.json: {"links": [...], "networks": [...], "services": [...]}."""
    return networking.network_data(session, _row(session, instance))


def ipv4_addresses(session: Session, instance: InstanceView) -> tuple[str | None, str | None]:
    """(first fixed IPv4, first floating IPv4); None when the instance has none."""
    fixed = floating = None
    for entries in networking.addresses(session, [_row(session, instance)])[instance.uuid].values():
        for entry in entries:
            if entry["version"] != 4:
                continue
            if entry["OS-EXT-IPS:type"] == "fixed" and fixed is None:
                fixed = entry["addr"]
            elif entry["OS-EXT-IPS:type"] == "floating" and floating is None:
                floating = entry["addr"]
    return fixed, floating
