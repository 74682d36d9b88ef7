"""Who is calling: built once per request from the token, read by policy and the services."""

from __future__ import annotations

from dataclasses import dataclass, field

from andromede.common.errors import BadRequest


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
    # The host a host agent's credential is bound to (hosts/credentials.py); None for everyone else.
    host: str | None = None
    # Set by policy.enforce(); the policy guard fails a route that never set it.
    policy_checked: bool = False
    extras: dict = field(default_factory=dict)

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def is_admin(self) -> bool:
        """A cloud operator: `admin` on the system, through a system-scoped token.

        `admin` on a project is that project's administrator only, as with Keystone's enforce_scope: it sees
        and does what a member of that project does, nothing in any other project.
        """
        return self.system_scope and "admin" in self.roles

    def require_project(self) -> str:
        """The caller's project, for a resource it creates; a system-scoped caller must name one instead."""
        if self.project_id is None:
            raise BadRequest("A system-scoped token has no project: name the project that will own the resource "
                             "(project_id).")
        return self.project_id

    @property
    def is_system_reader(self) -> bool:
        """Reads across the whole cloud (system `reader`, implied by system `admin`)."""
        return self.system_scope and bool({"reader", "admin"} & self.roles)
