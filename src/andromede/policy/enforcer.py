"""enforce() is called by every route before it touches a service; the guard checks that it was."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from andromede.common.context import RequestContext
from andromede.common.errors import Forbidden, Unauthorized
from andromede.policy.checks import Check


@dataclass(frozen=True)
class Rule:
    name: str
    check: Check
    description: str
    operations: tuple[tuple[str, str], ...]  # (method, path)


_RULES: dict[str, Rule] = {}


def rule_maker(prefix: str, base_path: str) -> Callable[..., Rule]:
    """A Rule factory for one service: rule names get `prefix:`, operation paths get `base_path`."""

    def make(name: str, check: Check, description: str, *operations: tuple[str, str]) -> Rule:
        return Rule(f"{prefix}:{name}", check, description, tuple((m, base_path + p) for m, p in operations))

    return make


def register(*rules: Rule) -> None:
    for rule in rules:
        if rule.name in _RULES:
            raise ValueError(f"policy rule {rule.name} registered twice")
        _RULES[rule.name] = rule


def rule_names() -> list[str]:
    return sorted(_RULES)


def enforce(ctx: RequestContext, rule_name: str, target: Mapping[str, Any] | None = None) -> None:
    """Raise 401 for anonymous callers and 403 for callers the rule refuses."""
    rule = _RULES[rule_name]  # a typo is a programming error, and tests catch it
    ctx.policy_checked = True
    if not ctx.authenticated:
        raise Unauthorized()
    if ctx.host is not None and not rule_name.startswith("internal:"):
        # A host agent's credential acts on the internal API only, whatever roles it holds.
        raise Forbidden(f"You are not authorized to perform the requested action: {rule_name}.")
    if not rule.check(ctx, target or {}):
        raise Forbidden(f"You are not authorized to perform the requested action: {rule_name}.")


def mark_public(ctx: RequestContext) -> None:
    """For the few routes that are open by design: version discovery and token issue."""
    ctx.policy_checked = True
