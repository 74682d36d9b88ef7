"""Revocation events: written when access is taken away, matched against every token on validation."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from andromede.common.clock import utcnow
from andromede.identity.models import RevocationEvent
from andromede.identity.tokens import TokenPayload

# Events outlive every token they could match: the longest token lifetime plus slack.
RETENTION = timedelta(hours=25)


def revoke(session: Session, **fields: str | None) -> None:
    now = utcnow()
    session.add(RevocationEvent(issued_before=now, revoked_at=now, **fields))
    session.execute(delete(RevocationEvent).where(RevocationEvent.revoked_at < now - RETENTION))


Event = tuple[datetime, str | None, str | None, str | None, str | None, str | None, str | None]


def load_events(session: Session) -> tuple[Event, ...]:
    """Every live event; the table stays small because events older than any token are pruned."""
    rows = session.execute(select(
        RevocationEvent.issued_before, RevocationEvent.user_id, RevocationEvent.project_id,
        RevocationEvent.domain_id, RevocationEvent.app_cred_id, RevocationEvent.audit_id,
        RevocationEvent.audit_chain_id))
    return tuple((issued_before, user_id, project_id, domain_id, app_cred_id, audit_id, audit_chain_id)
                 for issued_before, user_id, project_id, domain_id, app_cred_id, audit_id, audit_chain_id in rows)


def is_revoked(events: tuple[Event, ...], token: TokenPayload) -> bool:
    wanted = (token.user_id, token.project_id, token.domain_id, token.app_cred_id, token.audit_ids[0],
              token.audit_chain_id)
    for issued_before, *fields in events:
        if token.issued_at > issued_before:
            continue
        if all(field is None or field == value for field, value in zip(fields, wanted, strict=True)):
            return True
    return False
