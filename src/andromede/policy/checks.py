"""Building blocks for rules: small predicates over (caller, target), combined with any_of/all_of."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from andromede.common.context import RequestContext

Target = Mapping[str, Any]
Check = Callable[[RequestContext, Target], bool]


def any_of(*checks: Check) -> Check:
    return lambda ctx, target: any(check(ctx, target) for check in checks)


def all_of(*checks: Check) -> Check:
    return lambda ctx, target: all(check(ctx, target) for check in checks)


def role(name: str) -> Check:
    return lambda ctx, _target: name in ctx.roles


def authenticated(ctx: RequestContext, _target: Target) -> bool:
    return ctx.authenticated


def host_agent(ctx: RequestContext, _target: Target) -> bool:
    """A host agent's credential: bound to one host, good for the internal API only."""
    return ctx.host is not None


def system_scoped(ctx: RequestContext, _target: Target) -> bool:
    return ctx.system_scope


def domain_scoped_to(key: str) -> Check:
    return lambda ctx, target: ctx.domain_id is not None and ctx.domain_id == target.get(key)


def project_scoped_to(key: str) -> Check:
    return lambda ctx, target: ctx.project_id is not None and ctx.project_id == target.get(key)


def user_is(key: str) -> Check:
    return lambda ctx, target: ctx.user_id is not None and ctx.user_id == target.get(key)


ADMIN = role("admin")
SYSTEM_READER = all_of(role("reader"), system_scoped)


def domain_reader(key: str = "domain_id") -> Check:
    return all_of(role("reader"), domain_scoped_to(key))


ADMIN_OR_READER = any_of(ADMIN, SYSTEM_READER, domain_reader())
