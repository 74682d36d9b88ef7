"""Version discovery and /v3/auth/*: issuing, validating and revoking tokens."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from andromede.common.context import RequestContext
from andromede.common.errors import NotFound, Unauthorized
from andromede.identity import assignment, catalog, json_home, revoke
from andromede.identity.api.common import identity_of, views_of
from andromede.identity.auth import ValidatedToken
from andromede.identity.schemas import AuthRequest
from andromede.identity.throttle import client_key
from andromede.policy import enforce, mark_public
from andromede.servicekit.deps import context

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
def version(request: Request, ctx: RequestContext = Depends(context)) -> Response:
    mark_public(ctx)
    if "application/json-home" in request.headers.get("accept", ""):
        prefix = urlsplit(identity_of(request).url).path.rstrip("/") + "/v3"
        return JSONResponse(json_home.document(prefix), media_type="application/json-home")
    return JSONResponse({"version": _version(request)})


@router.post("/v3/auth/tokens", status_code=201)
async def issue_token(body: AuthRequest, request: Request, ctx: RequestContext = Depends(context)) -> JSONResponse:
    mark_public(ctx)
    authenticator = identity_of(request).authenticator
    receipt = request.headers.get("openstack-auth-receipt")
    include_catalog = "nocatalog" not in request.query_params
    client = client_key(request.client.host) if request.client else ""
    if authenticator.needs_database(body):
        # Checking a secret costs a hash of tens of milliseconds by design (and a write when it fails): never
        # on the event loop, and never more at once than the gate lets through.
        async with identity_of(request).hash_gate.slot():
            token, rendered = await run_in_threadpool(_issue, request, body, receipt, include_catalog, client)
    else:
        token, rendered = _issue(request, body, receipt, include_catalog, client)  # a rescope: cached state only
    # Hot routes answer JSONResponse directly: FastAPI's response-model encoding costs more than the work.
    return JSONResponse({"token": rendered}, status_code=201, headers={"X-Subject-Token": token})


def _issue(request: Request, body: AuthRequest, receipt: str | None, include_catalog: bool,
           client: str) -> tuple[str, dict]:
    identity = identity_of(request)
    if identity.authenticator.needs_database(body):
        with identity.db.session() as session:
            payload = identity.authenticator.authenticate(session, body, receipt, client)
    else:
        payload = identity.authenticator.authenticate(None, body, receipt, client)
    token = identity.codec.encode(payload)
    validated = identity.authenticator.validate(token)
    return token, identity.authenticator.render(validated, include_catalog=include_catalog)


def _subject(request: Request, ctx: RequestContext, rule: str) -> ValidatedToken:
    """The token named by X-Subject-Token, after checking the caller may look at it; 404 if not valid."""
    identity = identity_of(request)
    allow_expired = request.query_params.get("allow_expired", "").lower() in ("1", "true")
    try:
        validated = identity.authenticator.validate(request.headers.get("x-subject-token") or "",
                                                    allow_expired=allow_expired)
    except Unauthorized:
        validated = None
    enforce(ctx, rule, {"user_id": validated.user.id if validated else None})
    if validated is None:
        raise NotFound("The token could not be found.")
    return validated


@router.get("/v3/auth/tokens")
def validate_token(request: Request, response: Response, ctx: RequestContext = Depends(context)) -> dict:
    validated = _subject(request, ctx, "identity:validate_token")
    body = identity_of(request).authenticator.render(validated,
                                                     include_catalog="nocatalog" not in request.query_params)
    response.headers["X-Subject-Token"] = request.headers.get("x-subject-token") or ""
    return {"token": body}


@router.head("/v3/auth/tokens")
def check_token(request: Request, ctx: RequestContext = Depends(context)) -> Response:
    _subject(request, ctx, "identity:check_token")
    return Response(status_code=200)


@router.delete("/v3/auth/tokens", status_code=204)
def revoke_token(request: Request, ctx: RequestContext = Depends(context)) -> Response:
    validated = _subject(request, ctx, "identity:revoke_token")
    payload = validated.payload
    with identity_of(request).db.session() as session:
        if len(payload.audit_ids) == 1:
            # A first token: it and every token rescoped from it (stricter than Keystone, which revokes it alone).
            revoke.revoke(session, audit_chain_id=payload.audit_chain_id)
        else:
            # A rescoped token alone, as Keystone: its parent still rescopes to another project.
            revoke.revoke(session, audit_id=payload.audit_ids[0])
    return Response(status_code=204)


@router.get("/v3/auth/catalog")
async def auth_catalog(request: Request, ctx: RequestContext = Depends(context)) -> JSONResponse:
    enforce(ctx, "identity:get_auth_catalog")
    identity = identity_of(request)
    entries = await identity.cache.amemo(
        ("catalog", ctx.project_id, ctx.user_id),
        lambda s: catalog.render_catalog(s, project_id=ctx.project_id, user_id=ctx.user_id))
    return JSONResponse({"catalog": entries, "links": views_of(request).collection_links("auth/catalog")})


@router.get("/v3/auth/projects")
async def auth_projects(request: Request, ctx: RequestContext = Depends(context)) -> JSONResponse:
    enforce(ctx, "identity:get_auth_projects")
    identity, views = identity_of(request), views_of(request)
    projects = await identity.cache.amemo(
        ("auth_projects", ctx.user_id),
        lambda s: tuple(views.project(p) for p in assignment.projects_for_user(s, ctx.user_id or "") if p.enabled))
    return JSONResponse({"projects": list(projects), "links": views.collection_links("auth/projects")})


@router.get("/v3/auth/domains")
async def auth_domains(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:get_auth_domains")
    identity, views = identity_of(request), views_of(request)
    domains = await identity.cache.amemo(
        ("auth_domains", ctx.user_id),
        lambda s: tuple(views.domain(d) for d in assignment.domains_for_user(s, ctx.user_id or "") if d.enabled))
    return {"domains": list(domains), "links": views.collection_links("auth/domains")}


@router.get("/v3/auth/system")
async def auth_system(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:get_auth_system")
    identity = identity_of(request)
    roles = await identity.cache.amemo(
        ("role_ids", ctx.user_id, "system", "all"),
        lambda s: frozenset(assignment.effective_role_ids(s, ctx.user_id or "", "system", "all")))
    return {"system": [{"all": True}] if roles else [], "links": views_of(request).collection_links("auth/system")}
