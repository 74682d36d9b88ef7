"""Version discovery and /v3/auth/*: issuing, validating and revoking tokens."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from andromede.api.deps import context
from andromede.common.context import RequestContext
from andromede.common.errors import NotFound, Unauthorized
from andromede.identity import assignment, catalog, revoke
from andromede.identity.api.common import identity_of, views_of
from andromede.identity.schemas import AuthRequest
from andromede.policy import enforce, mark_public

router = APIRouter()

MEDIA_TYPES = [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]


def _version(request: Request) -> dict:
    return {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": identity_of(request).url + "/v3/"}], "media-types": MEDIA_TYPES}


@router.get("/")
def versions(request: Request, ctx: RequestContext = Depends(context)) -> JSONResponse:
    mark_public(ctx)
    return JSONResponse({"versions": {"values": [_version(request)]}}, status_code=300,
                        headers={"Location": identity_of(request).url + "/v3/"})


@router.get("/v3")
@router.get("/v3/")
def version(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    mark_public(ctx)
    return {"version": _version(request)}


@router.post("/v3/auth/tokens", status_code=201)
def issue_token(body: AuthRequest, request: Request, response: Response,
                ctx: RequestContext = Depends(context)) -> dict:
    mark_public(ctx)
    identity = identity_of(request)
    receipt = request.headers.get("openstack-auth-receipt")
    with identity.db.session() as session:
        payload = identity.authenticator.authenticate(session, body, receipt)
        token = identity.codec.encode(payload)
        validated = identity.authenticator.validate(session, token)
        rendered = identity.authenticator.render(session, validated,
                                                 include_catalog="nocatalog" not in request.query_params)
    response.headers["X-Subject-Token"] = token
    return {"token": rendered}


@router.get("/v3/auth/tokens")
def validate_token(request: Request, response: Response, ctx: RequestContext = Depends(context)) -> dict:
    identity = identity_of(request)
    subject = request.headers.get("x-subject-token") or ""
    allow_expired = request.query_params.get("allow_expired", "").lower() in ("1", "true")
    with identity.db.session() as session:
        validated = _validated_or_none(identity, session, subject, allow_expired)
        enforce(ctx, "identity:validate_token", {"user_id": validated.user.id if validated else None})
        if validated is None:
            raise NotFound("The token could not be found.")
        body = identity.authenticator.render(session, validated,
                                             include_catalog="nocatalog" not in request.query_params)
    response.headers["X-Subject-Token"] = subject
    return {"token": body}


@router.head("/v3/auth/tokens")
def check_token(request: Request, ctx: RequestContext = Depends(context)) -> Response:
    identity = identity_of(request)
    with identity.db.session() as session:
        validated = _validated_or_none(identity, session, request.headers.get("x-subject-token") or "", False)
        enforce(ctx, "identity:check_token", {"user_id": validated.user.id if validated else None})
        if validated is None:
            raise NotFound("The token could not be found.")
    return Response(status_code=200)


@router.delete("/v3/auth/tokens", status_code=204)
def revoke_token(request: Request, ctx: RequestContext = Depends(context)) -> Response:
    identity = identity_of(request)
    with identity.db.session() as session:
        validated = _validated_or_none(identity, session, request.headers.get("x-subject-token") or "", False)
        enforce(ctx, "identity:revoke_token", {"user_id": validated.user.id if validated else None})
        if validated is None:
            raise NotFound("The token could not be found.")
        revoke.revoke(session, audit_chain_id=validated.payload.audit_chain_id)
    return Response(status_code=204)


def _validated_or_none(identity, session, subject: str, allow_expired: bool):  # type: ignore[no-untyped-def]
    try:
        return identity.authenticator.validate(session, subject, allow_expired=allow_expired)
    except Unauthorized:
        return None


@router.get("/v3/auth/catalog")
def auth_catalog(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:get_auth_catalog")
    identity = identity_of(request)
    with identity.db.session() as session:
        entries = catalog.render_catalog(session, project_id=ctx.project_id, user_id=ctx.user_id)
    return {"catalog": entries, "links": {"self": identity.url + "/v3/auth/catalog", "previous": None,
                                          "next": None}}


@router.get("/v3/auth/projects")
def auth_projects(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:get_auth_projects")
    identity, views = identity_of(request), views_of(request)
    with identity.db.session() as session:
        projects = [p for p in assignment.projects_for_user(session, ctx.user_id or "") if p.enabled]
        return {"projects": [views.project(p) for p in projects],
                "links": views.collection_links("auth/projects")}


@router.get("/v3/auth/domains")
def auth_domains(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:get_auth_domains")
    identity, views = identity_of(request), views_of(request)
    with identity.db.session() as session:
        domains = [d for d in assignment.domains_for_user(session, ctx.user_id or "") if d.enabled]
        return {"domains": [views.domain(d) for d in domains], "links": views.collection_links("auth/domains")}


@router.get("/v3/auth/system")
def auth_system(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:get_auth_system")
    identity = identity_of(request)
    with identity.db.session() as session:
        has = bool(assignment.effective_role_ids(session, ctx.user_id or "", "system", "all"))
    return {"system": [{"all": True}] if has else [], "links": views_of(request).collection_links("auth/system")}
