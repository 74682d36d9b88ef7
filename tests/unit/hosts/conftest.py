from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import andromede.db.models  # noqa: F401  (every table, for create_all)
from andromede.db.base import Base
from andromede.db.engine import Database


@pytest.fixture()
def empty_db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    Base.metadata.create_all(database.engine)
    yield database
    database.engine.dispose()
