"""/v3/domains/{id}/config and /v3/domains/config/default: a stored document, never used to reach LDAP."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from andromede.common.context import RequestContext
from andromede.identity import domain_config
from andromede.identity.api.common import identity_of
from andromede.policy import enforce
from andromede.servicekit.deps import context

router = APIRouter(prefix="/v3/domains")


class ConfigRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    config: dict[str, Any]


# The defaults first: /domains/config/... must not be read as a domain named "config".
@router.get("/config/default")
@router.get("/config/{group}/default")
@router.get("/config/{group}/{option}/default")
def get_default_config(request: Request, group: str | None = None, option: str | None = None,
                       ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:get_domain_config_default")
    return {"config": domain_config.default(group, option)}


@router.put("/{domain_id}/config")
def create_domain_config(domain_id: str, body: ConfigRequest, request: Request,
                         ctx: RequestContext = Depends(context)) -> JSONResponse:
    enforce(ctx, "identity:create_domain_config")
    identity = identity_of(request)
    with identity.db.session() as session:
        config, created = domain_config.create(session, identity.credentials.keyring, domain_id, body.config)
    return JSONResponse({"config": config}, status_code=201 if created else 200)


@router.get("/{domain_id}/config")
@router.get("/{domain_id}/config/{group}")
@router.get("/{domain_id}/config/{group}/{option}")
def get_domain_config(domain_id: str, request: Request, group: str | None = None, option: str | None = None,
                      ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:get_domain_config")
    with identity_of(request).db.session() as session:
        return {"config": domain_config.get(session, domain_id, group, option)}


@router.head("/{domain_id}/config", status_code=200)
@router.head("/{domain_id}/config/{group}", status_code=200)
@router.head("/{domain_id}/config/{group}/{option}", status_code=200)
def check_domain_config(domain_id: str, request: Request, group: str | None = None, option: str | None = None,
                        ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "identity:get_domain_config")
    with identity_of(request).db.session() as session:
        domain_config.get(session, domain_id, group, option)
    return Response(status_code=200)


@router.patch("/{domain_id}/config")
@router.patch("/{domain_id}/config/{group}")
@router.patch("/{domain_id}/config/{group}/{option}")
def update_domain_config(domain_id: str, body: ConfigRequest, request: Request, group: str | None = None,
                         option: str | None = None, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:update_domain_config")
    identity = identity_of(request)
    with identity.db.session() as session:
        return {"config": domain_config.update(session, identity.credentials.keyring, domain_id, body.config,
                                               group, option)}


@router.delete("/{domain_id}/config", status_code=204)
@router.delete("/{domain_id}/config/{group}", status_code=204)
@router.delete("/{domain_id}/config/{group}/{option}", status_code=204)
def delete_domain_config(domain_id: str, request: Request, group: str | None = None, option: str | None = None,
                         ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "identity:delete_domain_config")
    with identity_of(request).db.session() as session:
        domain_config.remove(session, domain_id, group, option)
    return Response(status_code=204)
