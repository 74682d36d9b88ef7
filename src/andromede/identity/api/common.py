"""Route helpers shared by the identity routers."""

from __future__ import annotations

from fastapi import Request

from andromede.common.context import RequestContext
from andromede.identity.common import DEFAULT_DOMAIN_ID
from andromede.identity.service import IdentityService
from andromede.identity.views import Views


def identity_of(request: Request) -> IdentityService:
    return request.app.state.identity


def views_of(request: Request) -> Views:
    return Views(identity_of(request).url)


def default_domain(ctx: RequestContext) -> str:
    return ctx.project_domain_id or ctx.domain_id or DEFAULT_DOMAIN_ID
