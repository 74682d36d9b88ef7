"""A generation-keyed cache of identity state, so validating a token costs no database query.

Identity data is read on every request and written rarely. Every transaction that writes an identity
table marks the `identity` topic (db/changes.py), which bumps a generation stored in the database in that
same transaction; anything cached is tagged with the generation it was computed at and ignored once the
generation moves on.

- In this process a write is visible at once: the counter is bumped locally right after the commit.
- Writes by other server processes (multi-host, on PostgreSQL) are noticed when this process re-reads
  the stored counter, at most `check_interval_s` later.

Misses are computed in a fresh transaction opened *after* the generation was read, so a cached value
can never be older than the generation it is filed under.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from andromede.db import changes
from andromede.db.engine import Database
from andromede.identity import models

T = TypeVar("T")
TOPIC = "identity"
# Set in session.info by writes that change nothing a cached value holds (login throttling, TOTP steps),
# so that a stream of bad passwords cannot keep every server's cache cold.
CACHE_NEUTRAL = changes.quiet_key(TOPIC)
# The tables a cached value is computed from: a write to any of them marks the identity topic.
WATCHED = (models.Domain, models.Project, models.User, models.Group, models.GroupMember, models.Role,
           models.ImpliedRole, models.RoleAssignment, models.Region, models.Service, models.Endpoint,
           models.ApplicationCredential, models.Credential, models.LoginThrottle, models.RevocationEvent,
           models.EndpointGroup, models.ProjectEndpoint, models.ProjectEndpointGroup)
# The tables no cached value is computed from (read from the database on each request): a new identity table
# goes in one tuple or the other, which tests/unit/identity/test_cache_watch.py checks.
UNCACHED = (models.DomainConfigOption,)


class IdentityCache:
    def __init__(self, db: Database, *, check_interval_s: float = 1.0, max_entries: int = 20_000) -> None:
        self.db = db
        self.check_interval_s = check_interval_s
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._generation = 0
        self._stored_seen: int | None = None
        self._next_check = 0.0
        self._entries: OrderedDict[Hashable, tuple[int, Any]] = OrderedDict()
        self._topic = db.changes.topic(TOPIC)
        for model in WATCHED:
            db.changes.watch(model, TOPIC)
        self._topic.on_commit(lambda _scope: self.bump())

    # ---- generation ---------------------------------------------------------------------------

    def bump(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def generation(self) -> int:
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + self.check_interval_s
            with self.db.engine.connect() as connection:
                stored = self._topic.generation(connection)
            if stored != self._stored_seen:
                self._stored_seen = stored
                self.bump()
        return self._generation

    # ---- entries ------------------------------------------------------------------------------

    def get(self, key: Hashable, generation: int) -> Any | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != generation:
            return None
        return entry[1]

    def put(self, key: Hashable, generation: int, value: Any) -> None:
        with self._lock:
            if generation != self._generation:
                return  # computed while something changed: do not file it under a newer generation
            self._entries[key] = (generation, value)
            if len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    async def amemo(self, key: Hashable, compute: Callable[[Session], T]) -> T:
        """memo() for async routes: a hit costs nothing, a miss runs in a worker thread."""
        generation = self.generation()
        cached = self.get(key, generation)
        if cached is not None:
            return cached
        return await run_in_threadpool(self.memo, key, compute)

    def memo(self, key: Hashable, compute: Callable[[Session], T]) -> T:
        generation = self.generation()
        cached = self.get(key, generation)
        if cached is not None:
            return cached
        with self.db.session() as session:
            value = compute(session)
        if value is not None:
            self.put(key, generation, value)
        return value
