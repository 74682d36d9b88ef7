"""Nova's default RBAC with enforce_scope: project readers read, project members manage their project's
servers, the system (cloud operators) manages flavors and sees hosts and every project.

Another project's server is a 404 decided by the compute service itself, never a 403.
"""

from __future__ import annotations

from andromede.policy.checks import (
    ADMIN,
    MEMBER,
    PROJECT_MEMBER,
    READER,
    SYSTEM_READER,
    authenticated,
    host_agent,
)
from andromede.policy.enforcer import Rule, register, rule_maker

V21 = "/compute/v2.1"

_rule = rule_maker("compute", V21)


register(
    _rule("flavors:list", authenticated, "List flavors.", ("GET", "/flavors"), ("GET", "/flavors/detail")),
    _rule("flavors:show", authenticated, "Show a flavor.", ("GET", "/flavors/{flavor_id}")),
    _rule("flavors:create", ADMIN, "Create a flavor.", ("POST", "/flavors")),
    _rule("flavors:delete", ADMIN, "Delete a flavor.", ("DELETE", "/flavors/{flavor_id}")),
    _rule("flavors:update", ADMIN, "Set flavor extra specs.", ("POST", "/flavors/{flavor_id}/os-extra_specs")),
    _rule("flavors:access", ADMIN, "Manage private flavor access.", ("POST", "/flavors/{flavor_id}/action")),
    _rule("keypairs", authenticated, "Manage one's own keypairs.", ("GET", "/os-keypairs"), ("POST", "/os-keypairs")),
    _rule("limits", authenticated, "Show quotas and usage.", ("GET", "/limits")),
    _rule("availability_zones", authenticated, "List availability zones.", ("GET", "/os-availability-zone")),
    _rule("availability_zones:detail", SYSTEM_READER, "Zones with hosts.", ("GET", "/os-availability-zone/detail")),
    _rule("hypervisors", SYSTEM_READER, "List hypervisors.", ("GET", "/os-hypervisors")),
    _rule("services", SYSTEM_READER, "List compute services.", ("GET", "/os-services")),
    _rule("servers:index", READER, "List servers.", ("GET", "/servers"), ("GET", "/servers/detail")),
    _rule("servers:show", READER, "Show a server.", ("GET", "/servers/{server_id}")),
    # Nova refuses a system-scoped token here: a server needs the project it is booted in.
    _rule("servers:create", PROJECT_MEMBER, "Create a server.", ("POST", "/servers")),
    _rule("servers:update", MEMBER, "Rename a server.", ("PUT", "/servers/{server_id}")),
    _rule("servers:delete", MEMBER, "Delete a server.", ("DELETE", "/servers/{server_id}")),
    _rule("servers:stop", MEMBER, "Stop a server.", ("POST", "/servers/{server_id}/action")),
    _rule("servers:start", MEMBER, "Start a server.", ("POST", "/servers/{server_id}/action")),
    _rule("servers:reboot", MEMBER, "Reboot a server.", ("POST", "/servers/{server_id}/action")),
    _rule("servers:console_output", MEMBER, "Read a server's console.", ("POST", "/servers/{server_id}/action")),
    _rule("servers:ips:index", READER, "List a server's addresses by network.", ("GET", "/servers/{server_id}/ips")),
    _rule("servers:ips:show", READER, "List a server's addresses on one network.",
          ("GET", "/servers/{server_id}/ips/{network_label}")),
    _rule("servers:change_password", MEMBER, "Set a server's administrator password (changePassword).",
          ("POST", "/servers/{server_id}/action")),
    _rule("servers:metadata:show", READER, "Read server metadata.", ("GET", "/servers/{server_id}/metadata")),
    _rule("servers:metadata:update", MEMBER, "Change server metadata.", ("POST", "/servers/{server_id}/metadata")),
    _rule("servers:tags:index", READER, "List or check a server's tags (microversion 2.26).",
          ("GET", "/servers/{server_id}/tags"), ("GET", "/servers/{server_id}/tags/{tag}")),
    _rule("servers:tags:update", MEMBER, "Add, replace or delete a server's tags (microversion 2.26).",
          ("PUT", "/servers/{server_id}/tags"), ("PUT", "/servers/{server_id}/tags/{tag}"),
          ("DELETE", "/servers/{server_id}/tags"), ("DELETE", "/servers/{server_id}/tags/{tag}")),
    _rule("os-interface:list", READER, "List a server's interfaces.", ("GET", "/servers/{server_id}/os-interface")),
    _rule("os-interface:show", READER, "Show a server's interface.",
          ("GET", "/servers/{server_id}/os-interface/{port_id}")),
    _rule("os-interface:create", MEMBER, "Attach an interface.", ("POST", "/servers/{server_id}/os-interface")),
    _rule("os-interface:delete", MEMBER, "Detach an interface.",
          ("DELETE", "/servers/{server_id}/os-interface/{port_id}")),
    _rule("servers:security_groups:add", MEMBER, "Add a security group to a server's ports.",
          ("POST", "/servers/{server_id}/action")),
    _rule("servers:security_groups:remove", MEMBER, "Remove a security group from a server's ports.",
          ("POST", "/servers/{server_id}/action")),
    _rule("servers:fixed_ip:add", MEMBER, "Add a fixed IP to a server's port on a network (addFixedIp).",
          ("POST", "/servers/{server_id}/action")),
    _rule("servers:fixed_ip:remove", MEMBER, "Remove a fixed IP from a server (removeFixedIp).",
          ("POST", "/servers/{server_id}/action")),
    _rule("os-server-groups:create", PROJECT_MEMBER, "Create a server group in one's project.",
          ("POST", "/os-server-groups")),
    _rule("os-server-groups:index", READER, "List server groups (all projects: cloud admins).",
          ("GET", "/os-server-groups")),
    _rule("os-server-groups:show", READER, "Show a server group.", ("GET", "/os-server-groups/{group_id}")),
    _rule("os-server-groups:delete", MEMBER, "Delete a server group.", ("DELETE", "/os-server-groups/{group_id}")),
    _rule("os-instance-actions:list", READER, "List a server's actions (events: cloud admins).",
          ("GET", "/servers/{server_id}/os-instance-actions")),
    _rule("os-instance-actions:show", READER, "Show one action of a server.",
          ("GET", "/servers/{server_id}/os-instance-actions/{request_id}")),
    _rule("extensions", authenticated, "List the API extensions served.", ("GET", "/extensions"),
          ("GET", "/extensions/{alias}")),
    # The proxies of microversion 2.1: the network and image services decide what each project sees.
    _rule("os-security-groups:list", READER, "List security groups (Nova's proxy).", ("GET", "/os-security-groups")),
    _rule("os-security-groups:show", READER, "Show a security group (Nova's proxy).",
          ("GET", "/os-security-groups/{group_id}")),
    _rule("os-security-groups:create", PROJECT_MEMBER, "Create a security group (Nova's proxy).",
          ("POST", "/os-security-groups")),
    _rule("os-security-groups:delete", MEMBER, "Delete a security group (Nova's proxy).",
          ("DELETE", "/os-security-groups/{group_id}")),
    _rule("os-security-group-rules:create", MEMBER, "Add a security group rule (Nova's proxy).",
          ("POST", "/os-security-group-rules")),
    _rule("os-security-group-rules:delete", MEMBER, "Delete a security group rule (Nova's proxy).",
          ("DELETE", "/os-security-group-rules/{rule_id}")),
    _rule("os-floating-ips:list", READER, "List floating IPs (Nova's proxy).", ("GET", "/os-floating-ips")),
    _rule("os-floating-ips:show", READER, "Show a floating IP (Nova's proxy).", ("GET", "/os-floating-ips/{fip_id}")),
    _rule("images:list", authenticated, "List images (Nova's proxy).", ("GET", "/images"), ("GET", "/images/detail")),
    _rule("images:show", authenticated, "Show an image (Nova's proxy).", ("GET", "/images/{image_id}")),
    # Only a credential bound to a host (hosts/credentials.py); each route then checks it is that host's.
    Rule("internal:agent", host_agent, "Host agents: their own host's desired state and reports.",
         (("POST", "/internal/v1/hosts/{host}"), ("GET", "/internal/v1/hosts/{host}/instances"),
          ("GET", "/internal/v1/hosts/{host}/images/{image_id}/file"),
          ("PUT", "/internal/v1/instances/{uuid}/observed"),
          ("GET", "/internal/v1/hosts/{host}/network"), ("POST", "/internal/v1/hosts/{host}/network/status"))),
)
