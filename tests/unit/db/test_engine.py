"""The SQLite engine's settings that matter beyond speed."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from andromede.db.engine import Database


def test_a_deleted_row_leaves_no_copy_in_the_database_file(tmp_path: Path) -> None:
    canary = "wrapped-key-canary-7f3a9c"
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with db.session() as session:
        session.execute(text("CREATE TABLE keys (id INTEGER PRIMARY KEY, blob TEXT)"))
        session.execute(text("INSERT INTO keys (blob) VALUES (:b)"), {"b": canary * 20})
        session.execute(text("INSERT INTO keys (blob) VALUES ('other')"))
    with db.session() as session:
        session.execute(text("DELETE FROM keys WHERE blob != 'other'"))
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.engine.dispose()
    for path in tmp_path.iterdir():
        assert canary.encode() not in path.read_bytes(), path.name
