"""Login throttling per (account, client address), and the bound on concurrent password hashes.

Throttling: once one client address has failed `free_failures` times for one account, its next attempts for
that account are refused (429, Retry-After) until a delay has passed; the delay doubles with each further
failure, up to a cap. The owner, from any other address, is not affected, so nobody can lock anyone out.
The state lives in the database (identity_login_throttle), not in the API process: with several API copies
behind one load balancer every copy sees the same failures, so spreading attempts over copies gains nothing.
It costs a primary-key read per login and a write per failure, next to an argon2 hash of ~20 ms.

The bound on concurrent logins is per process, in memory, on purpose: it protects this process's CPU and
worker threads.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from andromede.common.config import Settings
from andromede.common.errors import TooManyRequests
from andromede.db.engine import Database
from andromede.identity.cache import CACHE_NEUTRAL
from andromede.identity.models import LoginThrottle as ThrottleRow

_ROW = ThrottleRow.__table__


@dataclass(frozen=True)
class ThrottlePolicy:
    free_failures: int
    delay_s: float
    max_delay_s: float
    reset_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> ThrottlePolicy:
        return cls(free_failures=max(1, settings.login_throttle_free_failures),
                   delay_s=max(0.0, settings.login_throttle_delay_s),
                   max_delay_s=max(0.0, settings.login_throttle_max_delay_s),
                   reset_s=max(1.0, settings.login_throttle_reset_s))

    def delay_after(self, failures: int) -> float:
        """How long an address must wait after its `failures`-th recent failure for one account."""
        if failures < self.free_failures:
            return 0.0
        doublings = min(failures - self.free_failures, 62)
        return min(self.max_delay_s, self.delay_s * 2**doublings)


def account_key(*parts: str | None) -> str:
    """A digest of what the client named: user ids, and unknown names, are never stored in clear."""
    return hashlib.sha256("\x1f".join(part or "" for part in parts).encode()).hexdigest()


def client_key(address: str) -> str:
    """An IPv4 address as it is; IPv6 by /64, since one host usually holds a whole /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass(frozen=True)
class ThrottleState:
    has_failures: bool
    retry_after_s: float


class LoginThrottle:
    def __init__(self, db: Database, policy: ThrottlePolicy) -> None:
        self.db = db
        self.policy = policy

    def state(self, session: Session, key: str, client: str, now: datetime) -> ThrottleState:
        row = session.get(ThrottleRow, (key, client))
        if row is None:
            return ThrottleState(False, 0.0)
        wait = (row.blocked_until - now).total_seconds() if row.blocked_until is not None else 0.0
        return ThrottleState(True, max(0.0, wait))

    def check(self, session: Session, key: str, client: str, now: datetime) -> ThrottleState:
        """The state, or TooManyRequests while this address must wait before trying this account again."""
        state = self.state(session, key, client, now)
        if state.retry_after_s > 0:
            raise TooManyRequests("Too many failed authentication attempts from this address; "
                                  "try again later.", retry_after_s=int(state.retry_after_s + 0.999))
        return state

    def record_failure(self, key: str, client: str, now: datetime) -> float:
        """Count one failure in its own transaction (the request's rolls back); return the delay it imposes."""
        forget_before = now - timedelta(seconds=self.policy.reset_s)
        with self.db.session() as session:
            session.info[CACHE_NEUTRAL] = True
            dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
            upsert = dialect.insert(_ROW).values(account_key=key, client=client, failures=1, blocked_until=None,
                                                 last_failure_at=now)
            upsert = upsert.on_conflict_do_update(
                index_elements=[_ROW.c.account_key, _ROW.c.client],
                set_={"failures": case((_ROW.c.last_failure_at < forget_before, 1), else_=_ROW.c.failures + 1),
                      "last_failure_at": now},
            ).returning(_ROW.c.failures)
            failures = session.execute(upsert).scalar_one()
            delay = self.policy.delay_after(failures)
            blocked_until = now + timedelta(seconds=delay) if delay else None
            session.execute(update(_ROW).where(_ROW.c.account_key == key, _ROW.c.client == client)
                            .values(blocked_until=blocked_until))
            # Rows nobody failed with for longer than any delay or memory are of no use: keep the table small.
            stale = now - timedelta(seconds=max(self.policy.reset_s, self.policy.max_delay_s))
            session.execute(delete(_ROW).where(_ROW.c.last_failure_at < stale))
        return delay

    def forget(self, key: str, client: str) -> None:
        """A success from this address clears its failures for this account."""
        with self.db.session() as session:
            session.info[CACHE_NEUTRAL] = True
            session.execute(delete(_ROW).where(_ROW.c.account_key == key, _ROW.c.client == client))


class HashGate:
    """At most `slots` logins checking a secret at once in this process, `queue` more waiting; the rest get 429.

    Without it a flood of logins (unknown users cost an argon2 hash too) piles up in the worker threads every
    other route needs, and each request waits for all the hashes queued before it.
    """

    def __init__(self, slots: int, queue: int) -> None:
        self.capacity = slots + max(0, queue)
        self._slots = asyncio.Semaphore(slots)
        self._admitted = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._admitted >= self.capacity:
            raise TooManyRequests("The server is busy verifying other logins; try again shortly.", retry_after_s=1)
        self._admitted += 1
        try:
            async with self._slots:
                yield
        finally:
            self._admitted -= 1
