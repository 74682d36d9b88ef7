"""Neutron v2.0 request bodies, and the View base of its documents. Admin-only attributes are recognised here and
refused by the service (a port's by andromede.network.port_policy)."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    model_validator,
)

Text255 = Annotated[StrictStr, StringConstraints(max_length=255, pattern=r"^[^\x00-\x1f\x7f]*$")]
Description = Annotated[StrictStr, StringConstraints(max_length=255, pattern=r"^[^\x00-\x1f\x7f]*$")]
Uuid = Annotated[StrictStr, StringConstraints(min_length=1, max_length=36, pattern=r"^[0-9a-fA-F-]+$")]
# Parsed (and refused with Neutron's own wording) by the IPAM code; here only bounded and printable.
Address = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
Tag = Annotated[StrictStr, StringConstraints(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f,]+$")]


def _digits_to_int(value: object) -> object:
    """Neutron's convert_to_int for attributes clients send as strings: a decimal string is its number."""
    if isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]{1,12}\s*", value):
        return int(value)
    return value


ADMIN_ONLY_NETWORK = ("shared", "router:external", "provider:network_type", "provider:physical_network",
                      "provider:segmentation_id", "segments")


class Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)


class Update(Body):
    """An update body: an attribute left out is left alone, and null is only taken where Neutron gives it a
    meaning (NULLABLE: no gateway, no routes, no port...); elsewhere it is a 400, never a null stored."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null_where_meaningless(self) -> Update:
        for name in sorted(self.model_fields_set - self.NULLABLE):
            if getattr(self, name) is None:
                shown = type(self).model_fields[name].alias or name
                raise ValueError(f"'{shown}' cannot be null")
        return self


class NetworkCreate(Body):
    name: Text255 = ""
    description: Description = ""
    admin_state_up: StrictBool = True
    mtu: Annotated[StrictInt, Field(ge=68, le=9000)] | None = None
    port_security_enabled: StrictBool = True
    tenant_id: Uuid | None = None
    project_id: Uuid | None = None
    availability_zone_hints: list[Text255] = Field(default_factory=list, max_length=8)
    tags: list[Tag] = Field(default_factory=list, max_length=64)
    shared: StrictBool | None = None
    external: StrictBool | None = Field(None, alias="router:external")
    network_type: Text255 | None = Field(None, alias="provider:network_type")
    physical_network: Text255 | None = Field(None, alias="provider:physical_network")
    # a VXLAN network identifier: 24 bits; "5" as the CLI sends it is 5, as Neutron's convert_to_int makes it
    segmentation_id: Annotated[StrictInt, BeforeValidator(_digits_to_int), Field(ge=1, le=2**24 - 1)] | None = Field(
        None, alias="provider:segmentation_id")


class NetworkUpdate(Update):
    name: Text255 | None = None
    description: Description | None = None
    admin_state_up: StrictBool | None = None
    mtu: Annotated[StrictInt, Field(ge=68, le=9000)] | None = None
    port_security_enabled: StrictBool | None = None
    shared: StrictBool | None = None
    external: StrictBool | None = Field(None, alias="router:external")


class Pool(Body):
    start: Address
    end: Address


class HostRoute(Body):
    destination: Address
    nexthop: Address


class SubnetCreate(Body):
    network_id: Uuid
    cidr: Address
    ip_version: StrictInt = 4
    name: Text255 = ""
    description: Description = ""
    gateway_ip: Address | None = None
    allocation_pools: list[Pool] | None = Field(None, max_length=64)
    dns_nameservers: list[Address] = Field(default_factory=list, max_length=8)
    host_routes: list[HostRoute] = Field(default_factory=list, max_length=32)
    enable_dhcp: StrictBool = True
    ipv6_ra_mode: Annotated[StrictStr, StringConstraints(pattern=r"^(slaac|dhcpv6-stateful|dhcpv6-stateless)$")] \
        | None = None
    ipv6_address_mode: Annotated[StrictStr, StringConstraints(pattern=r"^(slaac|dhcpv6-stateful|dhcpv6-stateless)$")] \
        | None = None
    tenant_id: Uuid | None = None
    project_id: Uuid | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=64)
    subnetpool_id: None = None
    service_types: list[StrictStr] = Field(default_factory=list, max_length=0)


class SubnetUpdate(Update):
    NULLABLE = frozenset({"gateway_ip", "dns_nameservers", "host_routes"})
    name: Text255 | None = None
    description: Description | None = None
    gateway_ip: Address | None = None
    dns_nameservers: list[Address] | None = Field(None, max_length=8)
    host_routes: list[HostRoute] | None = Field(None, max_length=32)
    enable_dhcp: StrictBool | None = None
    allocation_pools: list[Pool] | None = Field(None, max_length=64)


class FixedIpRequest(Body):
    subnet_id: Uuid | None = None
    ip_address: Address | None = None


class AddressPair(Body):
    ip_address: Address
    mac_address: Annotated[StrictStr, StringConstraints(pattern=r"^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$")] | None = None


MacAddress = Annotated[StrictStr, StringConstraints(pattern=r"^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$")]


class ExtraDhcpOpt(Body):
    opt_name: Annotated[StrictStr, StringConstraints(min_length=1, max_length=64)]
    opt_value: Annotated[StrictStr, StringConstraints(max_length=255)] | None
    ip_version: StrictInt = 4


class PortCreate(Body):
    network_id: Uuid
    name: Text255 = ""
    description: Description = ""
    admin_state_up: StrictBool = True
    mac_address: MacAddress | None = None
    fixed_ips: list[FixedIpRequest] | None = Field(None, max_length=16)
    device_id: Text255 = ""
    device_owner: Text255 = ""
    port_security_enabled: StrictBool | None = None
    allowed_address_pairs: list[AddressPair] = Field(default_factory=list, max_length=10)
    extra_dhcp_opts: list[ExtraDhcpOpt] = Field(default_factory=list, max_length=64)
    security_groups: list[Uuid] | None = Field(None, max_length=16)
    tenant_id: Uuid | None = None
    project_id: Uuid | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=64)
    host_id: Text255 | None = Field(None, alias="binding:host_id")
    profile: dict | None = Field(None, alias="binding:profile")
    vnic_type: Text255 | None = Field(None, alias="binding:vnic_type")


class PortUpdate(Update):
    NULLABLE = frozenset({"allowed_address_pairs", "extra_dhcp_opts", "security_groups", "host_id"})
    name: Text255 | None = None
    description: Description | None = None
    admin_state_up: StrictBool | None = None
    fixed_ips: list[FixedIpRequest] | None = Field(None, max_length=16)
    device_id: Text255 | None = None
    device_owner: Text255 | None = None
    port_security_enabled: StrictBool | None = None
    allowed_address_pairs: list[AddressPair] | None = Field(None, max_length=10)
    extra_dhcp_opts: list[ExtraDhcpOpt] | None = Field(None, max_length=64)
    security_groups: list[Uuid] | None = Field(None, max_length=16)
    host_id: Text255 | None = Field(None, alias="binding:host_id")


class NetworkCreateRequest(Body):
    network: NetworkCreate


class NetworkUpdateRequest(Body):
    network: NetworkUpdate


class SubnetCreateRequest(Body):
    subnet: SubnetCreate


class SubnetUpdateRequest(Body):
    subnet: SubnetUpdate


class PortCreateRequest(Body):
    port: PortCreate


class PortUpdateRequest(Body):
    port: PortUpdate


# Bulk create (Neutron's native bulk): all or nothing, in one transaction.
MAX_BULK = 100


class NetworksCreateRequest(Body):
    networks: list[NetworkCreate] = Field(min_length=1, max_length=MAX_BULK)


class SubnetsCreateRequest(Body):
    subnets: list[SubnetCreate] = Field(min_length=1, max_length=MAX_BULK)


class PortsCreateRequest(Body):
    ports: list[PortCreate] = Field(min_length=1, max_length=MAX_BULK)


# ---- views ----------------------------------------------------------------------------------------------------------

class View(BaseModel):
    """A response document: its fields, in order, are the keys clients receive."""

    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)


def dump(view: View) -> dict[str, Any]:
    """The document as a dict: Neutron's list handling (filters, fields, sort, pages) works on these."""
    return view.model_dump(mode="json", by_alias=True)


class StandardView(View):
    """The attributes every Neutron resource with a project, tags and revisions shows first."""

    id: str
    name: str
    tenant_id: str
    project_id: str
    description: str
    tags: list[str]
    created_at: str | None
    updated_at: str | None
    revision_number: int


class NetworkView(StandardView):
    admin_state_up: bool
    status: str = "ACTIVE"
    subnets: list[str]
    shared: bool
    external: bool = Field(alias="router:external")
    mtu: int
    port_security_enabled: bool
    availability_zone_hints: list[str] = Field(default_factory=list)
    availability_zones: list[str] = Field(default_factory=lambda: ["nova"])
    ipv4_address_scope: None = None
    ipv6_address_scope: None = None
    is_default: bool = False
    l2_adjacency: bool = True


class AdminNetworkView(NetworkView):
    network_type: str = Field("vxlan", alias="provider:network_type")
    physical_network: None = Field(None, alias="provider:physical_network")
    segmentation_id: int = Field(alias="provider:segmentation_id")


class SubnetView(StandardView):
    network_id: str
    ip_version: int
    cidr: str
    gateway_ip: str | None
    allocation_pools: list[dict[str, Any]]
    dns_nameservers: list[str]
    host_routes: list[dict[str, Any]]
    enable_dhcp: bool
    ipv6_ra_mode: str | None
    ipv6_address_mode: str | None
    subnetpool_id: None = None
    service_types: list[str] = Field(default_factory=list)


class PortView(StandardView):
    network_id: str
    mac_address: str
    fixed_ips: list[dict[str, Any]]
    device_id: str
    device_owner: str
    admin_state_up: bool
    status: str
    security_groups: list[str]
    allowed_address_pairs: list[dict[str, Any]]
    port_security_enabled: bool
    extra_dhcp_opts: list[dict[str, Any]]
    vnic_type: str = Field("normal", alias="binding:vnic_type")


class AdminPortView(PortView):
    host_id: str = Field(alias="binding:host_id")
    profile: dict[str, Any] = Field(default_factory=dict, alias="binding:profile")
    vif_type: str = Field(alias="binding:vif_type")
    vif_details: dict[str, Any] = Field(default_factory=dict, alias="binding:vif_details")
