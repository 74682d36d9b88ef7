"""INSERT ... ON CONFLICT DO NOTHING, for rows two requests may both try to make first (a project's first KEK,
the default volume type, a project's quota row): the loser's insert does nothing, instead of failing the request
with a unique violation; the caller re-reads the row that won."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_unless_present(session: Session, model: type, values: dict[str, Any]) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(postgresql.insert(model).values(**values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite.insert(model).values(**values).on_conflict_do_nothing())
    else:  # pragma: no cover - the two supported databases are handled above
        session.add(model(**values))
        session.flush()
