"""Revocation events: written when access is taken away, matched against every token on validation."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, exists, or_, select
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


def is_revoked(session: Session, token: TokenPayload) -> bool:
    def matches(column, value):  # type: ignore[no-untyped-def]
        return or_(column.is_(None), column == value) if value is not None else column.is_(None)

    event = RevocationEvent
    query = select(
        exists().where(
            event.issued_before >= token.issued_at,
            matches(event.user_id, token.user_id),
            matches(event.project_id, token.project_id),
            matches(event.domain_id, token.domain_id),
            matches(event.app_cred_id, token.app_cred_id),
            or_(event.audit_id.is_(None), event.audit_id == token.audit_ids[0]),
            or_(event.audit_chain_id.is_(None), event.audit_chain_id == token.audit_chain_id),
        )
    )
    return bool(session.execute(query).scalar())
