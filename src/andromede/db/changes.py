"""Change propagation: a write marks who must see it, and whoever waits for it wakes.

A *topic* is one kind of state someone waits for: a host's network document, a host's instances, identity's cache.
A transaction marks a topic, for a set of hosts or for every host (`mark`). At commit, in that same transaction,
the topic's generation rows are bumped, so every API process and every agent sees the change; after the commit,
waiters in this process wake at once; a rollback forgets the mark. Waiters also re-read the stored generation every
`poll_s`, which is how changes committed by another API process reach them.

Marks are explicit. A service may also declare, model by model, which hosts a write to that model concerns
(`Changes.watch`): the ORM then marks before each flush, for the objects written. A service whose scopes need
queries can note what was written at each flush and work out the hosts once, at commit (`Changes.resolve`).

Stored generations: per topic, one row counts every mark (`#seq`), one holds the last mark that concerned every
host (`*`), one per host the last mark that concerned it. A host's generation is the larger of its row and `*`:
monotonic per host, and never below a value an agent saw before (every value comes from the one counter).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

import anyio.to_thread
from sqlalchemy import BigInteger, Connection, Executable, String, bindparam, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column, sessionmaker

from andromede.db.base import Base

T = TypeVar("T")
EVERY_HOST = None
FIRST = 1  # the generation of a topic or host nothing has marked yet
Scope = frozenset[str] | None  # None: every host
ScopeOf = Callable[[Session, object], Iterable[str] | None]  # which hosts a written object concerns; None: all

_PENDING = "andromede.changes"
_NOTES = "andromede.changes.notes"
_STORED_BY_THEIR_SERVICE: set[str] = set()
_SEQ = "#seq"
_ALL = "*"


class ChangeGeneration(Base):
    """The stored generations of each topic (see the module docstring for the rows)."""

    __tablename__ = "change_generations"
    topic: Mapped[str] = mapped_column(String(32), primary_key=True)
    scope: Mapped[str] = mapped_column(String(300), primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger, default=0)


def _host_scope(host: str) -> str:
    return "host:" + host


def stored_by_its_service(topic: str) -> None:
    """TOPIC's generations live in its service's own rows, written in the marking transaction (compute: each
    host's desired generation, which the changed instance records): marks only wake its waiters."""
    _STORED_BY_THEIR_SERVICE.add(topic)


def quiet_key(topic: str) -> str:
    """Set in session.info to say this transaction's writes change nothing the topic's waiters hold (login
    throttling, for identity's cache): the ORM does not mark the topic for them; explicit marks still count."""
    return f"andromede.changes.quiet.{topic}"


def mark(session: Session, topic: str, hosts: Iterable[str] | None = EVERY_HOST) -> None:
    """This transaction changes what `hosts` (None: every host) see of `topic`: bumped at commit, forgotten on
    rollback."""
    pending: dict[str, Scope] = session.info.setdefault(_PENDING, {})
    if topic in pending and pending[topic] is None:
        return
    if hosts is None:
        pending[topic] = None
    else:
        pending[topic] = frozenset(pending.get(topic) or ()) | frozenset(h for h in hosts if h)


def notes(session: Session, key: str, factory: Callable[[], T]) -> T:
    """What a service notes of this transaction's writes for its resolver; forgotten at commit and at rollback."""
    kept: dict[str, T] = session.info.setdefault(_NOTES, {})
    if key not in kept:
        kept[key] = factory()
    return kept[key]


def noted(session: Session, key: str) -> object | None:
    """The notes kept under KEY in this transaction, if any."""
    return session.info.get(_NOTES, {}).get(key)


def pending(session: Session) -> dict[str, Scope]:
    """The marks this transaction will publish at commit."""
    return dict(session.info.get(_PENDING, {}))


class Waiters:
    """Wake-ups by key, notified from any thread, awaited on any event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[Hashable, list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

    def subscribe(self, key: Hashable) -> asyncio.Event:
        """Register before reading the state, so that a change committed in between is not missed."""
        woken = asyncio.Event()
        with self._lock:
            self._waiting.setdefault(key, []).append((asyncio.get_running_loop(), woken))
        return woken

    def unsubscribe(self, key: Hashable, woken: asyncio.Event) -> None:
        with self._lock:
            left = [w for w in self._waiting.get(key, []) if w[1] is not woken]
            if left:
                self._waiting[key] = left
            else:
                self._waiting.pop(key, None)

    def notify(self, keys: Iterable[Hashable] | None) -> int:
        """Wake the waiters of these keys (None: every waiter); returns how many were woken."""
        with self._lock:
            if keys is None:
                woken = [w for waiting in self._waiting.values() for w in waiting]
                self._waiting.clear()
            else:
                woken = [w for key in set(keys) for w in self._waiting.pop(key, [])]
        for loop, event_ in woken:
            loop.call_soon_threadsafe(event_.set)
        return len(woken)

    async def wait(self, key: Hashable, timeout: float) -> bool:
        """Whether a notification came before the timeout."""
        woken = self.subscribe(key)
        try:
            return await _wait(woken, timeout)
        finally:
            self.unsubscribe(key, woken)


async def _wait(woken: asyncio.Event, timeout: float) -> bool:
    try:
        await asyncio.wait_for(woken.wait(), max(0.0, timeout))
    except TimeoutError:
        return False
    return True


@dataclass
class Topic:
    name: str
    waiters: Waiters = field(default_factory=Waiters)
    listeners: list[Callable[[Scope], None]] = field(default_factory=list)

    def on_commit(self, listener: Callable[[Scope], None]) -> None:
        """Call `listener(scope)` after each commit that marked this topic, in the committing thread."""
        self.listeners.append(listener)

    def generation(self, connection: Connection | Session, host: str | None = None) -> int:
        """The stored generation: HOST's, or without a host the topic's latest. Never below FIRST: 0 is what an
        agent that has seen nothing asks with, and it must get a document."""
        table = ChangeGeneration.__table__
        scopes = [_SEQ] if host is None else [_ALL, _host_scope(host)]
        query = select(func.max(table.c.generation)).where(table.c.topic == self.name, table.c.scope.in_(scopes))
        return max(FIRST, int(connection.execute(query).scalar() or 0))

    async def long_poll(self, host: str, read: Callable[[], T | None], wait_s: float, poll_s: float = 0.5) -> T | None:
        """Call `read` (in a worker thread) until it finds something or `wait_s` passes; between reads, sleep until
        HOST is marked in this process or `poll_s` passes (other processes' marks are seen by the next read)."""
        deadline = time.monotonic() + max(0.0, wait_s)
        while True:
            woken = self.waiters.subscribe(host)
            try:
                found = await anyio.to_thread.run_sync(read)
                remaining = deadline - time.monotonic()
                if found is not None or remaining <= 0:
                    return found
                await _wait(woken, min(remaining, poll_s))
            finally:
                self.waiters.unsubscribe(host, woken)


class Changes:
    """The topics of one database, and the session hooks that publish their marks."""

    def __init__(self, sessions: sessionmaker) -> None:
        self._topics: dict[str, Topic] = {}
        self._watched: dict[type, list[tuple[str, ScopeOf | None]]] = {}
        self._resolvers: dict[str, Callable[[Session], None]] = {}
        self._install(sessions)

    def topic(self, name: str) -> Topic:
        if name not in self._topics:
            self._topics[name] = Topic(name)
        return self._topics[name]

    def watch(self, model: type, topic: str, scope_of: ScopeOf | None = None) -> None:
        """Writes to MODEL mark TOPIC for the hosts `scope_of(session, obj)` names (None or no function: all).

        Bulk UPDATE/DELETE/INSERT statements on a watched model mark every host: the rows are unknown."""
        entries = self._watched.setdefault(model, [])
        entries[:] = [e for e in entries if e[0] != topic] + [(topic, scope_of)]

    def resolve(self, topic: str, resolver: Callable[[Session], None]) -> None:
        """Call `resolver(session)` at each commit, after the last flush and before the marks are stored: it may
        read the database and `mark()` what the transaction's writes concern (see `notes`)."""
        self._resolvers[topic] = resolver

    # ---- the hooks ---------------------------------------------------------------------------------

    def _mark_flushed(self, session: Session) -> None:
        for obj in (*session.new, *session.dirty, *session.deleted):
            for topic, scope_of in self._watched.get(type(obj), ()):
                if session.info.get(quiet_key(topic)):
                    continue
                with session.no_autoflush:
                    hosts = scope_of(session, obj) if scope_of is not None else EVERY_HOST
                mark(session, topic, hosts)

    def _mark_bulk(self, session: Session, mappers: Iterable[object]) -> None:
        for mapper in mappers:
            for topic, _scope_of in self._watched.get(getattr(mapper, "class_", None), ()):  # type: ignore[arg-type]
                if not session.info.get(quiet_key(topic)):
                    mark(session, topic, EVERY_HOST)

    def _persist(self, session: Session) -> None:
        for name, scope in sorted(pending(session).items()):  # one lock order for every transaction
            if name not in _STORED_BY_THEIR_SERVICE and (scope is None or scope):
                _bump(session, name, scope)

    def _publish(self, marks: dict[str, Scope]) -> None:
        for name, scope in marks.items():
            topic = self.topic(name)
            topic.waiters.notify(scope)
            for listener in topic.listeners:
                listener(scope)

    def _install(self, sessions: sessionmaker) -> None:
        # Before the flush: a scope function reads what the database holds before the write (the hosts that carried
        # the old state) and the object's old and new values (the hosts that carry the new one).
        @event.listens_for(sessions, "before_flush")
        def marked_by_flush(session: Session, _context: object, _instances: object) -> None:
            if self._watched:
                self._mark_flushed(session)

        @event.listens_for(sessions, "do_orm_execute")
        def marked_by_statement(state) -> None:  # type: ignore[no-untyped-def]
            if self._watched and (state.is_update or state.is_delete or state.is_insert):
                self._mark_bulk(state.session, state.all_mappers)

        # SQLAlchemy also fires the commit events when a savepoint is released: marks are stored and published at
        # the outermost commit only, or waiters would wake (and caches move on) before the data is visible.
        @event.listens_for(sessions, "before_commit")
        def persist(session: Session) -> None:
            if session.in_nested_transaction():
                return
            if session.new or session.dirty or session.deleted:
                session.flush()
            for resolver in self._resolvers.values():
                with session.no_autoflush:
                    resolver(session)
            self._persist(session)

        @event.listens_for(sessions, "after_commit")
        def publish(session: Session) -> None:
            if session.in_nested_transaction():
                return
            session.info.pop(_NOTES, None)
            marks = session.info.pop(_PENDING, None)
            if marks:
                self._publish(marks)

        # Only the whole transaction's rollback: a savepoint's (begin_nested) must not drop the marks the rest of
        # the transaction made (those inside it stay too: a wake-up too many costs a rebuild, one too few is a bug).
        @event.listens_for(sessions, "after_soft_rollback")
        def forget(session: Session, previous: SessionTransaction) -> None:
            if previous.parent is None:
                session.info.pop(_PENDING, None)
                session.info.pop(_NOTES, None)


def _statements(dialect_name: str) -> tuple[Executable, Executable]:
    """Built once per dialect (a commit runs them on every marked write): count a mark, then record it."""
    table = ChangeGeneration.__table__
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    count = dialect.insert(table).values(topic=bindparam("topic"), scope=_SEQ, generation=FIRST + 1)
    count = count.on_conflict_do_update(index_elements=[table.c.topic, table.c.scope],
                                        set_={"generation": table.c.generation + 1}).returning(table.c.generation)
    record = dialect.insert(table).values(topic=bindparam("topic"), scope=bindparam("scope"),
                                          generation=bindparam("generation"))
    record = record.on_conflict_do_update(index_elements=[table.c.topic, table.c.scope],
                                          set_={"generation": record.excluded.generation})
    return count, record


_BY_DIALECT = {name: _statements(name) for name in ("sqlite", "postgresql")}


def _bump(session: Session, topic: str, scope: Scope) -> None:
    count, record = _BY_DIALECT["postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"]
    generation = session.execute(count, {"topic": topic}).scalar_one()
    scopes = [_ALL] if scope is None else [_host_scope(h) for h in sorted(scope)]
    session.execute(record, [{"topic": topic, "scope": s, "generation": generation} for s in scopes])
