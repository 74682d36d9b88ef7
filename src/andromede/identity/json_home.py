"""The /v3 JSON-home document (RFC draft json-home, as Keystone serves it): every relation this cloud answers.

Clients read it to learn which APIs and extensions exist, so a relation is listed here exactly when its route is
served; tests check each one against the routes.
"""

from __future__ import annotations

import re

REL = "https://docs.openstack.org/api/openstack-identity/3/rel/"
EXT = "https://docs.openstack.org/api/openstack-identity/3/ext/{ext}/1.0/rel/"
PARAM = "https://docs.openstack.org/api/openstack-identity/3/param/"

# (extension or "", relation name, path under /v3)
RESOURCES: tuple[tuple[str, str, str], ...] = (
    ("", "auth_tokens", "/auth/tokens"),
    ("", "auth_catalog", "/auth/catalog"),
    ("", "auth_projects", "/auth/projects"),
    ("", "auth_domains", "/auth/domains"),
    ("", "auth_system", "/auth/system"),
    ("", "domains", "/domains"),
    ("", "domain", "/domains/{domain_id}"),
    ("", "domain_config", "/domains/{domain_id}/config"),
    ("", "domain_config_group", "/domains/{domain_id}/config/{group}"),
    ("", "domain_config_option", "/domains/{domain_id}/config/{group}/{option}"),
    ("", "domain_config_default", "/domains/config/default"),
    ("", "domain_config_default_group", "/domains/config/{group}/default"),
    ("", "domain_config_default_option", "/domains/config/{group}/{option}/default"),
    ("", "domain_user_roles", "/domains/{domain_id}/users/{user_id}/roles"),
    ("", "domain_user_role", "/domains/{domain_id}/users/{user_id}/roles/{role_id}"),
    ("", "domain_group_roles", "/domains/{domain_id}/groups/{group_id}/roles"),
    ("", "domain_group_role", "/domains/{domain_id}/groups/{group_id}/roles/{role_id}"),
    ("", "projects", "/projects"),
    ("", "project", "/projects/{project_id}"),
    ("", "project_tags", "/projects/{project_id}/tags"),
    ("", "project_tag", "/projects/{project_id}/tags/{value}"),
    ("", "project_user_roles", "/projects/{project_id}/users/{user_id}/roles"),
    ("", "project_user_role", "/projects/{project_id}/users/{user_id}/roles/{role_id}"),
    ("", "project_group_roles", "/projects/{project_id}/groups/{group_id}/roles"),
    ("", "project_group_role", "/projects/{project_id}/groups/{group_id}/roles/{role_id}"),
    ("", "system_user_roles", "/system/users/{user_id}/roles"),
    ("", "system_user_role", "/system/users/{user_id}/roles/{role_id}"),
    ("", "system_group_roles", "/system/groups/{group_id}/roles"),
    ("", "system_group_role", "/system/groups/{group_id}/roles/{role_id}"),
    ("", "users", "/users"),
    ("", "user", "/users/{user_id}"),
    ("", "user_change_password", "/users/{user_id}/password"),
    ("", "user_groups", "/users/{user_id}/groups"),
    ("", "user_projects", "/users/{user_id}/projects"),
    ("", "application_credentials", "/users/{user_id}/application_credentials"),
    ("", "application_credential", "/users/{user_id}/application_credentials/{application_credential_id}"),
    ("", "groups", "/groups"),
    ("", "group", "/groups/{group_id}"),
    ("", "group_users", "/groups/{group_id}/users"),
    ("", "group_user", "/groups/{group_id}/users/{user_id}"),
    ("", "roles", "/roles"),
    ("", "role", "/roles/{role_id}"),
    ("", "implied_roles", "/roles/{prior_role_id}/implies"),
    ("", "implied_role", "/roles/{prior_role_id}/implies/{implied_role_id}"),
    ("", "role_inferences", "/role_inferences"),
    ("", "role_assignments", "/role_assignments"),
    ("", "regions", "/regions"),
    ("", "region", "/regions/{region_id}"),
    ("", "services", "/services"),
    ("", "service", "/services/{service_id}"),
    ("", "endpoints", "/endpoints"),
    ("", "endpoint", "/endpoints/{endpoint_id}"),
    ("", "credentials", "/credentials"),
    ("", "credential", "/credentials/{credential_id}"),
    ("OS-EC2", "user_credentials", "/users/{user_id}/credentials/OS-EC2"),
    ("OS-EC2", "user_credential", "/users/{user_id}/credentials/OS-EC2/{credential_id}"),
    ("OS-EP-FILTER", "endpoint_groups", "/OS-EP-FILTER/endpoint_groups"),
    ("OS-EP-FILTER", "endpoint_group", "/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}"),
    ("OS-EP-FILTER", "endpoint_group_to_project_association",
     "/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects/{project_id}"),
    ("OS-EP-FILTER", "projects_associated_with_endpoint_group",
     "/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects"),
    ("OS-EP-FILTER", "endpoints_in_endpoint_group", "/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/endpoints"),
    ("OS-EP-FILTER", "project_endpoint_groups", "/OS-EP-FILTER/projects/{project_id}/endpoint_groups"),
    ("OS-EP-FILTER", "project_endpoint", "/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}"),
    ("OS-EP-FILTER", "project_endpoints", "/OS-EP-FILTER/projects/{project_id}/endpoints"),
    ("OS-EP-FILTER", "endpoint_projects", "/OS-EP-FILTER/endpoints/{endpoint_id}/projects"),
)

_VAR = re.compile(r"\{(\w+)\}")


def document(prefix: str) -> dict:
    """`prefix`: the path /v3 is served at (e.g. /identity/v3), which every href starts with."""
    resources: dict[str, dict] = {}
    for ext, name, path in RESOURCES:
        rel = (EXT.format(ext=ext) if ext else REL) + name
        names = _VAR.findall(path)
        if names:
            resources[rel] = {"href-template": prefix + path,
                              "href-vars": {var: PARAM + var for var in names}}
        else:
            resources[rel] = {"href": prefix + path}
    return {"resources": resources}
