"""FakeNetworkDriver: the Linux driver's twin in memory, for unit tests and control-plane benchmarks.

It keeps the same contract (tests/contract/network runs one suite against both) without touching the host.
Drivers built on the same FakeHost see the same "kernel", so a new driver object adopts what an earlier one
built, like a restarted agent. Tests can reach behind its back through `host`.
"""

from __future__ import annotations

import ipaddress
import itertools
from dataclasses import dataclass, field
from typing import Any

from andromede.network.agent.drivers import secgroup_model
from andromede.network.agent.drivers.base import (
    DhcpHost,
    DhcpSpec,
    DriverError,
    NetworkDriver,
    NetworkSpec,
    NetworkState,
    PortSpec,
    PortState,
    RouterSpec,
    RouterState,
    SecurityGroupSpec,
    check_host_cidr,
    check_id,
)


@dataclass
class FakeHost:
    networks: dict[str, NetworkSpec] = field(default_factory=dict)
    dhcp: dict[str, DhcpSpec] = field(default_factory=dict)
    ports: dict[str, PortSpec] = field(default_factory=dict)
    attached: set[str] = field(default_factory=set)  # port ids whose device is on their network's bridge
    filters: set[str] = field(default_factory=set)  # port ids with anti-spoofing loaded
    metadata: set[str] = field(default_factory=set)  # network ids whose DHCP namespace serves 169.254.169.254
    calls: list[str] = field(default_factory=list)
    groups: dict[str, SecurityGroupSpec] = field(default_factory=dict)  # security groups defined on the host
    flows: dict[int, Flow] = field(default_factory=dict)  # conntrack's twin: flows open now, by id
    routers: dict[str, RouterSpec] = field(default_factory=dict)
    router_attached: set[str] = field(default_factory=set)  # router port ids whose device is on their bridge
    external: dict[str, str] = field(default_factory=dict)  # network id -> the host's address on its bridge
    # What the data plane carries, for reachability questions (see `trace`): guests plugged by tests, and
    # (endpoint, TCP port) pairs something listens on.
    guests: dict[str, FakeGuest] = field(default_factory=dict)
    listeners: set[tuple[str, int]] = field(default_factory=set)

    def trace(self, source: str, address: str) -> tuple[str, str] | None:
        """(endpoint reached, source address it saw) for a connection from `source` to `address` whose replies
        also make it back, or None. Endpoints: guest names, HOST (the host's own namespace), router:<id>.
        Modelled: bridges, anti-spoofing, routes, the routers' NAT and forward rules; not security groups."""
        return _Plane(self).trace(source, address)


@dataclass(frozen=True)
class Flow:
    network_id: str
    src_port: str
    dst_port: str
    src_ip: str
    dst_ip: str
    protocol: int
    dport: int | None = None
    sport: int | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None


_flow_ids = itertools.count(1)


class FakeNetworkDriver(NetworkDriver):
    def __init__(self, host: FakeHost | None = None) -> None:
        self.host = host if host is not None else FakeHost()

    def ensure_network(self, spec: NetworkSpec) -> None:
        self.host.calls.append(f"ensure_network {spec.network_id}")
        self.host.networks[spec.network_id] = spec

    def delete_network(self, network_id: str) -> None:
        check_id(network_id, "network_id")
        self.host.calls.append(f"delete_network {network_id}")
        self.delete_dhcp(network_id)
        self.host.networks.pop(network_id, None)
        self.host.attached -= {p.port_id for p in self.host.ports.values() if p.network_id == network_id}
        self.host.router_attached -= {port_id for port_id, net in _router_ports(self.host) if net == network_id}
        self.host.external.pop(network_id, None)  # the address lived on the bridge

    def list_networks(self) -> dict[str, NetworkState]:
        return {
            network_id: NetworkState(
                network_id=network_id, vni=spec.vni, mtu=spec.mtu, dhcp=network_id in self.host.dhcp
            )
            for network_id, spec in self.host.networks.items()
        }

    def ensure_dhcp(self, spec: DhcpSpec) -> None:
        if spec.network_id not in self.host.networks:
            raise DriverError(f"network {spec.network_id} does not exist on this host")
        self.host.calls.append(f"ensure_dhcp {spec.network_id}")
        self.host.dhcp[spec.network_id] = spec
        if spec.metadata:
            self.host.metadata.add(spec.network_id)
        else:
            self.host.metadata.discard(spec.network_id)

    def delete_dhcp(self, network_id: str) -> None:
        check_id(network_id, "network_id")
        self.host.dhcp.pop(network_id, None)
        self.host.metadata.discard(network_id)

    def dhcp_hosts(self, network_id: str) -> tuple[DhcpHost, ...] | None:
        spec = self.host.dhcp.get(check_id(network_id, "network_id"))
        return None if spec is None else spec.hosts

    def ensure_port(self, spec: PortSpec) -> None:
        if spec.network_id not in self.host.networks:
            raise DriverError(f"network {spec.network_id} does not exist on this host")
        clash = next((p for p in self.host.ports if p[:11] == spec.port_id[:11] and p != spec.port_id), None)
        if clash is not None:
            raise DriverError(f"device tap{spec.port_id[:11]} belongs to port {clash}, not {spec.port_id}")
        self.host.calls.append(f"ensure_port {spec.port_id}")
        self.host.ports[spec.port_id] = spec
        if spec.port_security:
            self.host.filters.add(spec.port_id)
        else:
            self.host.filters.discard(spec.port_id)
        self.host.attached.add(spec.port_id)
        self._cut_flows()

    def delete_port(self, port_id: str) -> None:
        check_id(port_id, "port_id")
        self.host.calls.append(f"delete_port {port_id}")
        self.host.ports.pop(port_id, None)
        self.host.attached.discard(port_id)
        self.host.filters.discard(port_id)
        self.host.flows = {k: f for k, f in self.host.flows.items() if port_id not in (f.src_port, f.dst_port)}

    def list_ports(self) -> dict[str, PortState]:
        found = {
            port_id: PortState(
                port_id=port_id,
                network_id=spec.network_id,
                device="tap" + port_id[:11],
                attached=port_id in self.host.attached,
                filtered=port_id in self.host.filters,
            )
            for port_id, spec in self.host.ports.items()
        }
        for port_id in self.host.filters - found.keys():
            found[port_id] = PortState(port_id=port_id, network_id=None, device=None, attached=False, filtered=True)
        return found

    # ---- routers ----

    def ensure_router(self, spec: RouterSpec) -> None:
        for _, network_id in sorted(_ports_of(spec)):
            if network_id not in self.host.networks:
                raise DriverError(f"network {network_id} does not exist on this host")
        self.host.calls.append(f"ensure_router {spec.router_id}")
        old = self.host.routers.get(spec.router_id)
        if old is not None:
            self.host.router_attached -= {port_id for port_id, _ in _ports_of(old)}
        self.host.routers[spec.router_id] = spec
        self.host.router_attached |= {port_id for port_id, _ in _ports_of(spec)}

    def delete_router(self, router_id: str) -> None:
        check_id(router_id, "router_id")
        self.host.calls.append(f"delete_router {router_id}")
        old = self.host.routers.pop(router_id, None)
        if old is not None:
            self.host.router_attached -= {port_id for port_id, _ in _ports_of(old)}

    def list_routers(self) -> dict[str, RouterState]:
        return {
            router_id: RouterState(
                router_id=router_id,
                gateway=spec.gateway.port_id if spec.gateway else None,
                interfaces=frozenset(i.port_id for i in spec.interfaces),
                floating_ips=tuple(sorted(spec.floating_ips, key=lambda f: ipaddress.ip_address(f.floating_ip))),
                snat=_snat(spec),
            )
            for router_id, spec in self.host.routers.items()
        }

    # ---- the external network's host side ----

    def ensure_external_access(self, network_id: str, host_cidr: str) -> None:
        check_host_cidr(host_cidr)
        if network_id not in self.host.networks:
            raise DriverError(f"network {network_id} does not exist on this host")
        self.host.calls.append(f"ensure_external_access {network_id}")
        self.host.external[network_id] = host_cidr

    def delete_external_access(self, network_id: str) -> None:
        check_id(network_id, "network_id")
        self.host.external.pop(network_id, None)


    # ---- security groups: the same model (secgroup_model.py) the Linux driver compiles to nftables ----

    def ensure_security_groups(self, groups: tuple[SecurityGroupSpec, ...]) -> None:
        wanted = {g.group_id: g for g in groups}
        if len(wanted) != len(groups):
            raise ValueError("security group ids must be unique")
        self.host.calls.append("ensure_security_groups")
        in_use = {g for p in self.host.ports.values() if p.port_security for g in p.security_group_ids}
        kept = {gid: g for gid, g in self.host.groups.items() if gid not in wanted and gid in in_use}
        self.host.groups = {**kept, **wanted}
        self._cut_flows()

    def packet_allowed(
        self,
        src_port: str,
        dst_port: str,
        *,
        src_ip: str,
        dst_ip: str,
        protocol: int,
        dport: int | None = None,
        sport: int | None = None,
        icmp_type: int | None = None,
        icmp_code: int | None = None,
    ) -> bool:
        """Would the first packet of a new flow from one port's guest to another's pass (same network)?"""
        src, dst = self.host.ports.get(src_port), self.host.ports.get(dst_port)
        if src is None or dst is None or src.network_id != dst.network_id:
            return False
        if not {src_port, dst_port} <= self.host.attached:
            return False
        version = ipaddress.ip_address(src_ip).version
        if ipaddress.ip_address(dst_ip).version != version:
            return False
        if not any(ipaddress.ip_address(dst_ip) in net for net in secgroup_model.port_addresses(dst)):
            return False  # nobody answers at that address
        for spec, direction, remote, own in ((src, "egress", dst_ip, src_ip), (dst, "ingress", src_ip, dst_ip)):
            if not spec.port_security:
                continue
            if direction == "egress" and not any(
                ipaddress.ip_address(own) in net for net in secgroup_model.port_addresses(spec)
            ):
                return False  # anti-spoofing
            packet = secgroup_model.Packet(
                direction=direction,
                version=version,
                protocol=protocol,
                remote=ipaddress.ip_address(remote),
                dport=dport,
                sport=sport,
                icmp_type=icmp_type,
                icmp_code=icmp_code,
            )
            if not secgroup_model.port_allows(spec.security_group_ids, packet, self.host.groups):
                return False
        return True

    def open_flow(self, src_port: str, dst_port: str, **packet: Any) -> int | None:
        """Start a flow as a guest would; its id, or None when its first packet is dropped."""
        if not self.packet_allowed(src_port, dst_port, **packet):
            return None
        flow_id = next(_flow_ids)
        self.host.flows[flow_id] = Flow(
            network_id=self.host.ports[src_port].network_id, src_port=src_port, dst_port=dst_port, **packet
        )
        return flow_id

    def flow_alive(self, flow_id: int) -> bool:
        return flow_id in self.host.flows

    def _cut_flows(self) -> None:
        """Conntrack's twin: a flow its ports' groups no longer allow is cut (re-checked as a first packet)."""
        alive = {}
        for flow_id, flow in self.host.flows.items():
            if self.packet_allowed(
                flow.src_port,
                flow.dst_port,
                src_ip=flow.src_ip,
                dst_ip=flow.dst_ip,
                protocol=flow.protocol,
                dport=flow.dport,
                sport=flow.sport,
                icmp_type=flow.icmp_type,
                icmp_code=flow.icmp_code,
            ):
                alive[flow_id] = flow
        self.host.flows = alive

# ---- reachability: what the Linux data plane would deliver, hop by hop, with conntrack-style NAT ----

HOST = "host"
MAX_HOPS = 16


@dataclass(frozen=True)
class FakeGuest:
    """A guest stand-in plugged into a port: its address, prefix length and default gateway."""

    port_id: str
    ip: str
    prefixlen: int
    gateway: str | None = None


def _ports_of(spec: RouterSpec) -> set[tuple[str, str]]:
    ports = {(i.port_id, i.network_id) for i in spec.interfaces}
    if spec.gateway is not None:
        ports.add((spec.gateway.port_id, spec.gateway.network_id))
    return ports


def _snat(spec: RouterSpec) -> bool:
    """Like the Linux table: default SNAT loaded when there is something (an IPv4 subnet) to SNAT."""
    gateway = spec.gateway
    return gateway is not None and gateway.enable_snat and any(i.subnet.version == 4 for i in spec.interfaces)


def _router_ports(host: FakeHost) -> set[tuple[str, str]]:
    return {pair for spec in host.routers.values() for pair in _ports_of(spec)}


@dataclass(frozen=True)
class _Leg:
    network_id: str
    addresses: tuple[tuple[str, int], ...]
    gateway: bool = False  # a router's external leg

    def connected(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(f"{a}/{p}", strict=False) for a, p in self.addresses]


@dataclass
class _Node:
    name: str
    legs: list[_Leg]
    default: str | None = None
    router: RouterSpec | None = None
    guest: FakeGuest | None = None

    def local(self, address: str) -> bool:
        return any(a == address for leg in self.legs for a, _ in leg.addresses)


@dataclass
class _Conntrack:
    dnat: tuple[str, str] | None = None  # (original destination, translated)
    snat: tuple[str, str] | None = None  # (original source, translated)


class _Plane:
    def __init__(self, host: FakeHost) -> None:
        self.host = host
        self.nodes: dict[str, _Node] = {}
        networks = host.networks
        for name, guest in host.guests.items():
            port = host.ports.get(guest.port_id)
            legs = []
            if port is not None and guest.port_id in host.attached and port.network_id in networks:
                legs.append(_Leg(port.network_id, ((guest.ip, guest.prefixlen),)))
            self.nodes[name] = _Node(name, legs, default=guest.gateway, guest=guest)
        self.nodes[HOST] = _Node(
            HOST,
            [
                _Leg(net, ((str(check_host_cidr(cidr).ip), check_host_cidr(cidr).network.prefixlen),))
                for net, cidr in host.external.items()
                if net in networks
            ],
        )
        for router_id, spec in host.routers.items():
            legs = []
            by_port: dict[str, list[tuple[str, int]]] = {}
            for interface in spec.interfaces:
                by_port.setdefault(interface.port_id, []).append((interface.ip, interface.prefixlen))
            for interface in spec.interfaces:
                if interface.port_id in host.router_attached and interface.port_id in by_port:
                    legs.append(_Leg(interface.network_id, tuple(by_port.pop(interface.port_id))))
            default = None
            gateway = spec.gateway
            if gateway is not None and gateway.port_id in host.router_attached:
                floating = tuple((f.floating_ip, 32) for f in spec.floating_ips)
                legs.append(_Leg(gateway.network_id, ((gateway.ip, gateway.prefixlen), *floating), gateway=True))
                default = gateway.upstream_gateway
            self.nodes[f"router:{router_id}"] = _Node(f"router:{router_id}", legs, default=default, router=spec)

    def trace(self, source: str, address: str) -> tuple[str, str] | None:
        conntrack: dict[str, _Conntrack] = {}
        there = self._walk(source, None, address, conntrack, reply=False)
        if there is None:
            return None
        reached, seen_source, final_destination = there
        back = self._walk(reached, final_destination, seen_source, conntrack, reply=True)
        if back is None or back[0] != source or back[1] != address:
            return None
        return reached, seen_source

    def _route(self, node: _Node, destination: str) -> tuple[_Leg, str] | None:
        target = ipaddress.ip_address(destination)
        best: tuple[int, _Leg] | None = None
        for leg in node.legs:
            for subnet in leg.connected():
                longer = best is None or subnet.prefixlen > best[0]
                if subnet.prefixlen < subnet.max_prefixlen and target in subnet and longer:
                    best = (subnet.prefixlen, leg)
        if node.router is not None:  # extra routes win over a shorter connected prefix, like the kernel's
            extra = [(net.prefixlen, route.nexthop) for route in node.router.routes
                     if target in (net := ipaddress.ip_network(route.destination))]
            if extra and (best is None or max(extra)[0] > best[0]):
                nexthop = max(extra)[1]
                if nexthop != destination:
                    via = self._route(node, nexthop)
                    return (via[0], nexthop) if via is not None else None
        if best is not None:
            return best[1], destination
        if node.default is None or node.default == destination:
            return None
        via = self._route(node, node.default)
        return (via[0], node.default) if via is not None else None

    def _owner(self, network_id: str, address: str, exclude: str) -> tuple[_Node, _Leg] | None:
        for node in self.nodes.values():
            if node.name == exclude:
                continue
            for leg in node.legs:
                if leg.network_id == network_id and any(a == address for a, _ in leg.addresses):
                    return node, leg
        return None

    def _may_send(self, node: _Node, source: str) -> bool:
        """The port's anti-spoofing filter (what the guest emits)."""
        if node.guest is None:
            return True
        port = self.host.ports[node.guest.port_id]
        if not port.port_security:
            return True
        if source in port.fixed_ips:
            return True
        return any(ipaddress.ip_address(source) in ipaddress.ip_network(p.cidr) for p in port.allowed_address_pairs)

    def _walk(
        self, start: str, source: str | None, destination: str, conntrack: dict[str, _Conntrack], *, reply: bool
    ) -> tuple[str, str, str] | None:
        node = self.nodes.get(start)
        if node is None:
            return None
        if node.local(destination):
            return node.name, source or destination, destination
        came_from_outside = False
        for _ in range(MAX_HOPS):
            hop = self._route(node, destination)
            if hop is None:
                return None
            leg, nexthop = hop
            if source is None:
                source = leg.addresses[0][0]
            if node.router is not None:
                source = self._postrouting(node, leg, source, conntrack, reply=reply, hairpin=not came_from_outside)
            if not self._may_send(node, source):
                return None
            found = self._owner(leg.network_id, nexthop, exclude=node.name)
            if found is None:
                return None
            node, in_leg = found
            came_from_outside = in_leg.gateway
            if node.router is not None:
                destination = self._prerouting(node, destination, conntrack, reply=reply)
            if node.local(destination):
                return node.name, source, destination
            if node.router is None:
                return None
            out = self._route(node, destination)
            if out is None:
                return None
            if not reply and in_leg.gateway:
                if out[0].gateway:
                    return None  # never back out of the gateway it came in through
                gateway = node.router.gateway
                tracked = conntrack.get(node.name)
                if gateway is not None and gateway.enable_snat and (tracked is None or tracked.dnat is None):
                    return None  # SNAT on: the outside opens connections to floating IPs only
        return None

    @staticmethod
    def _prerouting(node: _Node, destination: str, conntrack: dict[str, _Conntrack], *, reply: bool) -> str:
        assert node.router is not None
        tracked = conntrack.setdefault(node.name, _Conntrack())
        if reply:
            if tracked.snat is not None and destination == tracked.snat[1]:
                return tracked.snat[0]
            return destination
        for entry in node.router.floating_ips:
            if entry.floating_ip == destination and any(leg.gateway for leg in node.legs):
                tracked.dnat = (destination, entry.fixed_ip)
                return entry.fixed_ip
        return destination

    @staticmethod
    def _postrouting(
        node: _Node, leg: _Leg, source: str, conntrack: dict[str, _Conntrack], *, reply: bool, hairpin: bool
    ) -> str:
        assert node.router is not None
        tracked = conntrack.setdefault(node.name, _Conntrack())
        if reply:
            if tracked.dnat is not None and source == tracked.dnat[1]:
                return tracked.dnat[0]
            return source
        gateway = node.router.gateway
        if gateway is not None and not leg.gateway and hairpin and tracked.dnat is not None:
            tracked.snat = (source, gateway.ip)  # a floating IP reached from inside: answers come back through us
            return gateway.ip
        if not leg.gateway or gateway is None:
            return source
        for entry in node.router.floating_ips:
            if entry.fixed_ip == source:
                tracked.snat = (source, entry.floating_ip)
                return entry.floating_ip
        address = ipaddress.ip_address(source)
        if gateway.enable_snat and any(
            i.subnet.version == 4 and address in i.subnet for i in node.router.interfaces
        ):
            tracked.snat = (source, gateway.ip)
            return gateway.ip
        return source
