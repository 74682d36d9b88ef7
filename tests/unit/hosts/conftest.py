from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import andromede.registry  # noqa: F401  (every service's tables, for create_all)
from andromede.db.base import Base
from andromede.db.engine import Database


@pytest.fixture()
def empty_db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    Base.metadata.create_all(database.engine)
    yield database
    database.engine.dispose()
