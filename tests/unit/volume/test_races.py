"""What two API processes may do at once to block storage's rows: make the default volume type, both finding it
missing; create volumes at the project's quota, both reading the usage before either adds its volume. (Within one
server process volume creates are already one at a time: the create route runs on the event loop.)"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

import andromede.registry  # noqa: F401  (every table, for create_all)
from andromede.common.config import Settings
from andromede.common.context import RequestContext
from andromede.common.errors import PayloadTooLarge
from andromede.db.base import Base
from andromede.db.engine import Database
from andromede.kms.component import KeyManager
from andromede.kms.keystore.fake import FakeMasterKey
from andromede.volume import service
from andromede.volume.models import Volume, VolumeType
from tests.support.postgres import fresh_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = (fresh_database(request.getfixturevalue("postgres_url"), "volume_races")
           if request.param == "postgresql" else f"sqlite:///{tmp_path / 'db.sqlite'}")
    database = Database(url)
    Base.metadata.create_all(database.engine)
    yield database
    database.engine.dispose()


def _at_once(racers: int, work: Callable[[], str]) -> tuple[list[str], list[BaseException]]:
    """`work` run by `racers` threads released at once: what each returned, what each raised."""
    start = threading.Barrier(racers)
    ids: list[str] = []
    errors: list[BaseException] = []

    def make() -> None:
        start.wait()
        try:
            ids.append(work())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=make) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return ids, errors


def test_processes_making_the_default_type_at_once_all_get_the_one_stored(db: Database) -> None:
    racers = 8
    for _round in range(5):
        with db.session() as session:
            session.execute(delete(VolumeType))
        ids, errors = _at_once(racers, lambda: _default_type_id(db))
        assert errors == []
        assert len(ids) == racers and len(set(ids)) == 1


def _default_type_id(db: Database) -> str:
    with db.session() as session:
        return service.ensure_default_type(session).id


def test_creates_racing_at_the_quota_never_overrun_it(db: Database, tmp_path: Path) -> None:
    km = KeyManager(Settings(data_dir=tmp_path / "data"), db, FakeMasterKey())
    ctx = RequestContext(request_id="req-race", user_id="u-race", project_id="p-race", roles=frozenset({"member"}))
    with db.session() as session:
        service.ensure_default_type(session)
        service.set_quotas(session, "p-race", {"volumes": 1})

    def create() -> str:
        with db.session() as session:
            return service.create(session, km, ctx, {"size": 1}).id

    ids, errors = _at_once(8, create)
    assert len(ids) == 1 and len(errors) == 7 and all(isinstance(e, PayloadTooLarge) for e in errors), errors
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Volume)) == 1
