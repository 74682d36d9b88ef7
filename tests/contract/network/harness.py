"""One harness per network driver: the conformance suite asks it what it cannot ask the driver itself.

The Linux harness plays whole hosts inside network namespaces it creates (named with a random prefix), so
nothing touches the machine's own interfaces, and everything it made is torn down in close(), even after a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from andromede.network.agent.drivers.base import NetworkDriver
from andromede.network.agent.drivers.fake import FakeHost, FakeNetworkDriver
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
        return Observed(vni=spec.vni, mtu=spec.mtu, bridge_ports=frozenset(ports))


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

    def new_driver(self) -> NetworkDriver:
        return LinuxNetworkDriver(self.hosts[0].driver.config)

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
        with contextlib.suppress(Exception):
            for netns in sh("ip", "netns", "list").stdout.split():
                if not netns.startswith(self.prefix):
                    continue
                for pid in sh("ip", "netns", "pids", netns, check=False).stdout.split():
                    with contextlib.suppress(ProcessLookupError, ValueError):
                        os.kill(int(pid), signal.SIGKILL)
                sh("ip", "netns", "delete", netns, check=False)
        shutil.rmtree(self.state_dir, ignore_errors=True)


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
