"""Request bodies and documents (View models) for security groups, their rules and network quotas.

Rule fields are typed loosely on purpose (Neutron converts "22" to 22, "TCP" to "tcp", "ipv4" to "IPv4"); the
service validates them with Neutron's own error types and messages.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictBool, StrictInt, StrictStr, StringConstraints

from andromede.network.schemas import Body, Description, Tag, Text255, Update, Uuid, View

ProjectId = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64, pattern=r"^[0-9a-zA-Z_-]+$")]


class SecurityGroupCreate(Body):
    name: Text255 = ""
    description: Description = ""
    stateful: StrictBool = True
    tenant_id: ProjectId | None = None
    project_id: ProjectId | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=64)


class SecurityGroupUpdate(Update):
    name: Text255 | None = None
    description: Description | None = None
    stateful: StrictBool | None = None


class SecurityGroupRuleCreate(Body):
    security_group_id: Uuid
    direction: Annotated[StrictStr, StringConstraints(max_length=16)]
    ethertype: Annotated[StrictStr, StringConstraints(max_length=16)] = "IPv4"
    protocol: Annotated[StrictStr, StringConstraints(max_length=40)] | StrictInt | None = None
    port_range_min: Annotated[StrictStr, StringConstraints(max_length=16)] | StrictInt | None = None
    port_range_max: Annotated[StrictStr, StringConstraints(max_length=16)] | StrictInt | None = None
    remote_ip_prefix: Annotated[StrictStr, StringConstraints(max_length=64)] | None = None
    # Neutron does not validate its form: whatever names no group is 404 SecurityGroupNotFound
    remote_group_id: Annotated[StrictStr, StringConstraints(min_length=1, max_length=255,
                                                            pattern=r"^[^\x00-\x1f\x7f]+$")] | None = None
    remote_address_group_id: Uuid | None = None
    description: Description = ""
    tenant_id: ProjectId | None = None
    project_id: ProjectId | None = None


class SecurityGroupRuleUpdate(Update):
    description: Description | None = None


class SecurityGroupCreateRequest(Body):
    security_group: SecurityGroupCreate


class SecurityGroupUpdateRequest(Body):
    security_group: SecurityGroupUpdate


class SecurityGroupRuleCreateRequest(Body):
    security_group_rule: SecurityGroupRuleCreate


class SecurityGroupRuleUpdateRequest(Body):
    security_group_rule: SecurityGroupRuleUpdate


QuotaValue = Annotated[StrictInt, Field(ge=-1, le=2**31 - 1)]


class QuotaUpdate(Update):
    network: QuotaValue | None = None
    subnet: QuotaValue | None = None
    port: QuotaValue | None = None
    router: QuotaValue | None = None
    floatingip: QuotaValue | None = None
    security_group: QuotaValue | None = None
    security_group_rule: QuotaValue | None = None
    # openstackclient sends one of these: force skips the "not below current usage" check.
    force: StrictBool | None = None
    check_limit: StrictBool | None = None


class QuotaUpdateRequest(Body):
    quota: QuotaUpdate


# ---- views ----------------------------------------------------------------------------------------------------------

class SecurityGroupRuleView(View):
    id: str
    security_group_id: str
    direction: str
    ethertype: str
    protocol: str | None
    port_range_min: int | None
    port_range_max: int | None
    remote_ip_prefix: str | None
    remote_group_id: str | None
    remote_address_group_id: None = None
    normalized_cidr: str | None
    belongs_to_default_sg: bool
    project_id: str
    tenant_id: str
    description: str
    created_at: str | None
    updated_at: str | None
    revision_number: int


class SecurityGroupView(View):
    id: str
    name: str
    description: str
    project_id: str
    tenant_id: str
    stateful: bool
    shared: bool = False
    security_group_rules: list[SecurityGroupRuleView]
    tags: list[str]
    created_at: str | None
    updated_at: str | None
    revision_number: int


class QuotaView(View):
    """A project's network limits, in the order of quotas.DEFAULTS."""

    network: int
    subnet: int
    port: int
    router: int
    floatingip: int
    security_group: int
    security_group_rule: int


class ProjectQuotaView(QuotaView):
    project_id: str
    tenant_id: str


class QuotaUsageView(View):
    used: int
    limit: int
    reserved: int


class QuotaDetailsView(View):
    network: QuotaUsageView
    subnet: QuotaUsageView
    port: QuotaUsageView
    router: QuotaUsageView
    floatingip: QuotaUsageView
    security_group: QuotaUsageView
    security_group_rule: QuotaUsageView
