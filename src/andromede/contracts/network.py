"""Network's server→agent contract: one host's desired data plane, as one document.

The server builds `HostNetworkDocument` (network/host_view.py) for `GET /internal/v1/hosts/{host}/network`; the
network agent's reconciler parses it and turns it into driver specs. Values arrive in the form the data plane
takes them: a security-group rule's protocol is a canonical name (tcp, udp, icmp, icmpv6) or a number, and its
remote prefix a network without host bits, normalised once on the server (network/security_groups/service.py).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from andromede.contracts import Contract


class HostNetwork(Contract):
    """A network this host carries: its VXLAN segment and where to flood it (the other hosts carrying it)."""

    id: str
    vni: int
    mtu: int
    remote_vteps: tuple[str, ...] = ()


class AddressPair(Contract):
    """An allowed address pair: an address or a CIDR, and a MAC when the pair names one."""

    ip_address: str
    mac_address: str | None = None

    @model_serializer(mode="wrap")
    def _without_absent_mac(self, handler: SerializerFunctionWrapHandler) -> dict:
        data: dict = handler(self)
        if data.get("mac_address") is None:
            data.pop("mac_address", None)  # stored pairs carry no MAC key when none was given
        return data


class HostPort(Contract):
    """A compute port bound to this host."""

    id: str
    network_id: str
    mac: str
    fixed_ips: tuple[str, ...] = ()
    allowed_address_pairs: tuple[AddressPair, ...] = ()
    port_security: bool = True
    device_id: str = ""
    device_owner: str = ""
    admin_state_up: bool = True
    security_groups: tuple[str, ...] = ()


class DhcpSubnet(Contract):
    id: str
    cidr: str
    server_address: str
    gateway: str | None = None
    dns_servers: tuple[str, ...] = ()
    host_routes: tuple[tuple[str, str], ...] = ()  # (destination, next hop)


class DhcpHost(Contract):
    """A static lease: one per MAC, with the port's extra DHCP options as (name, value)."""

    mac: str
    ip: str
    hostname: str
    options: tuple[tuple[str, str], ...] = ()


class DhcpServer(Contract):
    """One network's DHCP server (on the network host), on the network's DHCP port."""

    network_id: str
    port_id: str
    mac: str
    mtu: int | None = None
    subnets: tuple[DhcpSubnet, ...]
    hosts: tuple[DhcpHost, ...] = ()


class SecurityGroupRule(Contract):
    direction: Literal["ingress", "egress"]
    ethertype: Literal["IPv4", "IPv6"]
    protocol: str | None = None  # None: any; tcp, udp, icmp, icmpv6 or a number 0-255
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None  # a network, e.g. 10.0.0.0/24
    remote_group_id: str | None = None


class Members(Contract):
    """The addresses of a group's ports (fixed IPs and allowed address pairs, on any host), per IP version."""

    ipv4: tuple[str, ...] = Field(default=(), alias="IPv4")
    ipv6: tuple[str, ...] = Field(default=(), alias="IPv6")


class SecurityGroup(Contract):
    rules: tuple[SecurityGroupRule, ...] = ()
    members: Members = Members()


class RouterGateway(Contract):
    network_id: str
    port_id: str
    mac: str
    ip: str
    prefixlen: int
    upstream_gateway: str | None = None
    enable_snat: bool = True


class RouterInterface(Contract):
    port_id: str
    network_id: str
    mac: str
    ip: str
    prefixlen: int
    subnet_cidr: str | None = None
    ra_mode: str | None = None


class FloatingIp(Contract):
    id: str
    floating_ip: str
    fixed_ip: str
    port_id: str | None = None


class ExtraRoute(Contract):
    destination: str
    nexthop: str


class Router(Contract):
    router_id: str
    admin_state_up: bool = True
    gateway: RouterGateway | None = None
    interfaces: tuple[RouterInterface, ...] = ()
    floating_ips: tuple[FloatingIp, ...] = ()
    routes: tuple[ExtraRoute, ...] = ()


class ExternalAccess(Contract):
    """The network host's own address on an external network (the first IPv4 subnet's gateway)."""

    network_id: str
    host_cidr: str
    cidr: str


class HostNetworkDocument(Contract):
    """Everything one host's network agent builds. Compute hosts get their ports' networks and groups; the
    network host also DHCP, routers, external access and who may ask the metadata service what."""

    generation: int
    networks: tuple[HostNetwork, ...] = ()
    ports: tuple[HostPort, ...] = ()
    dhcp: tuple[DhcpServer, ...] = ()
    security_groups: dict[str, SecurityGroup] = Field(default_factory=dict)
    routers: tuple[Router, ...] = ()
    external: tuple[ExternalAccess, ...] = ()
    network_host: bool = False
    # network id -> fixed IP -> (instance id, project id): a metadata request is known by where it comes from
    metadata_callers: dict[str, dict[str, tuple[str, str]]] = Field(default_factory=dict)


class Unchanged(Contract):
    """The long-poll's answer when nothing changed for this host before the wait ran out."""

    generation: int
    unchanged: Literal[True] = True
