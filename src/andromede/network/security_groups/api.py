"""Routes, included by andromede.network.api.build_network_app: security groups, their rules, network quotas."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from andromede.common.clock import isotime
from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest
from andromede.db.engine import Database
from andromede.network import quotas, views
from andromede.network.schemas import dump
from andromede.network.security_groups import service
from andromede.network.security_groups.models import SecurityGroup, SecurityGroupRule
from andromede.network.security_groups.schemas import (
    ProjectQuotaView,
    QuotaDetailsView,
    QuotaUpdateRequest,
    QuotaView,
    SecurityGroupCreateRequest,
    SecurityGroupRuleCreateRequest,
    SecurityGroupRuleUpdateRequest,
    SecurityGroupRuleView,
    SecurityGroupUpdateRequest,
    SecurityGroupView,
)
from andromede.policy import enforce
from andromede.servicekit.deps import context

router = APIRouter()
# (alias, name, description) entries appended to /v2.0/extensions, and collections listed at /v2.0/.
EXTENSIONS: tuple[tuple[str, str, str], ...] = (
    ("security-group", "security-group", "The security groups extension."),
    ("stateful-security-group", "Stateful security group", "Indicates if the security group is stateful or not."),
    ("quotas", "Quota management support", "Expose functions for quotas management per project"),
    ("quota_details", "Quota details management support",
     "Expose functions for quotas usage statistics per project"),
)
RESOURCES: tuple[str, ...] = ("security-group", "security-group-rule", "quota")

NET = "/v2.0"


def _db(request: Request) -> Database:
    return request.app.state.db


def _base(request: Request) -> str:
    return request.app.state.settings.base_url + "/network/v2.0"


def _params(request: Request) -> list[tuple[str, str]]:
    return list(request.query_params.multi_items())


def _project_filter(request: Request) -> list[str]:
    return request.query_params.getlist("project_id") or request.query_params.getlist("tenant_id")


def _fields(request: Request, doc: dict) -> dict:
    fields = request.query_params.getlist("fields")
    return {k: v for k, v in doc.items() if k in fields} if fields else doc


# ---- documents ----------------------------------------------------------------------------------

def _rule_fields(rule: SecurityGroupRule, defaults: set[str]) -> dict[str, Any]:
    prefix = service.convert_prefix(rule.remote_ip_prefix)
    return {"id": rule.id, "security_group_id": rule.security_group_id, "direction": rule.direction,
            "ethertype": rule.ethertype, "protocol": rule.protocol, "port_range_min": rule.port_range_min,
            "port_range_max": rule.port_range_max, "remote_ip_prefix": rule.remote_ip_prefix,
            "remote_group_id": rule.remote_group_id,
            "normalized_cidr": str(prefix.network) if prefix is not None else None,
            "belongs_to_default_sg": rule.security_group_id in defaults, "project_id": rule.project_id,
            "tenant_id": rule.project_id, "description": rule.description,
            "created_at": isotime(rule.created_at, subsecond=False),
            "updated_at": isotime(rule.updated_at, subsecond=False), "revision_number": rule.revision_number}


def rule_doc(rule: SecurityGroupRule, defaults: set[str]) -> dict:
    return dump(SecurityGroupRuleView.model_validate(_rule_fields(rule, defaults)))


def group_doc(group: SecurityGroup, rules: list[SecurityGroupRule], defaults: set[str]) -> dict:
    return dump(SecurityGroupView.model_validate(
        {"id": group.id, "name": group.name, "description": group.description, "project_id": group.project_id,
         "tenant_id": group.project_id, "stateful": group.stateful,
         "security_group_rules": [_rule_fields(r, defaults) for r in rules], "tags": list(group.tags),
         "created_at": isotime(group.created_at, subsecond=False),
         "updated_at": isotime(group.updated_at, subsecond=False), "revision_number": group.revision_number}))


def _group_docs(session: Session, groups: list[SecurityGroup]) -> list[dict]:
    ids = [g.id for g in groups]
    rules = service.rules_of(session, ids)
    defaults = service.default_group_ids(session, ids)
    return [group_doc(g, rules[g.id], defaults) for g in groups]


# ---- security groups ----------------------------------------------------------------------------

@router.get(f"{NET}/security-groups")
def list_groups(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:get_security_group")
    with _db(request).session() as session:
        docs = _group_docs(session, service.list_groups(session, ctx, _project_filter(request)))
    return views.select_docs(docs, _params(request), "security_groups", _base(request))


@router.post(f"{NET}/security-groups", status_code=201)
def create_group(body: SecurityGroupCreateRequest, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:create_security_group")
    with _db(request).session() as session:
        group = service.create_group(session, ctx, body.security_group)
        return {"security_group": _group_docs(session, [group])[0]}


@router.get(f"{NET}/security-groups/{{group_id}}")
def get_group(group_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:get_security_group")
    with _db(request).session() as session:
        group = service.get_group(session, ctx, group_id)
        return {"security_group": _fields(request, _group_docs(session, [group])[0])}


@router.put(f"{NET}/security-groups/{{group_id}}")
def update_group(group_id: str, body: SecurityGroupUpdateRequest, request: Request,
                 ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:update_security_group")
    with _db(request).session() as session:
        group = service.update_group(session, ctx, group_id, body.security_group)
        return {"security_group": _group_docs(session, [group])[0]}


@router.delete(f"{NET}/security-groups/{{group_id}}", status_code=204)
def delete_group(group_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "network:delete_security_group")
    with _db(request).session() as session:
        service.delete_group(session, ctx, group_id)
    return Response(status_code=204)


# ---- rules --------------------------------------------------------------------------------------

@router.get(f"{NET}/security-group-rules")
def list_rules(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:get_security_group_rule")
    with _db(request).session() as session:
        rules = service.list_rules(session, ctx, _project_filter(request))
        defaults = service.default_group_ids(session, sorted({r.security_group_id for r in rules}))
        docs = [rule_doc(r, defaults) for r in rules]
    return views.select_docs(docs, _params(request), "security_group_rules", _base(request))


def _rule_response(session: Session, rule: SecurityGroupRule) -> dict:
    return rule_doc(rule, service.default_group_ids(session, [rule.security_group_id]))


@router.post(f"{NET}/security-group-rules", status_code=201)
def create_rule(body: SecurityGroupRuleCreateRequest, request: Request,
                ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:create_security_group_rule")
    with _db(request).session() as session:
        return {"security_group_rule": _rule_response(session,
                                                      service.create_rule(session, ctx, body.security_group_rule))}


@router.get(f"{NET}/security-group-rules/{{rule_id}}")
def get_rule(rule_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:get_security_group_rule")
    with _db(request).session() as session:
        return {"security_group_rule": _fields(request, _rule_response(session,
                                                                       service.get_rule(session, ctx, rule_id)))}


@router.put(f"{NET}/security-group-rules/{{rule_id}}")
def update_rule(rule_id: str, body: SecurityGroupRuleUpdateRequest, request: Request,
                ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:update_security_group_rule")
    with _db(request).session() as session:
        rule = service.update_rule(session, ctx, rule_id, body.security_group_rule)
        return {"security_group_rule": _rule_response(session, rule)}


@router.delete(f"{NET}/security-group-rules/{{rule_id}}", status_code=204)
def delete_rule(rule_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    enforce(ctx, "network:delete_security_group_rule")
    with _db(request).session() as session:
        service.delete_rule(session, ctx, rule_id)
    return Response(status_code=204)


# ---- quotas -------------------------------------------------------------------------------------

def _project(project_id: str) -> str:
    return project_id[:-5] if project_id.endswith(".json") else project_id


def _may_read(ctx: RequestContext, project_id: str) -> None:
    enforce(ctx, "network:get_quota", {"project_id": project_id})


@router.get(f"{NET}/quotas")
@router.get(f"{NET}/quotas.json")
def list_quotas(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "network:get_quotas")
    with _db(request).session() as session:
        return {"quotas": [ProjectQuotaView.model_validate({**quotas.limits(session, pid), "project_id": pid,
                                                             "tenant_id": pid})
                           for pid in quotas.projects_with_overrides(session)]}


@router.get(f"{NET}/quotas/project")
@router.get(f"{NET}/quotas/tenant")
def my_project(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    key = "tenant" if request.url.path.endswith("/tenant") else "project"
    enforce(ctx, "network:get_quota", {"project_id": ctx.project_id})
    if not ctx.project_id:
        raise BadRequest("Tenant-id was missing from quota request.", extra={"type": "QuotaMissingTenant"})
    return {key: {f"{key}_id": ctx.project_id}}


@router.get(f"{NET}/quotas/{{project_id}}/default")
@router.get(f"{NET}/quotas/{{project_id}}/default.json")
def default_quotas(project_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    _may_read(ctx, project_id)
    return {"quota": QuotaView.model_validate(quotas.DEFAULTS)}


@router.get(f"{NET}/quotas/{{project_id}}/details")
@router.get(f"{NET}/quotas/{{project_id}}/details.json")
def quota_details(project_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    _may_read(ctx, project_id)
    with _db(request).session() as session:
        return {"quota": QuotaDetailsView.model_validate(quotas.details(session, project_id))}


@router.get(f"{NET}/quotas/{{project_id}}")
def show_quotas(project_id: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    project_id = _project(project_id)
    _may_read(ctx, project_id)
    with _db(request).session() as session:
        return {"quota": QuotaView.model_validate(quotas.limits(session, project_id))}


@router.put(f"{NET}/quotas/{{project_id}}")
def update_quotas(project_id: str, body: QuotaUpdateRequest, request: Request,
                  ctx: RequestContext = Depends(context)) -> dict:
    project_id = _project(project_id)
    enforce(ctx, "network:update_quota")
    wanted = {k: v for k, v in body.quota.model_dump(exclude={"force", "check_limit"}).items()
              if k in body.quota.model_fields_set and v is not None}
    with _db(request).session() as session:
        return {"quota": QuotaView.model_validate(quotas.update(session, project_id, wanted,
                                                                force=bool(body.quota.force)))}


@router.delete(f"{NET}/quotas/{{project_id}}", status_code=204)
def reset_quotas(project_id: str, request: Request, ctx: RequestContext = Depends(context)) -> Response:
    project_id = _project(project_id)
    enforce(ctx, "network:delete_quota")
    with _db(request).session() as session:
        quotas.reset(session, project_id)
    return Response(status_code=204)

