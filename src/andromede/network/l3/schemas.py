"""Request bodies and documents (View models) for routers, router interfaces and floating IPs (Neutron v2.0
wire names)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictBool

from andromede.network.schemas import Address, Body, Description, Tag, Text255, Update, Uuid, View


class ExternalFixedIp(Body):
    subnet_id: Uuid | None = None
    ip_address: Address | None = None


class GatewayInfo(Body):
    """external_gateway_info; an empty object (or null) removes the gateway."""

    network_id: Uuid | None = None
    enable_snat: StrictBool | None = None
    external_fixed_ips: list[ExternalFixedIp] | None = Field(None, max_length=8)


MAX_ROUTES = 30  # Neutron's max_routes default


class ExtraRoute(Body):
    destination: Address
    nexthop: Address


class RouterCreate(Body):
    name: Text255 = ""
    description: Description = ""
    admin_state_up: StrictBool = True
    external_gateway_info: GatewayInfo | None = None
    distributed: StrictBool | None = None
    ha: StrictBool | None = None
    tenant_id: Uuid | None = None
    project_id: Uuid | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=64)


class RouterUpdate(Update):
    NULLABLE = frozenset({"external_gateway_info", "routes"})
    name: Text255 | None = None
    description: Description | None = None
    admin_state_up: StrictBool | None = None
    external_gateway_info: GatewayInfo | None = None
    distributed: StrictBool | None = None
    ha: StrictBool | None = None
    routes: list[ExtraRoute] | None = Field(None, max_length=MAX_ROUTES)


class RoutesBody(Body):
    routes: list[ExtraRoute] = Field(max_length=MAX_ROUTES)


class RoutesRequest(Body):
    """extraroute-atomic: PUT /v2.0/routers/{id}/add_extraroutes and .../remove_extraroutes."""

    router: RoutesBody


class InterfaceRequest(Body):
    subnet_id: Uuid | None = None
    port_id: Uuid | None = None


class FloatingIpCreate(Body):
    floating_network_id: Uuid
    floating_ip_address: Address | None = None
    subnet_id: Uuid | None = None
    port_id: Uuid | None = None
    fixed_ip_address: Address | None = None
    description: Description = ""
    tenant_id: Uuid | None = None
    project_id: Uuid | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=64)


class FloatingIpUpdate(Update):
    NULLABLE = frozenset({"port_id", "fixed_ip_address"})
    port_id: Uuid | None = None
    fixed_ip_address: Address | None = None
    description: Description | None = None


class RouterCreateRequest(Body):
    router: RouterCreate


class RouterUpdateRequest(Body):
    router: RouterUpdate


class FloatingIpCreateRequest(Body):
    floatingip: FloatingIpCreate


class FloatingIpUpdateRequest(Body):
    floatingip: FloatingIpUpdate


# ---- views ----------------------------------------------------------------------------------------------------------

class L3StandardView(View):
    """Routers and floating IPs show their standard attributes first (a router's name comes after them)."""

    id: str
    tenant_id: str
    project_id: str
    description: str
    tags: list[str]
    created_at: str | None
    updated_at: str | None
    revision_number: int


class GatewayInfoView(View):
    network_id: str
    enable_snat: bool
    external_fixed_ips: list[dict[str, Any]]


class RouterView(L3StandardView):
    name: str
    status: str
    admin_state_up: bool
    external_gateway_info: GatewayInfoView | None
    routes: list[dict[str, Any]]
    distributed: bool = False
    ha: bool = False


class FloatingIpView(L3StandardView):
    floating_ip_address: str
    floating_network_id: str
    router_id: str | None
    port_id: str | None
    fixed_ip_address: str | None
    status: str
    port_details: dict[str, Any] | None
