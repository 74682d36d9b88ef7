"""Application credentials, /v3/credentials and OS-EC2: another user's are 404, never 403."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest, Forbidden, NotFound
from andromede.identity import assignment
from andromede.identity import credentials as creds
from andromede.identity.api.common import identity_of, views_of
from andromede.identity.models import Credential
from andromede.identity.schemas import (
    ApplicationCredentialCreate,
    CredentialCreate,
    CredentialUpdate,
    CredentialView,
    Ec2Create,
    Ec2View,
    Links,
    dump,
)
from andromede.policy import enforce
from andromede.servicekit.deps import context

router = APIRouter(prefix="/v3")


class ApplicationCredentialRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    application_credential: ApplicationCredentialCreate


class CredentialCreateRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    credential: CredentialCreate


class CredentialUpdateRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    credential: CredentialUpdate


def _own_or_404(ctx: RequestContext, user_id: str, what: str) -> None:
    if user_id != ctx.user_id and not ctx.is_admin:
        raise NotFound(f"Could not find {what}.")


def _require_project_role(session: Session, ctx: RequestContext, user_id: str, project_id: str | None) -> None:
    """An EC2 credential acts in its project: nobody may mint one for a project they hold no role on."""
    if project_id is None or ctx.is_admin:
        return
    if not assignment.effective_role_ids(session, user_id, "project", project_id):
        raise Forbidden("The user has no role on that project.")


def _refuse_restricted(ctx: RequestContext) -> None:
    """A restricted application credential must not mint credentials that outlive its restrictions."""
    if ctx.extras.get("app_cred_restricted"):
        raise Forbidden("A restricted application credential cannot create or delete credentials.")


# ---- application credentials -------------------------------------------------------------------

@router.post("/users/{user_id}/application_credentials", status_code=201)
async def create_application_credential(user_id: str, body: ApplicationCredentialRequest, request: Request,
                                        ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:manage_application_credentials", {"user_id": user_id})
    if user_id != ctx.user_id:
        raise NotFound(f"Could not find user: {user_id}.")
    _refuse_restricted(ctx)
    if ctx.project_id is None and not ctx.system_scope:
        raise BadRequest("An application credential needs a project-scoped or system-scoped token.")
    # The secret (client-chosen or generated) is hashed with argon2: bounded like the hashes of logins.
    async with identity_of(request).hash_gate.slot():
        return await run_in_threadpool(_create_application_credential, user_id, body, request, ctx)


def _create_application_credential(user_id: str, body: ApplicationCredentialRequest, request: Request,
                                   ctx: RequestContext) -> dict:
    with identity_of(request).db.session() as session:
        row, secret = creds.create_application_credential(session, user_id=user_id, project_id=ctx.project_id,
                                                          body=body.application_credential,
                                                          system=ctx.system_scope, token_roles=ctx.roles)
        doc = views_of(request).application_credential(row, creds.role_refs(session, row.role_ids))
    return {"application_credential": {**doc, "secret": secret}}


@router.get("/users/{user_id}/application_credentials")
def list_application_credentials(user_id: str, request: Request, name: str | None = None,
                                 ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:manage_application_credentials", {"user_id": user_id})
    _own_or_404(ctx, user_id, f"user: {user_id}")
    views = views_of(request)
    with identity_of(request).db.session() as session:
        rows = creds.list_application_credentials(session, user_id, name)
        docs = [views.application_credential(r, creds.role_refs(session, r.role_ids)) for r in rows]
    return {"application_credentials": docs,
            "links": views.collection_links(f"users/{user_id}/application_credentials")}


@router.get("/users/{user_id}/application_credentials/{credential_id}")
def get_application_credential(user_id: str, credential_id: str, request: Request,
                               ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:manage_application_credentials", {"user_id": user_id})
    _own_or_404(ctx, user_id, f"Application Credential: {credential_id}")
    with identity_of(request).db.session() as session:
        row = creds.get_application_credential(session, user_id, credential_id)
        doc = views_of(request).application_credential(row, creds.role_refs(session, row.role_ids))
    return {"application_credential": doc}


@router.delete("/users/{user_id}/application_credentials/{credential_id}", status_code=204)
def delete_application_credential(user_id: str, credential_id: str, request: Request,
                                  ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "identity:manage_application_credentials", {"user_id": user_id})
    _own_or_404(ctx, user_id, f"Application Credential: {credential_id}")
    _refuse_restricted(ctx)
    with identity_of(request).db.session() as session:
        creds.delete_application_credential(session, user_id, credential_id)
    return Response(status_code=204)


# ---- /v3/credentials ---------------------------------------------------------------------------

# Credential types whose blob is a secret shown once, when it is created: a TOTP seed read back later (by
# an admin listing every user's credentials, say) would be a second factor copied.
_WRITE_ONLY_TYPES = frozenset({"totp"})


def _credential_doc(request: Request, row: Credential, *, created: bool = False) -> dict:
    hidden = row.type in _WRITE_ONLY_TYPES and not created
    blob = "" if hidden else identity_of(request).credentials.open(row)
    doc = dump(CredentialView(id=row.id, type=row.type, user_id=row.user_id, project_id=row.project_id,
                              blob=blob, links=Links(self=f"{identity_of(request).url}/v3/credentials/{row.id}")))
    if hidden:
        del doc["blob"]
    return doc


def _visible_credential(session: Session, ctx: RequestContext, credential_id: str) -> Credential:
    row = session.get(Credential, credential_id)
    if row is None or (row.user_id != ctx.user_id and not ctx.is_admin):
        raise NotFound(f"Could not find credential: {credential_id}.")
    return row


@router.post("/credentials", status_code=201)
def create_credential(body: CredentialCreateRequest, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:manage_credentials", {"user_id": body.credential.user_id})
    _own_or_404(ctx, body.credential.user_id, f"user: {body.credential.user_id}")
    _refuse_restricted(ctx)
    identity = identity_of(request)
    with identity.db.session() as session:
        _require_project_role(session, ctx, body.credential.user_id, body.credential.project_id)
        row = identity.credentials.create(session, body.credential)
        return {"credential": _credential_doc(request, row, created=True)}


@router.get("/credentials")
def list_credentials(request: Request, user_id: str | None = None, type: str | None = None,
                     ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:manage_credentials")
    if not ctx.is_admin:
        if user_id is not None and user_id != ctx.user_id:
            return {"credentials": [], "links": views_of(request).collection_links("credentials")}
        user_id = ctx.user_id
    with identity_of(request).db.session() as session:
        rows = creds.list_credentials(session, user_id=user_id, type=type)
        docs = [_credential_doc(request, r) for r in rows]
    return {"credentials": docs, "links": views_of(request).collection_links("credentials")}


@router.get("/credentials/{credential_id}")
def get_credential(credential_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:manage_credentials")
    with identity_of(request).db.session() as session:
        return {"credential": _credential_doc(request, _visible_credential(session, ctx, credential_id))}


@router.patch("/credentials/{credential_id}")
def update_credential(credential_id: str, body: CredentialUpdateRequest, request: Request,
                      ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:manage_credentials")
    _refuse_restricted(ctx)
    identity = identity_of(request)
    with identity.db.session() as session:
        row = identity.credentials.update(session, _visible_credential(session, ctx, credential_id),
                                          body.credential)
        return {"credential": _credential_doc(request, row)}


@router.delete("/credentials/{credential_id}", status_code=204)
def delete_credential(credential_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "identity:manage_credentials")
    _refuse_restricted(ctx)
    with identity_of(request).db.session() as session:
        session.delete(_visible_credential(session, ctx, credential_id))
    return Response(status_code=204)


# ---- OS-EC2 ------------------------------------------------------------------------------------

def _ec2_doc(request: Request, user_id: str, row: Credential) -> dict:
    blob = json.loads(identity_of(request).credentials.open(row) or "{}")
    link = f"{identity_of(request).url}/v3/users/{user_id}/credentials/OS-EC2/{blob.get('access', '')}"
    return dump(Ec2View(access=blob.get("access", ""), secret=blob.get("secret", ""), user_id=row.user_id,
                        tenant_id=row.project_id, trust_id=blob.get("trust_id"), links=Links(self=link)))


@router.post("/users/{user_id}/credentials/OS-EC2", status_code=201)
def create_ec2(user_id: str, body: Ec2Create, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:manage_ec2_credentials", {"user_id": user_id})
    _own_or_404(ctx, user_id, f"user: {user_id}")
    _refuse_restricted(ctx)
    identity = identity_of(request)
    with identity.db.session() as session:
        _require_project_role(session, ctx, user_id, body.tenant_id)
        row, _ = identity.credentials.create_ec2(session, user_id, body.tenant_id)
        return {"credential": _ec2_doc(request, user_id, row)}


@router.get("/users/{user_id}/credentials/OS-EC2")
def list_ec2(user_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:manage_ec2_credentials", {"user_id": user_id})
    _own_or_404(ctx, user_id, f"user: {user_id}")
    with identity_of(request).db.session() as session:
        rows = creds.list_credentials(session, user_id=user_id, type="ec2")
        docs = [_ec2_doc(request, user_id, r) for r in rows]
    return {"credentials": docs, "links": views_of(request).collection_links(f"users/{user_id}/credentials/OS-EC2")}


def _ec2_row(request: Request, session: Session, ctx: RequestContext, user_id: str, access: str) -> Credential:
    row = creds.find_ec2(identity_of(request).credentials, session, access, user_id)
    if row is None or row.type != "ec2" or row.user_id != user_id or (user_id != ctx.user_id and not ctx.is_admin):
        raise NotFound(f"Could not find credential: {access}.")
    return row


@router.get("/users/{user_id}/credentials/OS-EC2/{access}")
def get_ec2(user_id: str, access: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "identity:manage_ec2_credentials", {"user_id": user_id})
    with identity_of(request).db.session() as session:
        return {"credential": _ec2_doc(request, user_id, _ec2_row(request, session, ctx, user_id, access))}


@router.delete("/users/{user_id}/credentials/OS-EC2/{access}", status_code=204)
def delete_ec2(user_id: str, access: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "identity:manage_ec2_credentials", {"user_id": user_id})
    _refuse_restricted(ctx)
    with identity_of(request).db.session() as session:
        session.delete(_ec2_row(request, session, ctx, user_id, access))
    return Response(status_code=204)
