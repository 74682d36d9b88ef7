"""RBAC as code: each rule has a name, a check, a description and the operations it guards."""

from andromede.policy.enforcer import enforce, mark_public, rule_names

__all__ = ["enforce", "mark_public", "rule_names"]
