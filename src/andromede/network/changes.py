"""The network generation: every transaction that writes a network table bumps it, and agents wait on it.

Same scheme as the identity cache: the bump is written in the writing transaction (so every API process
and every agent sees it), and a commit in this process wakes local waiters at once; waiters also re-read
the stored generation every half second to catch other processes' writes.
"""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from andromede.db.engine import Database
from andromede.network.models import NetworkState

_PREFIX = "network_"
_DIRTY = "network_dirty"


def _is_network(obj: object) -> bool:
    table = getattr(type(obj), "__tablename__", "")
    return table.startswith(_PREFIX) and table != NetworkState.__tablename__


def mark_changed(session: Session) -> None:
    """Bump the generation when this session commits, for a change agents must see that lives outside the network
    tables (a host's VXLAN endpoint)."""
    session.info[_DIRTY] = True


class NetworkChanges:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._install_hooks(db.sessions)

    def ensure_row(self) -> None:
        with self.db.engine.begin() as connection:
            if connection.execute(select(NetworkState.id)).first() is None:
                connection.execute(insert(NetworkState).values(id=1, generation=1))

    def generation(self) -> int:
        with self.db.engine.connect() as connection:
            return int(connection.execute(select(NetworkState.generation)).scalar() or 0)

    def _install_hooks(self, factory: sessionmaker) -> None:
        @event.listens_for(factory, "after_flush")
        def mark(session: Session, _flush_context: object) -> None:
            if any(_is_network(obj) for obj in (*session.new, *session.dirty, *session.deleted)):
                session.info[_DIRTY] = True

        @event.listens_for(factory, "do_orm_execute")
        def mark_bulk(state: ORMExecuteState) -> None:
            if (state.is_update or state.is_delete or state.is_insert) and any(
                    getattr(m.class_, "__tablename__", "").startswith(_PREFIX)
                    and m.class_ is not NetworkState for m in state.all_mappers):
                state.session.info[_DIRTY] = True

        @event.listens_for(factory, "before_commit")
        def persist(session: Session) -> None:
            if session.new or session.dirty or session.deleted:
                session.flush()
            if session.info.get(_DIRTY):
                session.execute(update(NetworkState).where(NetworkState.id == 1)
                                .values(generation=NetworkState.generation + 1))

        @event.listens_for(factory, "after_commit")
        def wake(session: Session) -> None:
            if session.info.pop(_DIRTY, False):
                self.notify()

        @event.listens_for(factory, "after_rollback")
        def forget(session: Session) -> None:
            session.info.pop(_DIRTY, None)

    def notify(self) -> None:
        with self._lock:
            waiters, self._waiters = self._waiters, []
        for loop, waiter in waiters:
            loop.call_soon_threadsafe(waiter.set)

    async def wait(self, timeout: float) -> None:
        waiter = asyncio.Event()
        with self._lock:
            self._waiters.append((asyncio.get_running_loop(), waiter))
        try:
            await asyncio.wait_for(waiter.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                self._waiters = [w for w in self._waiters if w[1] is not waiter]
