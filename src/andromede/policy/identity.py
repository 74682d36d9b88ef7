"""Keystone's default RBAC for the identity API with enforce_scope: the system's admins manage everything,
a domain's managers manage that domain's users, groups, projects and grants (never granting `admin`),
readers read within their scope, users see themselves. `admin` on a project gives nothing here."""

from __future__ import annotations

from andromede.common.context import RequestContext
from andromede.policy.checks import (
    ADMIN,
    ADMIN_OR_READER,
    SYSTEM_READER,
    Check,
    Target,
    all_of,
    any_of,
    authenticated,
    domain_manager,
    domain_reader,
    domain_scoped_to,
    holds,
    project_scoped_to,
    user_is,
)
from andromede.policy.enforcer import Rule, register, rule_maker

V3 = "/identity/v3"

_rule = rule_maker("identity", V3)


def _crud(noun: str, plural: str, read_check: Check, path: str, write_check: Check = ADMIN) -> list[Rule]:
    item = f"{path}/{{{noun}_id}}"
    return [
        _rule(f"get_{noun}", read_check, f"Show a {noun}.", ("GET", item)),
        _rule(f"list_{plural}", read_check, f"List {plural}.", ("GET", path)),
        _rule(f"create_{noun}", write_check, f"Create a {noun}.", ("POST", path)),
        _rule(f"update_{noun}", write_check, f"Update a {noun}.", ("PATCH", item)),
        _rule(f"delete_{noun}", write_check, f"Delete a {noun}.", ("DELETE", item)),
    ]


# Keystone's `domain_managed_target_role`: the roles a domain manager may hand out.
MANAGEABLE_ROLES = frozenset({"manager", "member", "reader"})


def _manageable_role(_ctx: RequestContext, target: Target) -> bool:
    return target.get("role_name") in MANAGEABLE_ROLES


# Users, groups and projects of the caller's own domain (target domain_id: where the object lives).
ADMIN_OR_DOMAIN_MANAGER = any_of(ADMIN, domain_manager())
# Membership and grants: both the target (group, project or domain) and the actor live in the manager's domain.
MANAGER_OF_BOTH = all_of(domain_manager(), domain_scoped_to("actor_domain_id"))
GRANT_READER = any_of(ADMIN_OR_READER, MANAGER_OF_BOTH)
GRANT_WRITER = any_of(ADMIN, all_of(MANAGER_OF_BOTH, _manageable_role))
# Roles are looked up by name before a grant: a domain's managers need to read them (Keystone lets them).
ROLE_READER = any_of(ADMIN, SYSTEM_READER, all_of(holds("manager", "admin"), lambda ctx, _t: ctx.domain_id is not None))


# Keystone's project tag rules: operators, the project's domain managers and the project's own admins.
TAG_WRITER = any_of(ADMIN_OR_DOMAIN_MANAGER, all_of(holds("admin", "manager"), project_scoped_to("project_id")))

SYSTEM_ADMIN_OR_READER = any_of(ADMIN, SYSTEM_READER)

# OS-EP-FILTER: the cloud operator's (Keystone: system admins write, system readers read).
_EG = "/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}"
_EP_PROJECT = "/OS-EP-FILTER/projects/{project_id}"
_EP_FILTER_RULES = [
    _rule("create_endpoint_group", ADMIN, "Create an endpoint group.",
          ("POST", "/OS-EP-FILTER/endpoint_groups")),
    _rule("list_endpoint_groups", SYSTEM_ADMIN_OR_READER, "List endpoint groups.",
          ("GET", "/OS-EP-FILTER/endpoint_groups")),
    _rule("get_endpoint_group", SYSTEM_ADMIN_OR_READER, "Show an endpoint group.",
          ("GET", f"{_EG}")),
    _rule("update_endpoint_group", ADMIN, "Update an endpoint group.",
          ("PATCH", f"{_EG}")),
    _rule("delete_endpoint_group", ADMIN, "Delete an endpoint group.",
          ("DELETE", f"{_EG}")),
    _rule("list_projects_associated_with_endpoint_group", SYSTEM_ADMIN_OR_READER, "Projects given an endpoint group.",
          ("GET", f"{_EG}/projects")),
    _rule("list_endpoints_associated_with_endpoint_group", SYSTEM_ADMIN_OR_READER, "Endpoints a group selects.",
          ("GET", f"{_EG}/endpoints")),
    _rule("get_endpoint_group_in_project", SYSTEM_ADMIN_OR_READER, "Check a project's endpoint group.",
          ("GET", f"{_EG}/projects/{{project_id}}")),
    _rule("add_endpoint_group_to_project", ADMIN, "Give a project an endpoint group.",
          ("PUT", f"{_EG}/projects/{{project_id}}")),
    _rule("remove_endpoint_group_from_project", ADMIN, "Take an endpoint group from a project.",
          ("DELETE", f"{_EG}/projects/{{project_id}}")),
    _rule("list_endpoint_groups_for_project", SYSTEM_ADMIN_OR_READER, "A project's endpoint groups.",
          ("GET", f"{_EP_PROJECT}/endpoint_groups")),
    _rule("list_endpoints_for_project", SYSTEM_ADMIN_OR_READER, "A project's endpoints.",
          ("GET", f"{_EP_PROJECT}/endpoints")),
    _rule("add_endpoint_to_project", ADMIN, "Give a project an endpoint.",
          ("PUT", f"{_EP_PROJECT}/endpoints/{{endpoint_id}}")),
    _rule("check_endpoint_in_project", SYSTEM_ADMIN_OR_READER, "Check a project's endpoint.",
          ("GET", f"{_EP_PROJECT}/endpoints/{{endpoint_id}}")),
    _rule("remove_endpoint_from_project", ADMIN, "Take an endpoint from a project.",
          ("DELETE", f"{_EP_PROJECT}/endpoints/{{endpoint_id}}")),
    _rule("list_projects_for_endpoint", SYSTEM_ADMIN_OR_READER, "Projects given an endpoint.",
          ("GET", "/OS-EP-FILTER/endpoints/{endpoint_id}/projects")),
]

TOKEN_SUBJECT = any_of(ADMIN, user_is("user_id"))

register(
    _rule("validate_token", TOKEN_SUBJECT, "Validate a token.", ("GET", "/auth/tokens")),
    _rule("check_token", TOKEN_SUBJECT, "Check a token.", ("HEAD", "/auth/tokens")),
    _rule("revoke_token", TOKEN_SUBJECT, "Revoke a token.", ("DELETE", "/auth/tokens")),
    _rule("get_auth_catalog", authenticated, "Catalog of the caller's token.", ("GET", "/auth/catalog")),
    _rule("get_auth_projects", authenticated, "Projects the caller may scope to.", ("GET", "/auth/projects")),
    _rule("get_auth_domains", authenticated, "Domains the caller may scope to.", ("GET", "/auth/domains")),
    _rule("get_auth_system", authenticated, "System scopes of the caller.", ("GET", "/auth/system")),
    _rule("get_domain", any_of(ADMIN_OR_READER, domain_scoped_to("domain_id"),
                               lambda ctx, t: ctx.project_domain_id is not None
                               and ctx.project_domain_id == t.get("domain_id")),
          "Show a domain.", ("GET", "/domains/{domain_id}")),
    _rule("list_domains", any_of(ADMIN, SYSTEM_READER, lambda ctx, _t: ctx.domain_id is not None),
          "List domains (a domain-scoped caller: its own).", ("GET", "/domains")),
    _rule("create_domain", ADMIN, "Create a domain.", ("POST", "/domains")),
    _rule("update_domain", ADMIN, "Update a domain.", ("PATCH", "/domains/{domain_id}")),
    _rule("delete_domain", ADMIN, "Delete a domain.", ("DELETE", "/domains/{domain_id}")),
    _rule("get_project", any_of(ADMIN_OR_READER, project_scoped_to("project_id")), "Show a project.",
          ("GET", "/projects/{project_id}")),
    _rule("list_projects", ADMIN_OR_READER, "List projects.", ("GET", "/projects")),
    _rule("list_user_projects", any_of(ADMIN_OR_READER, user_is("user_id")), "List a user's projects.",
          ("GET", "/users/{user_id}/projects")),
    _rule("create_project", ADMIN_OR_DOMAIN_MANAGER, "Create a project.", ("POST", "/projects")),
    _rule("update_project", ADMIN_OR_DOMAIN_MANAGER, "Update a project.", ("PATCH", "/projects/{project_id}")),
    _rule("delete_project", ADMIN_OR_DOMAIN_MANAGER, "Delete a project.", ("DELETE", "/projects/{project_id}")),
    _rule("list_project_tags", any_of(ADMIN_OR_READER, project_scoped_to("project_id")), "List a project's tags.",
          ("GET", "/projects/{project_id}/tags")),
    _rule("get_project_tag", any_of(ADMIN_OR_READER, project_scoped_to("project_id")), "Check a project's tag.",
          ("GET", "/projects/{project_id}/tags/{tag}"), ("HEAD", "/projects/{project_id}/tags/{tag}")),
    *[_rule(name, TAG_WRITER, description, operation) for name, description, operation in (
        ("update_project_tags", "Replace a project's tags.", ("PUT", "/projects/{project_id}/tags")),
        ("delete_project_tags", "Remove all of a project's tags.", ("DELETE", "/projects/{project_id}/tags")),
        ("create_project_tag", "Tag a project.", ("PUT", "/projects/{project_id}/tags/{tag}")),
        ("delete_project_tag", "Untag a project.", ("DELETE", "/projects/{project_id}/tags/{tag}")))],
    _rule("get_user", any_of(ADMIN_OR_READER, user_is("user_id")), "Show a user.", ("GET", "/users/{user_id}")),
    _rule("list_users", ADMIN_OR_READER, "List users.", ("GET", "/users")),
    _rule("create_user", ADMIN_OR_DOMAIN_MANAGER, "Create a user.", ("POST", "/users")),
    _rule("update_user", ADMIN_OR_DOMAIN_MANAGER, "Update a user.", ("PATCH", "/users/{user_id}")),
    _rule("delete_user", ADMIN_OR_DOMAIN_MANAGER, "Delete a user.", ("DELETE", "/users/{user_id}")),
    _rule("change_password", user_is("user_id"), "Change one's own password.",
          ("POST", "/users/{user_id}/password")),
    *_crud("group", "groups", ADMIN_OR_READER, "/groups", ADMIN_OR_DOMAIN_MANAGER),
    _rule("list_groups_for_user", any_of(ADMIN_OR_READER, user_is("user_id")), "List a user's groups.",
          ("GET", "/users/{user_id}/groups")),
    _rule("list_users_in_group", ADMIN_OR_READER, "List group members.", ("GET", "/groups/{group_id}/users")),
    _rule("check_user_in_group", ADMIN_OR_READER, "Check membership.",
          ("HEAD", "/groups/{group_id}/users/{user_id}")),
    _rule("add_user_to_group", any_of(ADMIN, MANAGER_OF_BOTH), "Add a member.",
          ("PUT", "/groups/{group_id}/users/{user_id}")),
    _rule("remove_user_from_group", any_of(ADMIN, MANAGER_OF_BOTH), "Remove a member.",
          ("DELETE", "/groups/{group_id}/users/{user_id}")),
    *_crud("role", "roles", ROLE_READER, "/roles"),
    _rule("create_implied_role", ADMIN, "Make one role imply another.",
          ("PUT", "/roles/{prior_role_id}/implies/{implied_role_id}")),
    _rule("get_implied_role", any_of(ADMIN, SYSTEM_READER), "Show a role inference rule.",
          ("GET", "/roles/{prior_role_id}/implies/{implied_role_id}")),
    _rule("check_implied_role", any_of(ADMIN, SYSTEM_READER), "Check a role inference rule.",
          ("HEAD", "/roles/{prior_role_id}/implies/{implied_role_id}")),
    _rule("delete_implied_role", ADMIN, "Remove a role inference rule.",
          ("DELETE", "/roles/{prior_role_id}/implies/{implied_role_id}")),
    _rule("list_implied_roles", any_of(ADMIN, SYSTEM_READER), "List the roles a role implies.",
          ("GET", "/roles/{prior_role_id}/implies")),
    _rule("list_role_inference_rules", any_of(ADMIN, SYSTEM_READER), "List every role inference rule.",
          ("GET", "/role_inferences")),
    _rule("check_grant", GRANT_READER, "Check a role grant.",
          ("HEAD", "/projects/{project_id}/users/{user_id}/roles/{role_id}")),
    _rule("list_grants", GRANT_READER, "List role grants.", ("GET", "/projects/{project_id}/users/{user_id}/roles")),
    _rule("create_grant", GRANT_WRITER, "Grant a role on a project or domain (a domain's managers: not admin).",
          ("PUT", "/projects/{project_id}/users/{user_id}/roles/{role_id}")),
    _rule("revoke_grant", GRANT_WRITER, "Revoke a role on a project or domain.",
          ("DELETE", "/projects/{project_id}/users/{user_id}/roles/{role_id}")),
    _rule("list_system_grants", any_of(ADMIN, SYSTEM_READER), "List role grants on the system.",
          ("GET", "/system/users/{user_id}/roles")),
    _rule("check_system_grant", any_of(ADMIN, SYSTEM_READER), "Check a role grant on the system.",
          ("HEAD", "/system/users/{user_id}/roles/{role_id}")),
    _rule("create_system_grant", ADMIN, "Grant a role on the system (make a cloud operator).",
          ("PUT", "/system/users/{user_id}/roles/{role_id}")),
    _rule("revoke_system_grant", ADMIN, "Revoke a role on the system.",
          ("DELETE", "/system/users/{user_id}/roles/{role_id}")),
    _rule("list_role_assignments", any_of(ADMIN, SYSTEM_READER, domain_reader()), "List role assignments.",
          ("GET", "/role_assignments")),
    *_crud("region", "regions", authenticated, "/regions"),
    *_crud("service", "services", ADMIN_OR_READER, "/services"),
    *_crud("endpoint", "endpoints", ADMIN_OR_READER, "/endpoints"),
    *_EP_FILTER_RULES,
    _rule("create_domain_config", ADMIN, "Store a domain's configuration.", ("PUT", "/domains/{domain_id}/config")),
    _rule("get_domain_config", SYSTEM_ADMIN_OR_READER, "Show a domain's configuration.",
          ("GET", "/domains/{domain_id}/config"), ("GET", "/domains/{domain_id}/config/{group}"),
          ("GET", "/domains/{domain_id}/config/{group}/{option}")),
    _rule("update_domain_config", ADMIN, "Update a domain's configuration.",
          ("PATCH", "/domains/{domain_id}/config"), ("PATCH", "/domains/{domain_id}/config/{group}"),
          ("PATCH", "/domains/{domain_id}/config/{group}/{option}")),
    _rule("delete_domain_config", ADMIN, "Delete a domain's configuration.",
          ("DELETE", "/domains/{domain_id}/config"), ("DELETE", "/domains/{domain_id}/config/{group}"),
          ("DELETE", "/domains/{domain_id}/config/{group}/{option}")),
    _rule("get_domain_config_default", SYSTEM_ADMIN_OR_READER, "Show the default domain configuration.",
          ("GET", "/domains/config/default"), ("GET", "/domains/config/{group}/default"),
          ("GET", "/domains/config/{group}/{option}/default")),
    # Owner checks for these happen in the route and answer 404, so another user's secrets stay unseen.
    _rule("manage_application_credentials", authenticated, "Application credentials of the caller.",
          ("GET", "/users/{user_id}/application_credentials"),
          ("POST", "/users/{user_id}/application_credentials")),
    _rule("manage_credentials", authenticated, "Stored credentials of the caller.",
          ("GET", "/credentials"), ("POST", "/credentials")),
    _rule("manage_ec2_credentials", authenticated, "EC2 credentials of the caller.",
          ("GET", "/users/{user_id}/credentials/OS-EC2"), ("POST", "/users/{user_id}/credentials/OS-EC2")),
)
