"""What the metadata service asks the network service about an instance. Network code fills these in.

Each hook takes the open database session and the instance row. They are called on every metadata request of
that instance, so they must be cheap (a few indexed queries). Until networking fills them, instances have no
addresses and an empty network_data.json, exactly what the config drive carries today.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from andromede.compute.models import Instance


def network_data(session: Session, instance: Instance) -> dict:
    """openstack/<version>/network_data.json: {"links": [...], "networks": [...], "services": [...]}."""
    from andromede.compute import networking

    return networking.network_data(session, instance)


def instance_addresses(session: Session, instance: Instance) -> tuple[str | None, str | None]:
    """(fixed IPv4, floating IPv4) for EC2 local-ipv4 / public-ipv4; None when the instance has none."""
    from andromede.compute import networking

    fixed = floating = None
    for entries in networking.addresses(session, [instance])[instance.uuid].values():
        for entry in entries:
            if entry["version"] != 4:
                continue
            if entry["OS-EXT-IPS:type"] == "fixed" and fixed is None:
                fixed = entry["addr"]
            elif entry["OS-EXT-IPS:type"] == "floating" and floating is None:
                floating = entry["addr"]
    return fixed, floating


def security_groups(session: Session, instance: Instance) -> list[str]:
    """Names for EC2 security-groups."""
    return ["default"]
