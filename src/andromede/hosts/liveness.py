"""A host is alive while its agent keeps reporting: its heartbeat (compute's view) or its network document polls
(network's view) are recent."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from andromede.common.clock import utcnow
from andromede.hosts.models import Host

HOST_DEAD_AFTER = timedelta(seconds=90)


def is_alive(last_seen: datetime | None, now: datetime) -> bool:
    return last_seen is not None and now - last_seen < HOST_DEAD_AFTER


def schedulable(session: Session, availability_zone: str | None = None) -> list[Host]:
    """The enabled hosts whose agent reported recently, in AVAILABILITY_ZONE when one is given."""
    query = select(Host).where(Host.enabled.is_(True), Host.last_seen >= utcnow() - HOST_DEAD_AFTER)
    if availability_zone:
        query = query.where(Host.availability_zone == availability_zone)
    return list(session.scalars(query))
