"""What every start makes sure of for compute: the standard flavors a first `server create` uses."""

from __future__ import annotations

from sqlalchemy.orm import Session

from andromede.compute import flavors

STANDARD_FLAVORS = (
    ("1", "m1.tiny", 1, 256, 1),
    ("2", "m1.small", 1, 512, 2),
)


def ensure_flavors(session: Session) -> None:
    for flavor_id, name, vcpus, ram, disk in STANDARD_FLAVORS:
        flavors.ensure(session, flavor_id, name, vcpus=vcpus, ram=ram, disk=disk)
