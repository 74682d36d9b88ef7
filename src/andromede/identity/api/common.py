"""Route helpers shared by the identity routers."""

from __future__ import annotations

from typing import Protocol, TypeVar

from fastapi import Request
from sqlalchemy.orm import Session

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


def listing_domain(ctx: RequestContext, domain_id: str | None) -> str | None:
    """A domain-scoped caller lists within its own domain unless it names one (Keystone filters likewise)."""
    return domain_id if domain_id is not None else ctx.domain_id


class _HasDomain(Protocol):
    @property
    def domain_id(self) -> str | None: ...


_InDomain = TypeVar("_InDomain", bound=_HasDomain)


def domain_of(session: Session, model: type[_InDomain], ident: str) -> str | None:
    """The domain a user, group or project lives in, for the policy target (None when it does not exist)."""
    row = session.get(model, ident)
    return row.domain_id if row is not None else None
