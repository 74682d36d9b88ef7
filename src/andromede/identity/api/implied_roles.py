"""/v3/roles/{prior}/implies/{implied} and /v3/role_inferences, in Keystone's shapes."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from andromede.common.context import RequestContext
from andromede.identity import implied
from andromede.identity.api.common import identity_of, views_of
from andromede.identity.models import Role
from andromede.identity.views import Views
from andromede.policy import enforce
from andromede.servicekit.deps import context

router = APIRouter(prefix="/v3")


def _ref(views: Views, role: Role) -> dict:
    return {"id": role.id, "name": role.name, "links": {"self": f"{views.v3}/roles/{role.id}"}}


def _inference(views: Views, prior: Role, implied_role: Role) -> dict:
    return {"role_inference": {"prior_role": _ref(views, prior), "implies": _ref(views, implied_role)},
            "links": {"self": f"{views.v3}/roles/{prior.id}/implies/{implied_role.id}"}}


@router.put("/roles/{prior_role_id}/implies/{implied_role_id}", status_code=201)
def create_implied_role(prior_role_id: str, implied_role_id: str, request: Request,
                        ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:create_implied_role")
    with identity_of(request).db.session() as session:
        prior, implied_role = implied.create(session, prior_role_id, implied_role_id)
        return _inference(views_of(request), prior, implied_role)


@router.get("/roles/{prior_role_id}/implies/{implied_role_id}")
def get_implied_role(prior_role_id: str, implied_role_id: str, request: Request,
                     ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:get_implied_role")
    with identity_of(request).db.session() as session:
        prior, implied_role = implied.get(session, prior_role_id, implied_role_id)
        return _inference(views_of(request), prior, implied_role)


@router.head("/roles/{prior_role_id}/implies/{implied_role_id}", status_code=204)
def check_implied_role(prior_role_id: str, implied_role_id: str, request: Request,
                       ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "identity:check_implied_role")
    with identity_of(request).db.session() as session:
        implied.get(session, prior_role_id, implied_role_id)
    return Response(status_code=204)


@router.delete("/roles/{prior_role_id}/implies/{implied_role_id}", status_code=204)
def delete_implied_role(prior_role_id: str, implied_role_id: str, request: Request,
                        ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "identity:delete_implied_role")
    with identity_of(request).db.session() as session:
        implied.delete(session, prior_role_id, implied_role_id)
    return Response(status_code=204)


@router.get("/roles/{prior_role_id}/implies")
def list_implied_roles(prior_role_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:list_implied_roles")
    views = views_of(request)
    with identity_of(request).db.session() as session:
        prior, implied_roles = implied.implied_by(session, prior_role_id)
        return {"role_inference": {"prior_role": _ref(views, prior),
                                   "implies": [_ref(views, r) for r in implied_roles]},
                "links": {"self": f"{views.v3}/roles/{prior.id}/implies"}}


@router.get("/role_inferences")
def list_role_inference_rules(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:list_role_inference_rules")
    views = views_of(request)
    with identity_of(request).db.session() as session:
        table = implied.rules(session)
        inferences = []
        for prior_id in table:
            prior, implied_roles = implied.implied_by(session, prior_id)
            inferences.append({"prior_role": _ref(views, prior), "implies": [_ref(views, r) for r in implied_roles]})
        return {"role_inferences": inferences, "links": {"self": f"{views.v3}/role_inferences"}}
