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


def project_scoped(ctx: RequestContext, _target: Target) -> bool:
    return ctx.project_id is not None


def domain_scoped_to(key: str) -> Check:
    return lambda ctx, target: ctx.domain_id is not None and ctx.domain_id == target.get(key)


def project_scoped_to(key: str) -> Check:
    return lambda ctx, target: ctx.project_id is not None and ctx.project_id == target.get(key)


def user_is(key: str) -> Check:
    return lambda ctx, target: ctx.user_id is not None and ctx.user_id == target.get(key)


def holds(*names: str) -> Check:
    """Any of these roles (implied roles are already expanded in the token, this also covers hand-made contexts)."""
    wanted = frozenset(names)
    return lambda ctx, _target: bool(wanted & ctx.roles)


# Keystone's personas, each tied to a scope (enforce_scope on): a role counts only on the token's own target.
SYSTEM_ADMIN = all_of(role("admin"), system_scoped)
SYSTEM_READER = all_of(holds("reader", "admin"), system_scoped)
# The cloud operator. `admin` on a project or a domain is not this.
ADMIN = SYSTEM_ADMIN
PROJECT_READER = all_of(holds("reader", "member", "manager", "admin"), project_scoped)
PROJECT_MEMBER = all_of(holds("member", "manager", "admin"), project_scoped)
# Resources that belong to a project: its members (any of its roles above reader) in it, operators anywhere.
READER = any_of(SYSTEM_READER, PROJECT_READER)
MEMBER = any_of(SYSTEM_ADMIN, PROJECT_MEMBER)


def domain_reader(key: str = "domain_id") -> Check:
    return all_of(holds("reader", "manager", "admin"), domain_scoped_to(key))


def domain_manager(key: str = "domain_id") -> Check:
    """Keystone 2024's manager persona: runs the users, groups, projects and grants of its own domain."""
    return all_of(holds("manager", "admin"), domain_scoped_to(key))


ADMIN_OR_READER = any_of(ADMIN, SYSTEM_READER, domain_reader())
