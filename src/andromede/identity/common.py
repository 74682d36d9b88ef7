"""Small helpers the identity modules share: lookups that 404 and uniqueness that 409."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from andromede.common.errors import Conflict, NotFound
from andromede.db.base import Base

M = TypeVar("M", bound=Base)

DEFAULT_DOMAIN_ID = "default"


def get_or_404(session: Session, model: type[M], ident: str | None, what: str) -> M:
    row = session.get(model, ident) if ident else None
    if row is None:
        raise NotFound(f"Could not find {what}: {ident}.")
    return row


def flush_unique(session: Session, what: str) -> None:
    """Flush pending writes; a unique-constraint failure becomes Keystone's 409."""
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"Conflict occurred attempting to store {what} - Duplicate entry.") from exc
