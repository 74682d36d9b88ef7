"""One harness per network driver: the conformance suite asks it what it cannot ask the driver itself.

The Linux harness plays whole hosts inside network namespaces it creates (named with a random prefix), so
nothing touches the machine's own interfaces, and everything it made is torn down in close(), even after a failure.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

from andromede.network.agent.drivers.base import NetworkDriver, PortSpec
from andromede.network.agent.drivers.fake import HOST, FakeGuest, FakeHost, FakeNetworkDriver
from andromede.network.agent.drivers.linux import HostConfig, LinuxNetworkDriver, names

UNDERLAY_PREFIX = "198.51.100."  # TEST-NET-2, only ever inside the harness's namespaces


def new_id() -> str:
    return str(uuid.uuid4())


def sh(*argv: str, timeout: float = 10.0, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=check)


@dataclass(frozen=True)
class Observed:
    """The kernel's view of one network, read around the driver."""

    vni: int | None
    mtu: int | None
    bridge_ports: frozenset[str]


class Harness:
    driver: NetworkDriver

    def new_driver(self) -> NetworkDriver:
        raise NotImplementedError

    def observe(self, network_id: str) -> Observed | None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    # ---- the data plane as a guest sees it (routers, floating IPs) ----

    def guest(self, port: PortSpec, cidr: str, gateway: str | None = None) -> str:
        """An endpoint plugged into `port` (call before ensure_port) with address `cidr` and a default route."""
        raise NotImplementedError

    def outside(self) -> str:
        """The endpoint on the host side of the external network (ensure_external_access gives it its address)."""
        raise NotImplementedError

    def ping(self, endpoint: str, address: str) -> bool:
        raise NotImplementedError

    def listen(self, endpoint: str, port: int) -> None:
        """Accept TCP connections on `port` at `endpoint` (for connect)."""
        raise NotImplementedError

    def connect(self, endpoint: str, address: str, port: int) -> str | None:
        """Open a TCP connection from `endpoint`; the source address the listener saw, or None when none answered."""
        raise NotImplementedError

    def has_router_namespace(self, router_id: str) -> bool:
        raise NotImplementedError


@dataclass
class FakeHarness(Harness):
    host: FakeHost = field(default_factory=FakeHost)

    def __post_init__(self) -> None:
        self.driver = FakeNetworkDriver(self.host)

    def new_driver(self) -> NetworkDriver:
        return FakeNetworkDriver(self.host)

    def observe(self, network_id: str) -> Observed | None:
        spec = self.host.networks.get(network_id)
        if spec is None:
            return None
        ports = {f"vxlan-{spec.vni}"}
        ports |= {"tap" + p[:11] for p in self.host.attached if self.host.ports[p].network_id == network_id}
        if network_id in self.host.dhcp:
            ports.add("tap" + self.host.dhcp[network_id].port_id[:11])
        for router in self.host.routers.values():
            legs = [(i.port_id, i.network_id) for i in router.interfaces]
            if router.gateway is not None:
                legs.append((router.gateway.port_id, router.gateway.network_id))
            ports |= {"tap" + p[:11] for p, net in legs if net == network_id and p in self.host.router_attached}
        return Observed(vni=spec.vni, mtu=spec.mtu, bridge_ports=frozenset(ports))

    def guest(self, port: PortSpec, cidr: str, gateway: str | None = None) -> str:
        name = f"vm{len(self.host.guests) + 1}"
        interface = ipaddress.ip_interface(cidr)
        self.host.guests[name] = FakeGuest(port.port_id, str(interface.ip), interface.network.prefixlen, gateway)
        return name

    def outside(self) -> str:
        return HOST

    def ping(self, endpoint: str, address: str) -> bool:
        return self.host.trace(endpoint, address) is not None

    def listen(self, endpoint: str, port: int) -> None:
        self.host.listeners.add((endpoint, port))

    def connect(self, endpoint: str, address: str, port: int) -> str | None:
        reached = self.host.trace(endpoint, address)
        if reached is None or (reached[0], port) not in self.host.listeners:
            return None
        return reached[1]

    def has_router_namespace(self, router_id: str) -> bool:
        return router_id in self.host.routers


@dataclass
class LinuxHost:
    netns: str
    vtep: str
    driver: LinuxNetworkDriver


class LinuxHarness(Harness):
    def __init__(self) -> None:
        self.prefix = f"andr{uuid.uuid4().hex[:6]}-"
        self.state_dir = Path(tempfile.mkdtemp(prefix="andr-net-"))
        self.state_dir.chmod(0o711)  # dnsmasq re-reads its files after dropping root (to nobody)
        self.hosts: list[LinuxHost] = []
        self._vms = 0
        self._listeners: list[tuple[int, socket.socket]] = []
        self.driver = self.add_host().driver

    # ---- hosts and guests ----

    def _netns(self, suffix: str) -> str:
        name = self.prefix + suffix
        sh("ip", "netns", "add", name)
        sh("ip", "-n", name, "link", "set", "lo", "up")
        return name

    def add_host(self) -> LinuxHost:
        """A host namespace with an underlay device; hosts share one underlay bridge in its own namespace."""
        index = len(self.hosts) + 1
        netns = self._netns(f"host{index}")
        if index == 1:
            self._netns("underlay")
            sh("ip", "-n", self.prefix + "underlay", "link", "add", "ul", "type", "bridge")
            sh("ip", "-n", self.prefix + "underlay", "link", "set", "ul", "up")
        vtep = f"{UNDERLAY_PREFIX}{index}"
        outer = f"ul{index}"
        sh(
            "ip",
            "-n",
            netns,
            "link",
            "add",
            "eth0",
            "type",
            "veth",
            "peer",
            "name",
            outer,
            "netns",
            self.prefix + "underlay",
        )
        sh("ip", "-n", self.prefix + "underlay", "link", "set", outer, "master", "ul", "up")
        sh("ip", "-n", netns, "addr", "add", f"{vtep}/24", "dev", "eth0")
        sh("ip", "-n", netns, "link", "set", "eth0", "up")
        config = HostConfig(
            vtep_address=vtep,
            vtep_device="eth0",
            state_dir=self.state_dir / f"host{index}",
            netns=netns,
            namespace_prefix=f"{self.prefix}h{index}-",
        )
        host = LinuxHost(netns=netns, vtep=vtep, driver=LinuxNetworkDriver(config))
        self.hosts.append(host)
        return host

    def vm(self, port_id: str, mac: str, cidr: str | None, *, host: LinuxHost | None = None) -> str:
        """A guest stand-in: a namespace whose eth0 is the peer of the port's "tap" (a veth) in the host namespace."""
        host = host or self.hosts[0]
        self._vms += 1
        netns = self._netns(f"vm{self._vms}")
        tap = names.tap_name(port_id)
        sh("ip", "-n", host.netns, "link", "add", tap, "type", "veth", "peer", "name", "eth0", "netns", netns)
        sh("ip", "-n", netns, "link", "set", "eth0", "address", mac)
        if cidr:
            sh("ip", "-n", netns, "addr", "add", cidr, "dev", "eth0")
        sh("ip", "-n", netns, "link", "set", "eth0", "up")
        return netns

    def guest(self, port: PortSpec, cidr: str, gateway: str | None = None) -> str:
        netns = self.vm(port.port_id, port.mac, cidr)
        if gateway:
            sh("ip", "-n", netns, "route", "add", "default", "via", gateway)
        return netns

    def outside(self) -> str:
        return self.hosts[0].netns

    def listen(self, endpoint: str, port: int) -> None:
        server = socket_in(endpoint)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("0.0.0.0", port))  # noqa: S104 - a throwaway namespace of its own
        server.listen(8)
        self._listeners.append((port, server))

    def connect(self, endpoint: str, address: str, port: int) -> str | None:
        with socket_in(endpoint) as client:
            client.settimeout(2)
            if client.connect_ex((address, port)) != 0:
                return None
            for listening, server in self._listeners:
                if listening != port:
                    continue
                server.settimeout(0.5)
                with contextlib.suppress(OSError):
                    accepted, peer = server.accept()
                    accepted.close()
                    return str(peer[0])
        return None

    def has_router_namespace(self, router_id: str) -> bool:
        config = self.hosts[0].driver.config
        return (Path("/run/netns") / names.router_namespace(config.namespace_prefix, router_id)).exists()

    def new_driver(self) -> NetworkDriver:
        return LinuxNetworkDriver(self.hosts[0].driver.config)

    def other_installation(self) -> LinuxNetworkDriver:
        """A driver of another installation on the first host: same namespaces, its own state dir."""
        state_dir = Path(tempfile.mkdtemp(prefix="other-", dir=self.state_dir))
        state_dir.chmod(0o711)
        return LinuxNetworkDriver(replace(self.hosts[0].driver.config, state_dir=state_dir))

    def nft_tables(self) -> set[str]:
        listing = json.loads(sh("ip", "netns", "exec", self.hosts[0].netns, "nft", "-j", "list", "tables").stdout)
        return {item["table"]["name"] for item in listing.get("nftables", []) if "table" in item}

    def observe(self, network_id: str) -> Observed | None:
        netns = self.hosts[0].netns
        bridge = names.bridge_name(network_id)
        links = json.loads(sh("ip", "-n", netns, "-j", "-d", "link", "show").stdout)
        by_name = {link["ifname"]: link for link in links}
        if bridge not in by_name:
            return None
        ports = [link for link in links if link.get("master") == bridge]
        vxlans = [p for p in ports if p.get("linkinfo", {}).get("info_kind") == "vxlan"]
        vni = vxlans[0]["linkinfo"]["info_data"]["id"] if vxlans else None
        return Observed(vni=vni, mtu=by_name[bridge]["mtu"], bridge_ports=frozenset(p["ifname"] for p in ports))

    def ping(self, netns: str, address: str, *, count: int = 1) -> bool:
        done = sh("ip", "netns", "exec", netns, "busybox", "ping", "-c", str(count), "-W", "1", address, check=False)
        return done.returncode == 0

    def dhcp_lease(self, netns: str) -> dict[str, str] | None:
        """Run busybox udhcpc once; the lease's variables (ip, router, mtu...) or None when no server answered."""
        script = self.state_dir / "udhcpc.sh"
        if not script.exists():
            script.write_text('#!/bin/sh\n[ "$1" = bound ] && env\nexit 0\n')
            script.chmod(0o755)
        done = sh(
            "ip",
            "netns",
            "exec",
            netns,
            "busybox",
            "udhcpc",
            "-i",
            "eth0",
            "-n",
            "-q",
            "-f",
            "-t",
            "3",
            "-T",
            "1",
            "-O",
            "mtu",
            "-s",
            str(script),
            timeout=15,
            check=False,
        )
        if done.returncode != 0:
            return None
        lease = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
        return lease if "ip" in lease else None

    # ---- teardown ----

    def close(self) -> None:
        for _, server in self._listeners:
            server.close()
        with contextlib.suppress(Exception):
            for netns in sh("ip", "netns", "list").stdout.split():
                if not netns.startswith(self.prefix):
                    continue
                for pid in sh("ip", "netns", "pids", netns, check=False).stdout.split():
                    with contextlib.suppress(ProcessLookupError, ValueError):
                        os.kill(int(pid), signal.SIGKILL)
                sh("ip", "netns", "delete", netns, check=False)
        shutil.rmtree(self.state_dir, ignore_errors=True)


CLONE_NEWNET = 0x40000000


def socket_in(netns: str, family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM) -> socket.socket:
    """A socket that lives in `netns`: made by a thread that joined it (setns moves the calling thread only)."""
    made: list[socket.socket | BaseException] = []

    def work() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            with open(f"/run/netns/{netns}") as handle:
                if libc.setns(handle.fileno(), CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns into {netns}")
            made.append(socket.socket(family, kind))
        except BaseException as exc:
            made.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    if isinstance(made[0], BaseException):
        raise made[0]
    return made[0]


def linux_unavailable() -> str | None:
    """Why the Linux driver cannot be tested here, or None."""
    if os.geteuid() != 0:
        return "the Linux network driver needs root (netns, bridges, nftables)"
    for tool in ("ip", "nft", "dnsmasq"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian packages iproute2, nftables, dnsmasq-base)"
    probe = f"andrprobe{uuid.uuid4().hex[:6]}"
    try:
        sh("ip", "netns", "add", probe)
    except (subprocess.SubprocessError, OSError) as exc:
        return f"cannot create network namespaces here: {exc}"
    sh("ip", "netns", "delete", probe, check=False)
    return None
