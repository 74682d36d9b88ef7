"""What the metadata service asks about an instance beyond compute's view of it: what its network says.

Each hook takes the open database session and compute's view of the instance (compute/for_metadata.py). They are
called on every metadata request of that instance, so they must be cheap (a few indexed queries).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from andromede.compute import for_metadata
from andromede.compute.for_metadata import InstanceView


def network_data(session: Session, instance: InstanceView) -> dict:
    """openstack/<version>/network_data.json: {"links": [...], "networks": [...], "services": [...]}."""
    return for_metadata.network_data(session, instance)


def instance_addresses(session: Session, instance: InstanceView) -> tuple[str | None, str | None]:
    """(fixed IPv4, floating IPv4) for EC2 local-ipv4 / public-ipv4; None when the instance has none."""
    return for_metadata.ipv4_addresses(session, instance)


def security_groups(session: Session, instance: InstanceView) -> list[str]:
    """Names for EC2 security-groups."""
    return ["default"]
