"""FakeNetworkDriver: the Linux driver's twin in memory, for unit tests and control-plane benchmarks.

It keeps the same contract (tests/contract/network runs one suite against both) without touching the host.
Drivers built on the same FakeHost see the same "kernel", so a new driver object adopts what an earlier one
built, like a restarted agent. Tests can reach behind its back through `host`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from andromede.network.agent.drivers.base import (
    DhcpHost,
    DhcpSpec,
    DriverError,
    NetworkDriver,
    NetworkSpec,
    NetworkState,
    PortSpec,
    PortState,
    check_id,
)


@dataclass
class FakeHost:
    networks: dict[str, NetworkSpec] = field(default_factory=dict)
    dhcp: dict[str, DhcpSpec] = field(default_factory=dict)
    ports: dict[str, PortSpec] = field(default_factory=dict)
    attached: set[str] = field(default_factory=set)  # port ids whose device is on their network's bridge
    filters: set[str] = field(default_factory=set)  # port ids with anti-spoofing loaded
    calls: list[str] = field(default_factory=list)


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

    def delete_dhcp(self, network_id: str) -> None:
        check_id(network_id, "network_id")
        self.host.dhcp.pop(network_id, None)

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

    def delete_port(self, port_id: str) -> None:
        check_id(port_id, "port_id")
        self.host.calls.append(f"delete_port {port_id}")
        self.host.ports.pop(port_id, None)
        self.host.attached.discard(port_id)
        self.host.filters.discard(port_id)

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
