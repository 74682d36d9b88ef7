"""Data-plane benchmark: TCP throughput between two ports as the agent wires them ÷ the same endpoints on bare kernel
devices, in one run, cases alternated (ABAB...) so drift and noise hit both alike.

Not a test: it never asserts speed. Run as root: .venv/bin/python bench/dataplane.py [--runs N] [--seconds S]

- bridge: two guests (namespaces whose eth0 is the peer of the port's "tap" veth, as the conformance suite plugs
  them) on one network of one host, wired by LinuxNetworkDriver: bridge, per-port anti-spoofing and, when the
  driver has them, security groups (a default-group-like set: egress anywhere, ingress from the group's members).
  Baseline: a bare Linux bridge with the same veths and MTU, no filtering.
- vxlan: the same two guests on two hosts (namespaces joined by an underlay bridge), the network carried by VXLAN.
  Baseline: bare VXLAN devices on bare bridges between the same namespaces.
- floor (both paths): the bare devices plus connection tracking in a zone and an "established" check, the least
  a stateful filter costs here; it splits agent / bare into what statefulness costs and what the agent adds.
- onehook (VXLAN): the bare devices plus one netfilter hook holding one rule that never matches, what a single
  hook costs on this machine.

Throughput is measured by a small Python sender/receiver pair (1 MiB sends for S seconds; the receiver counts
bytes between the first one and EOF); each side is its own process in its own namespace.

CPU model (machines with 2 CPUs or more; --shared-cpu turns it off): the sender runs on CPU 0 and the receiver on
CPU 1, and for VXLAN the second host's underlay interface hands what it receives to CPU 1 (receive packet steering),
so each simulated host does its own kernel work on its own CPU, as two machines would. Without it, a veth delivers
synchronously: the sender's CPU would also do all of the receiving host's work, whichever CPU the scheduler happened
to pick for each process (runs then scatter by +-8 %, against +-2 % pinned). Both sides of each ratio
share the machine's br_netfilter setting (bridged IPv4 crosses the host namespace's ip hooks when it is on).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path

from andromede.network.agent.drivers import base
from andromede.network.agent.drivers.base import NetworkSpec, PortSpec
from andromede.network.agent.drivers.linux import HostConfig, LinuxNetworkDriver, names

MTU = 1450
PORT = 5201
RECEIVER = r"""
import socket, sys, time
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(1)
print("ready", flush=True)
conn, _ = server.accept()
buffer = bytearray(1 << 20)
view = memoryview(buffer)
total, first = 0, None
while True:
    n = conn.recv_into(view)
    if not n:
        break
    if first is None:
        first = time.perf_counter()
    total += n
print(total, time.perf_counter() - (first or time.perf_counter()), flush=True)
"""
SENDER = r"""
import socket, sys, time
client = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
payload = b"\0" * (1 << 20)
deadline = time.perf_counter() + float(sys.argv[3])
while time.perf_counter() < deadline:
    client.sendall(payload)
client.close()
"""


def sh(*argv: str, check: bool = True) -> str:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=check).stdout


class Namespaces:
    """Every namespace this run makes carries one random prefix and is deleted at the end, even after a failure."""

    def __init__(self) -> None:
        self.prefix = f"andrbench{uuid.uuid4().hex[:4]}-"
        self.made: list[str] = []
        self.directories: list[Path] = []

    def add(self, suffix: str) -> str:
        name = self.prefix + suffix
        sh("ip", "netns", "add", name)
        sh("ip", "-n", name, "link", "set", "lo", "up")
        self.made.append(name)
        return name

    def close(self) -> None:
        for name in sh("ip", "netns", "list").split():
            if name.startswith(self.prefix):
                for pid in sh("ip", "netns", "pids", name, check=False).split():
                    with contextlib.suppress(ProcessLookupError, ValueError):
                        os.kill(int(pid), 9)
                sh("ip", "netns", "delete", name, check=False)
        for directory in self.directories:
            shutil.rmtree(directory, ignore_errors=True)


def guest(ns: Namespaces, host: str, tap: str, suffix: str, mac: str, cidr: str) -> str:
    """A namespace whose eth0 is the peer of `tap` in `host`."""
    netns = ns.add(suffix)
    sh("ip", "-n", host, "link", "add", tap, "type", "veth", "peer", "name", "eth0", "netns", netns)
    sh("ip", "-n", netns, "link", "set", "eth0", "address", mac, "mtu", str(MTU))
    sh("ip", "-n", netns, "addr", "add", cidr, "dev", "eth0")
    sh("ip", "-n", netns, "link", "set", "eth0", "up")
    return netns


SENDER_CPU, RECEIVER_CPU = 0, 1
PIN = (os.cpu_count() or 1) >= 2  # cleared by --shared-cpu


def underlay(ns: Namespaces, tag: str, count: int) -> list[tuple[str, str]]:
    """`count` host namespaces with eth0 on a shared underlay bridge: [(netns, vtep address)]. With the CPU model
    on, every host but the first does its receive work on the receiver's CPU."""
    hub = ns.add(f"{tag}-ul")
    sh("ip", "-n", hub, "link", "add", "ul", "type", "bridge")
    sh("ip", "-n", hub, "link", "set", "ul", "up")
    hosts = []
    for index in range(1, count + 1):
        host = ns.add(f"{tag}-h{index}")
        vtep = f"198.51.100.{index}"
        sh("ip", "-n", host, "link", "add", "eth0", "type", "veth", "peer", "name", f"ul{index}", "netns", hub)
        sh("ip", "-n", hub, "link", "set", f"ul{index}", "master", "ul", "up")
        sh("ip", "-n", host, "addr", "add", f"{vtep}/24", "dev", "eth0")
        sh("ip", "-n", host, "link", "set", "eth0", "up")
        if PIN and index > 1:
            steer = f"{1 << RECEIVER_CPU:x}"
            sh("ip", "netns", "exec", host, "sh", "-c", f"echo {steer} > /sys/class/net/eth0/queues/rx-0/rps_cpus")
        hosts.append((host, vtep))
    return hosts


# ---- the agent's wiring ----


def security_groups(drivers: list[LinuxNetworkDriver], ports: list[PortSpec]) -> tuple[list[PortSpec], str]:
    """Ports in a default-group-like security group (defined on every host) when the driver has security groups;
    else the ports as given."""
    if "security_group_ids" not in {f.name for f in fields(PortSpec)} or not hasattr(base, "SecurityGroupSpec"):
        return ports, "anti-spoofing only (this driver has no security groups yet)"
    group_id = str(uuid.uuid4())
    rule = base.SecurityGroupRule
    group = base.SecurityGroupSpec(
        group_id=group_id,
        rules=(
            rule(direction="egress", ethertype="IPv4"),
            rule(direction="egress", ethertype="IPv6"),
            rule(direction="ingress", ethertype="IPv4", remote_group_id=group_id),
            rule(direction="ingress", ethertype="IPv6", remote_group_id=group_id),
        ),
        members_v4=tuple(ip for p in ports for ip in p.fixed_ips),
    )
    try:
        for driver in drivers:
            driver.ensure_security_groups((group,))
    except NotImplementedError:
        return ports, "anti-spoofing only (ensure_security_groups is not implemented)"
    wired = [PortSpec(**{**p.__dict__, "security_group_ids": (group_id,)}) for p in ports]
    return wired, "anti-spoofing + a default-like security group (egress any, ingress from members)"


def agent_pair(ns: Namespaces, *, vxlan: bool, idle_ports: int = 0) -> tuple[str, str, str]:
    """Two guests wired by the driver: (sender netns, receiver netns, receiver address), plus what filters them."""
    state = Path(tempfile.mkdtemp(prefix="andr-bench-"))
    ns.directories.append(state)
    tag = "ax" if vxlan else "ab"
    hosts = underlay(ns, tag, 2 if vxlan else 1)
    drivers = [
        LinuxNetworkDriver(
            HostConfig(vtep_address=vtep, vtep_device="eth0", state_dir=state / host, netns=host,
                       namespace_prefix=f"{host}-")
        )
        for host, vtep in hosts
    ]  # fmt: skip
    network_id = str(uuid.uuid4())
    vteps = [vtep for _, vtep in hosts]
    for driver, (_, vtep) in zip(drivers, hosts, strict=True):
        driver.ensure_network(
            NetworkSpec(network_id=network_id, vni=4242, mtu=MTU, remote_vteps=tuple(v for v in vteps if v != vtep))
        )
    ports = [
        PortSpec(
            port_id=str(uuid.uuid4()), network_id=network_id, mac=f"fa:16:3e:00:00:0{i}", fixed_ips=(f"10.9.0.{i}",)
        )
        for i in (1, 2)
    ]
    where = [drivers[0], drivers[-1]]
    ports, filtering = security_groups(drivers, ports)
    guests = []
    for i, (driver, port) in enumerate(zip(where, ports, strict=True), start=1):
        host = driver.config.netns
        assert host is not None
        guests.append(guest(ns, host, names.tap_name(port.port_id), f"{tag}-vm{i}", port.mac, f"10.9.0.{i}/24"))
        driver.ensure_port(port)
    for index in range(idle_ports):  # other VMs' ports on the first host: their filters must not slow this pair
        address = f"10.10.{index // 250}.{index % 250 + 1}"
        idle = PortSpec(port_id=str(uuid.uuid4()), network_id=network_id, mac=f"fa:16:3e:01:{index // 256:02x}:"
                        f"{index % 256:02x}", fixed_ips=(address,))  # fmt: skip
        drivers[0].ensure_port(idle)
    agent_pair.filtering = filtering  # type: ignore[attr-defined]
    return guests[0], guests[1], "10.9.0.2"


def bare_pair(ns: Namespaces, *, vxlan: bool, stateful: bool = False, one_hook: bool = False) -> tuple[str, str, str]:
    """The same endpoints on bare devices: a bridge per host (with a VXLAN device when `vxlan`), no filtering;
    with `stateful`, the least any stateful filter costs (see STATEFUL_FLOOR); with `one_hook`, one netfilter
    hook and nothing else (see ONE_HOOK)."""
    tag = "ox" if one_hook else (("sx" if vxlan else "sb") if stateful else ("bx" if vxlan else "bb"))
    hosts = underlay(ns, tag, 2 if vxlan else 1)
    for host, vtep in hosts:
        sh("ip", "-n", host, "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0")
        sh("ip", "-n", host, "link", "set", "br0", "mtu", str(MTU), "up")
        if vxlan:
            remote = next(v for _, v in hosts if v != vtep)
            sh("ip", "-n", host, "link", "add", "vx0", "type", "vxlan", "id", "4242", "local", vtep, "dstport",
               "4789", "dev", "eth0")  # fmt: skip
            sh("bridge", "-n", host, "fdb", "append", "00:00:00:00:00:00", "dev", "vx0", "dst", remote)
            sh("ip", "-n", host, "link", "set", "vx0", "mtu", str(MTU), "master", "br0", "up")
        if stateful or one_hook:
            ruleset = STATEFUL_FLOOR if stateful else ONE_HOOK
            subprocess.run(["ip", "netns", "exec", host, "nft", "-f", "-"], input=ruleset, text=True, check=True)
    guests = []
    for i in (1, 2):
        host = hosts[0][0] if not vxlan or i == 1 else hosts[1][0]
        netns = guest(ns, host, f"tap{i}", f"{tag}-vm{i}", f"fa:16:3e:00:01:0{i}", f"10.9.0.{i}/24")
        sh("ip", "-n", host, "link", "set", f"tap{i}", "mtu", str(MTU), "master", "br0", "up")
        guests.append(netns)
    return guests[0], guests[1], "10.9.0.2"


# Connection tracking in a zone per network (tenants may share addresses) and an "established" check: what any
# stateful filter of bridged traffic costs on this kernel (no bridge-family conntrack, so via br_netfilter),
# before a single rule of its own. agent / floor is then the cost of the agent's own rules.
# Like the agent, it leaves the VXLAN underlay untracked.
STATEFUL_FLOOR = """table inet andrbench-floor {
  map zones { typeof iifname : ct zone; elements = { "br0" : 1 } }
  chain zone { type filter hook prerouting priority -300; policy accept; ct zone set iifname map @zones accept
    udp dport 4789 notrack; }
  chain underlay { type filter hook output priority -300; policy accept; udp dport 4789 notrack; }
  chain state { type filter hook forward priority 0; policy accept; ct state established,related accept; }
}
"""

# The price of a single netfilter hook on this machine: one base chain, one rule that never matches, no
# connection tracking. Every packet crosses it on each host (bridged traffic through br_netfilter, and the
# underlay). Any filter pays it once per hook it needs, before doing anything: a reference, not a target.
ONE_HOOK = """table inet andrbench-onehook {
  chain pre {
    type filter hook prerouting priority 0; policy accept;
    iifname "nonexistent0" drop
  }
}
"""


# ---- measuring ----


def throughput(sender: str, receiver: str, address: str, seconds: float) -> float:
    """Gbit/s of one TCP stream from `sender` to `address` in `receiver`."""
    python = sys.executable
    on_receiver_cpu = ["taskset", "-c", str(RECEIVER_CPU)] if PIN else []
    on_sender_cpu = ["taskset", "-c", str(SENDER_CPU)] if PIN else []
    rx = subprocess.Popen(
        ["ip", "netns", "exec", receiver, *on_receiver_cpu, python, "-c", RECEIVER, address, str(PORT)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert rx.stdout is not None
        if rx.stdout.readline().strip() != "ready":
            raise RuntimeError("receiver did not start")
        subprocess.run(
            ["ip", "netns", "exec", sender, *on_sender_cpu, python, "-c", SENDER, address, str(PORT), str(seconds)],
            check=True, timeout=seconds + 30,
        )  # fmt: skip
        total, elapsed = rx.stdout.readline().split()
        rx.wait(timeout=10)
    finally:
        if rx.poll() is None:
            rx.kill()
    return int(total) * 8 / float(elapsed) / 1e9


def ping_ok(sender: str, address: str) -> None:
    for _ in range(20):
        if subprocess.run(["ip", "netns", "exec", sender, "busybox", "ping", "-c", "1", "-W", "1", address],
                          capture_output=True, check=False).returncode == 0:  # fmt: skip
            return
        time.sleep(0.2)
    raise RuntimeError(f"{sender} cannot reach {address}: the setup is broken")


@dataclass
class Case:
    name: str
    endpoints: tuple[str, str, str]
    results: list[float]


@contextlib.contextmanager
def namespaces() -> Iterator[Namespaces]:
    made = Namespaces()
    try:
        yield made
    finally:
        made.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="measurements per case (alternated)")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of one measurement")
    parser.add_argument("--idle-ports", type=int, default=0, help="other ports wired on the agent's (first) host")
    parser.add_argument("--shared-cpu", action="store_true",
                        help="no CPU model: unpinned processes, every host's kernel work on the sender's CPU")
    args = parser.parse_args()
    global PIN
    PIN = PIN and not args.shared_cpu
    if os.geteuid() != 0:
        print("bench/dataplane.py needs root (namespaces, bridges, nftables)", file=sys.stderr)
        return 2
    ping = shutil.which("busybox") is not None
    with namespaces() as ns:
        builders: list[tuple[str, Callable[[], tuple[str, str, str]]]] = [
            ("bridge/agent", lambda: agent_pair(ns, vxlan=False, idle_ports=args.idle_ports)),
            ("bridge/bare", lambda: bare_pair(ns, vxlan=False)),
            ("vxlan/agent", lambda: agent_pair(ns, vxlan=True, idle_ports=args.idle_ports)),
            ("vxlan/bare", lambda: bare_pair(ns, vxlan=True)),
            ("bridge/floor", lambda: bare_pair(ns, vxlan=False, stateful=True)),
            ("vxlan/floor", lambda: bare_pair(ns, vxlan=True, stateful=True)),
            ("vxlan/onehook", lambda: bare_pair(ns, vxlan=True, one_hook=True)),
        ]
        cases = [Case(name, build(), []) for name, build in builders]
        if ping:
            for case in cases:
                ping_ok(case.endpoints[0], case.endpoints[2])
        print(f"filtering on agent ports: {agent_pair.filtering}")  # type: ignore[attr-defined]
        print(f"{args.runs} runs x {args.seconds:g} s per case, one TCP stream, MTU {MTU}, {os.cpu_count()} CPUs,"
              f" {args.idle_ports} other ports wired on the agent host")
        print("CPU model: sender on CPU 0, receiver and the second host's receive work on CPU 1" if PIN
              else "no CPU model: unpinned, the sender's CPU does every host's kernel work")
        for case in cases:  # a first stream through each path runs slower: warm-up, not counted
            throughput(*case.endpoints, seconds=1)
        for run in range(args.runs):
            order = cases if run % 2 == 0 else cases[::-1]  # forwards, then backwards
            for case in order:
                case.results.append(throughput(*case.endpoints, seconds=args.seconds))
                print(f"  run {run + 1} {case.name:13} {case.results[-1]:6.2f} Gbit/s", flush=True)
    medians = {case.name: statistics.median(case.results) for case in cases}
    print()
    print(f"{'case':13} {'median Gbit/s':>14} {'all runs':>30}")
    for case in cases:
        print(f"{case.name:13} {medians[case.name]:14.2f} {' '.join(f'{r:.2f}' for r in case.results):>30}")
    print()
    for kind in ("bridge", "vxlan"):
        ratio = medians[f"{kind}/agent"] / medians[f"{kind}/bare"]
        floor = medians[f"{kind}/floor"] / medians[f"{kind}/bare"]
        own = medians[f"{kind}/agent"] / medians[f"{kind}/floor"]
        print(f"{kind:7} agent / bare = {ratio:.3f}  (target >= 0.95);  stateful floor / bare = {floor:.3f};"
              f"  agent / floor = {own:.3f}")
    print(f"reference: one empty netfilter hook / bare VXLAN = {medians['vxlan/onehook'] / medians['vxlan/bare']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
