"""Barbican's default RBAC (its 2021 scoped defaults), project scope only: a system-scoped token holds no secrets.

Readers list secrets and read their metadata (Barbican asks `member` for both; reading metadata is a reader's
right everywhere else here); members create, fill and delete; a payload is read by a member of the secret's
project, or by a user its read ACL names. A secret whose ACL turns `project-access` off is its creator's (and the
project admin's) and its ACL users' only.

Routes call each secret rule twice: first with no target (scope and role: a caller who could never act is refused
before any lookup), then with the secret's (`kms.secrets.target`) once the service has found it; another project's
secret is a 404 from the service before the second call."""

from __future__ import annotations

from andromede.common.context import RequestContext
from andromede.policy.checks import ADMIN, PROJECT_MEMBER, PROJECT_READER, Check, Target, all_of, any_of, project_scoped
from andromede.policy.enforcer import register, rule_maker

V1 = "/key-manager/v1"
_rule = rule_maker("key-manager", V1)


def _target_known(target: Target) -> bool:
    return "project_id" in target


def _in_project(ctx: RequestContext, target: Target) -> bool:
    return not _target_known(target) or ctx.project_id == target.get("project_id")


def _not_private_or_owner(ctx: RequestContext, target: Target) -> bool:
    if not _target_known(target) or target.get("read_project_access", True):
        return True
    return ctx.user_id == target.get("creator_id") or "admin" in ctx.roles


def _acl_reader(ctx: RequestContext, target: Target) -> bool:
    return _target_known(target) and ctx.user_id in target.get("acl_read_users", ())


_PROJECT_MANAGES = all_of(PROJECT_MEMBER, _in_project, _not_private_or_owner)
_PROJECT_READS = all_of(PROJECT_READER, _in_project, _not_private_or_owner)
# Before the lookup an ACL user of another project must get through with any role: the second call decides.
_ACL: Check = all_of(project_scoped, lambda ctx, target: not _target_known(target) or _acl_reader(ctx, target))

register(
    _rule("secrets:get", PROJECT_READER, "List the project's secrets.", ("GET", "/secrets")),
    _rule("secrets:post", PROJECT_MEMBER, "Create a secret.", ("POST", "/secrets")),
    _rule("secret:get", any_of(_PROJECT_READS, _ACL), "Show a secret's metadata.", ("GET", "/secrets/{secret_id}")),
    _rule("secret:decrypt", any_of(_PROJECT_MANAGES, _ACL), "Read a secret's payload.",
          ("GET", "/secrets/{secret_id}/payload")),
    _rule("secret:put", _PROJECT_MANAGES, "Add the payload to a secret created without one.",
          ("PUT", "/secrets/{secret_id}")),
    _rule("secret:delete", _PROJECT_MANAGES, "Delete a secret.", ("DELETE", "/secrets/{secret_id}")),
    _rule("secret_acls:get", _PROJECT_MANAGES, "Show a secret's ACL.", ("GET", "/secrets/{secret_id}/acl")),
    _rule("secret_acls:put_patch", _PROJECT_MANAGES, "Set or change a secret's ACL.",
          ("PUT", "/secrets/{secret_id}/acl"), ("PATCH", "/secrets/{secret_id}/acl")),
    _rule("secret_acls:delete", _PROJECT_MANAGES, "Remove a secret's ACL (back to project access).",
          ("DELETE", "/secrets/{secret_id}/acl")),
    _rule("secret_meta:get", any_of(_PROJECT_READS, _ACL), "Show a secret's user metadata.",
          ("GET", "/secrets/{secret_id}/metadata"), ("GET", "/secrets/{secret_id}/metadata/{key}")),
    _rule("secret_meta:post", _PROJECT_MANAGES, "Add a key to a secret's user metadata.",
          ("POST", "/secrets/{secret_id}/metadata")),
    _rule("secret_meta:put", _PROJECT_MANAGES, "Replace a secret's user metadata, or change one key.",
          ("PUT", "/secrets/{secret_id}/metadata"), ("PUT", "/secrets/{secret_id}/metadata/{key}")),
    _rule("secret_meta:delete", _PROJECT_MANAGES, "Remove a key from a secret's user metadata.",
          ("DELETE", "/secrets/{secret_id}/metadata/{key}")),
    _rule("orders:get", PROJECT_READER, "List the project's orders.", ("GET", "/orders")),
    _rule("orders:post", PROJECT_MEMBER, "Order a generated key.", ("POST", "/orders")),
    _rule("order:get", PROJECT_READER, "Show an order.", ("GET", "/orders/{order_id}")),
    _rule("order:delete", PROJECT_MEMBER, "Delete an order.", ("DELETE", "/orders/{order_id}")),
    _rule("deletion_certificate:get", any_of(ADMIN, PROJECT_READER), "Fetch the signed certificate that a deleted "
          "secret's key was destroyed (a project's reader), or any, such as a deleted project's (a cloud admin).",
          ("GET", "/deletion-certificates/{resource_id}")),
)
