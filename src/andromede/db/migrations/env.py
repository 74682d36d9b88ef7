"""Alembic environment: every service's tables share Base.metadata.

The tables on it are those the running process imported: andromede.registry names every service, whose descriptor
imports its models (`upgrade` needs none; run an autogenerate from a process that imported the registry)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from andromede.db.base import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic needs a connection or a sqlalchemy.url")
    engine = create_engine(url)
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()
