"""Which project a created network resource belongs to: the caller's own, or another one an admin names."""

from __future__ import annotations

from typing import Protocol

from andromede.common.context import RequestContext
from andromede.common.errors import Forbidden


class OwnedBody(Protocol):
    """A create body that may name the project it is for (admins only, when not their own)."""

    @property
    def project_id(self) -> str | None: ...

    @property
    def tenant_id(self) -> str | None: ...


def owner_project(ctx: RequestContext, body: OwnedBody) -> str:
    wanted = body.project_id or body.tenant_id
    if wanted and wanted != ctx.project_id and not ctx.is_admin:
        raise Forbidden("Only administrators may create resources for another project.",
                        extra={"type": "PolicyNotAuthorized"})
    return wanted or ctx.require_project()
