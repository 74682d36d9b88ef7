"""Who is calling: built once per request from the token, read by policy and the services."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RequestContext:
    request_id: str
    token_id: str | None = None
    user_id: str | None = None
    user_domain_id: str | None = None
    project_id: str | None = None
    project_domain_id: str | None = None
    domain_id: str | None = None
    system_scope: bool = False
    roles: frozenset[str] = frozenset()
    audit_ids: tuple[str, ...] = ()
    app_cred_id: str | None = None
    # The host a host agent's credential is bound to (compute/host_credentials.py); None for everyone else.
    host: str | None = None
    # Set by policy.enforce(); the policy guard fails a route that never set it.
    policy_checked: bool = False
    extras: dict = field(default_factory=dict)

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles
