"""LinuxNetworkDriver: a bridge per network over VXLAN, dnsmasq per network in a namespace, nftables per port."""

from __future__ import annotations

import ipaddress
import shutil
from dataclasses import dataclass
from pathlib import Path

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
    check_id,
    check_ip,
)
from andromede.network.agent.drivers.linux import dnsmasq, metadata_proxy, names, nft, secgroups
from andromede.network.agent.drivers.linux.external import ExternalAccess
from andromede.network.agent.drivers.linux.inventory import Inventory
from andromede.network.agent.drivers.linux.links import Links
from andromede.network.agent.drivers.linux.router import Routers
from andromede.network.agent.drivers.linux.run import in_netns, run

NETNS_DIR = Path("/run/netns")


@dataclass(frozen=True)
class HostConfig:
    vtep_address: str  # this host's underlay address, the VXLAN source
    state_dir: Path  # dnsmasq's files, one directory per network (DHCP) or router (advertisements)
    vtep_device: str | None = None  # underlay device for VXLAN traffic; None lets routing decide
    netns: str | None = None  # where bridges and taps live; None: the agent's own namespace (tests use one per "host")
    namespace_prefix: str = ""  # prefix for DHCP namespace names, which are machine-wide
    # The agent's metadata relay (network/agent/metadata_relay.py); needed by DhcpSpec(metadata=True).
    metadata_socket: Path | None = None

    def __post_init__(self) -> None:
        check_ip(self.vtep_address)


@dataclass(frozen=True)
class OwnedNetwork:
    """What `andromede status` shows of one network of the installation: its devices and processes."""

    network_id: str
    bridge: str | None  # the bridge's name, when it exists
    dhcp_namespace: str | None  # when it exists
    dhcp_expected: bool  # the network has a DHCP server (its files are there)
    dnsmasq_pid: int | None  # when it runs
    metadata_expected: bool
    metadata_proxy_pid: int | None

    @property
    def problems(self) -> list[str]:
        found = [] if self.bridge is not None else ["no bridge"]
        if self.dhcp_expected and self.dnsmasq_pid is None:
            found.append("dnsmasq is not running")
        if self.metadata_expected and self.metadata_proxy_pid is None:
            found.append("the metadata proxy is not running")
        return found


@dataclass(frozen=True)
class OwnedRouter:
    router_id: str
    namespace: str | None  # when it exists

    @property
    def problems(self) -> list[str]:
        return [] if self.namespace is not None else ["no namespace"]


class LinuxNetworkDriver(NetworkDriver):
    def __init__(self, config: HostConfig) -> None:
        self.config = config
        self.links = Links(config.netns)
        self.nft = nft.Nft(config.netns)
        self.secgroups = secgroups.SecurityGroups(config.netns, self.links)
        self.routers = Routers(self.links, config.namespace_prefix, config.state_dir / "routers")
        self.external = ExternalAccess(self.links)
        self.inventory = Inventory(config.state_dir)  # what is this installation's: list_* show nothing else
        self.secgroups.owned = self.inventory

    # ---- networks ----

    def ensure_network(self, spec: NetworkSpec) -> None:
        self.inventory.add("network", spec.network_id)
        bridge = names.bridge_name(spec.network_id)
        self.links.ensure_bridge(bridge, mtu=spec.mtu, alias=names.network_alias(spec.network_id),
                                 mac=names.bridge_mac(spec.network_id))
        vxlan = names.vxlan_name(spec.vni)
        bridge_index = self._index(bridge)
        for link in self.links.all():
            if link.kind == "vxlan" and link.master == bridge_index and link.name != vxlan:
                self.links.delete(link.name)  # the network's VNI changed
        self.links.ensure_vxlan(
            vxlan,
            vni=spec.vni,
            local=self.config.vtep_address,
            device=self.config.vtep_device,
            mtu=spec.mtu,
            bridge=bridge,
        )
        self.links.ensure_flood_list(vxlan, spec.remote_vteps)

    def delete_network(self, network_id: str) -> None:
        check_id(network_id, "network_id")
        self.delete_dhcp(network_id)
        bridge = self.links.get(names.bridge_name(network_id))
        if bridge is not None and names.parse_network_alias(bridge.alias) == network_id:
            for link in self.links.all():
                if link.kind == "vxlan" and link.master == bridge.index:
                    self.links.delete(link.name)
            self.links.delete(bridge.name)
        self.inventory.discard("network", network_id)

    def list_networks(self) -> dict[str, NetworkState]:
        links = self.links.all()
        owned = self.inventory.ids("network")
        found: dict[str, NetworkState] = {}
        for bridge in links:
            network_id = names.parse_network_alias(bridge.alias)
            if bridge.kind != "bridge" or network_id not in owned:
                continue
            vnis = [link.vni for link in links if link.kind == "vxlan" and link.master == bridge.index]
            found[network_id] = NetworkState(
                network_id=network_id,
                vni=vnis[0] if vnis else None,
                mtu=bridge.mtu,
                dhcp=dnsmasq.running_pid(self._dhcp_paths(network_id)) is not None,
            )
        return found

    # ---- DHCP ----

    def ensure_dhcp(self, spec: DhcpSpec) -> None:
        bridge = names.bridge_name(spec.network_id)
        bridge_link = self.links.get(bridge)
        if bridge_link is None:
            raise DriverError(f"network {spec.network_id} does not exist on this host")
        namespace = self._dhcp_namespace(spec.network_id)
        self._ensure_netns(namespace)
        outer, inner = names.tap_name(spec.port_id), names.dhcp_inner_name(spec.port_id)
        self.links.ensure_veth(outer, peer=inner, peer_netns=namespace, peer_mac=spec.mac)
        self.links.configure(outer, mtu=bridge_link.mtu, master=bridge)
        addresses = set()
        for subnet in spec.subnets:
            addresses.add((subnet.server_address, ipaddress.ip_network(subnet.cidr).prefixlen))
        if spec.metadata:
            if self.config.metadata_socket is None:
                raise DriverError("metadata needs the host's metadata relay socket (HostConfig.metadata_socket)")
            addresses.add((metadata_proxy.METADATA_ADDRESS, 32))
        Links(namespace).ensure_addresses(inner, addresses)
        dnsmasq.ensure(spec, self._dhcp_paths(spec.network_id), namespace, inner)
        self._ensure_metadata_proxy(spec, namespace)

    def delete_dhcp(self, network_id: str) -> None:
        check_id(network_id, "network_id")
        paths = self._dhcp_paths(network_id)
        metadata_proxy.stop(str(self._metadata_pidfile(network_id)))
        dnsmasq.stop(paths)
        namespace = self._dhcp_namespace(network_id)
        if (NETNS_DIR / namespace).exists():
            run(["ip", "netns", "delete", namespace])  # takes the veth pair with it
        shutil.rmtree(paths.directory, ignore_errors=True)

    def dhcp_hosts(self, network_id: str) -> tuple[DhcpHost, ...] | None:
        paths = self._dhcp_paths(check_id(network_id, "network_id"))
        if dnsmasq.running_pid(paths) is None:
            return None
        return dnsmasq.parse_hosts(paths.hosts.read_text(), paths.options.read_text())

    # ---- ports ----

    def ensure_port(self, spec: PortSpec) -> None:
        bridge = self.links.get(names.bridge_name(spec.network_id))
        if bridge is None or names.parse_network_alias(bridge.alias) != spec.network_id:
            raise DriverError(f"network {spec.network_id} does not exist on this host")
        tap = names.tap_name(spec.port_id)
        existing = self.links.get(tap)
        owner = names.parse_port_alias(existing.alias) if existing else None
        if owner is not None and owner[0] != spec.port_id:
            raise DriverError(f"device {tap} belongs to port {owner[0]}, not {spec.port_id}")
        self.inventory.add("port", spec.port_id)
        self.links.ensure_tap(tap)
        # The filter goes on before the device joins the bridge: no window for spoofed frames. Anti-spoofing
        # and the port's security-group wiring load in one transaction (secgroups.py).
        if spec.port_security:
            self.secgroups.wire(spec, bridge.name)
        else:
            self.secgroups.unwire(spec.port_id)
        self.links.configure(
            tap, mtu=bridge.mtu, master=bridge.name, alias=names.port_alias(spec.port_id, spec.network_id)
        )

    def delete_port(self, port_id: str) -> None:
        check_id(port_id, "port_id")
        tap = self.links.get(names.tap_name(port_id))
        if tap is not None:
            owner = names.parse_port_alias(tap.alias)
            if owner is None or owner[0] == port_id:
                self.links.delete(tap.name)
        self.secgroups.unwire(port_id)
        self.inventory.discard("port", port_id)

    def list_ports(self) -> dict[str, PortState]:
        links = self.links.all()
        by_index = {link.index: link for link in links}
        owned = self.inventory.ids("port")
        filtered = self.nft.port_tables() & owned
        found: dict[str, PortState] = {}
        for link in links:
            owner = names.parse_port_alias(link.alias)
            if owner is None or owner[0] not in owned:
                continue
            port_id, network_id = owner
            master = by_index.get(link.master) if link.master is not None else None
            found[port_id] = PortState(
                port_id=port_id,
                network_id=network_id,
                device=link.name,
                attached=master is not None and names.parse_network_alias(master.alias) == network_id,
                filtered=port_id in filtered,
            )
        for port_id in filtered - found.keys():
            found[port_id] = PortState(port_id=port_id, network_id=None, device=None, attached=False, filtered=True)
        return found

    # ---- security groups (linux/secgroups.py) ----

    def ensure_security_groups(self, groups: tuple[SecurityGroupSpec, ...]) -> None:
        self.secgroups.ensure(groups)

    # ---- routers (linux/router.py) ----

    def ensure_router(self, spec: RouterSpec) -> None:
        self.inventory.add("router", spec.router_id)
        self.routers.ensure(spec)

    def delete_router(self, router_id: str) -> None:
        self.routers.delete(router_id)
        self.inventory.discard("router", router_id)

    def list_routers(self) -> dict[str, RouterState]:
        return self.routers.list(only=self.inventory.ids("router"))

    # ---- the external network's host side (linux/external.py) ----

    def ensure_external_access(self, network_id: str, host_cidr: str) -> None:
        self.inventory.add("external", check_id(network_id, "network_id"))
        self.external.ensure(network_id, host_cidr)

    def delete_external_access(self, network_id: str) -> None:
        self.external.delete(network_id)
        self.inventory.discard("external", network_id)

    # ---- the whole installation (andromede down --all) ----

    def owned_networks(self) -> list[OwnedNetwork]:
        """Each network of the inventory as the host has it now (read-only)."""
        found = []
        for network_id in sorted(self.inventory.ids("network")):
            bridge = names.bridge_name(network_id)
            namespace = self._dhcp_namespace(network_id)
            paths = self._dhcp_paths(network_id)
            pidfile = self._metadata_pidfile(network_id)
            found.append(OwnedNetwork(
                network_id=network_id,
                bridge=bridge if self.links.get(bridge) is not None else None,
                dhcp_namespace=namespace if (NETNS_DIR / namespace).exists() else None,
                dhcp_expected=paths.directory.is_dir(),
                dnsmasq_pid=dnsmasq.running_pid(paths),
                metadata_expected=pidfile.exists(),
                metadata_proxy_pid=metadata_proxy.running_pid(str(pidfile))))
        return found

    def owned_routers(self) -> list[OwnedRouter]:
        found = []
        for router_id in sorted(self.inventory.ids("router")):
            namespace = self.routers.namespace(router_id)
            found.append(OwnedRouter(router_id, namespace if (NETNS_DIR / namespace).exists() else None))
        return found

    def teardown(self) -> None:
        """As the base class does, over the inventory rather than what the listings find: it also holds what lost
        a device (a network whose bridge was deleted by hand still has its dnsmasq and namespace)."""
        for router_id in self.inventory.ids("router"):
            self.delete_router(router_id)
        for port_id in self.inventory.ids("port"):
            self.delete_port(port_id)
        for network_id in self.inventory.ids("external"):
            self.delete_external_access(network_id)
        for network_id in self.inventory.ids("network"):
            self.delete_network(network_id)
        self.ensure_security_groups(())
        self.nft.drop_if_unused()
        self.secgroups.drop_if_unused()
        shutil.rmtree(self.config.state_dir / "dhcp", ignore_errors=True)
        shutil.rmtree(self.config.state_dir / "routers", ignore_errors=True)

    # ---- helpers ----

    def _index(self, name: str) -> int:
        link = self.links.get(name)
        if link is None:
            raise DriverError(f"device {name} vanished")
        return link.index

    def _dhcp_namespace(self, network_id: str) -> str:
        return names.dhcp_namespace(self.config.namespace_prefix, network_id)

    def _dhcp_paths(self, network_id: str) -> dnsmasq.DhcpPaths:
        return dnsmasq.DhcpPaths(self.config.state_dir / "dhcp" / network_id)

    def _metadata_pidfile(self, network_id: str) -> Path:
        return self._dhcp_paths(network_id).directory / "metadata-proxy.pid"

    def _ensure_metadata_proxy(self, spec: DhcpSpec, namespace: str) -> None:
        """The network's metadata proxy runs (restarted if it died or its command changed), or is stopped."""
        pidfile = str(self._metadata_pidfile(spec.network_id))
        if not spec.metadata or self.config.metadata_socket is None:
            metadata_proxy.stop(pidfile)
            return
        argv = metadata_proxy.command(spec.network_id, str(self.config.metadata_socket), pidfile)
        pid = metadata_proxy.running_pid(pidfile)
        if pid is not None and metadata_proxy.running_argv(pid) != argv:
            metadata_proxy.stop(pidfile)
            pid = None
        if pid is None:
            run(in_netns(namespace, argv))  # it daemonises once listening, having written its pid file
            if metadata_proxy.running_pid(pidfile) is None:
                raise DriverError(f"the metadata proxy for namespace {namespace} did not stay up")

    @staticmethod
    def _ensure_netns(name: str) -> None:
        if not (NETNS_DIR / name).exists():
            run(["ip", "netns", "add", name])
