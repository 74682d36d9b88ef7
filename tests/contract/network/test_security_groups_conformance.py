"""Security groups, checked the same way against the fake (its Python model) and Linux (real packets).

Each test builds one "plane": guests on ports, probes (TCP connect, UDP echo, ping) and long-lived TCP
sessions. Against Linux the guests are namespaces behind the port's veth "tap", the servers small Python
echo servers in them; against the fake, the same questions go to FakeNetworkDriver.packet_allowed/open_flow.
"""

from __future__ import annotations

import ipaddress
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from andromede.network.agent.drivers.base import (
    DriverError,
    NetworkSpec,
    PortSpec,
    SecurityGroupRule,
    SecurityGroupSpec,
)
from andromede.network.agent.drivers.fake import FakeNetworkDriver
from tests.contract.network.harness import FakeHarness, Harness, LinuxHarness, new_id, sh

APPLY_WITHIN = 1.0  # seconds: a rule change reaches running guests within this (plus probe time)
PROBE_TIMEOUT = 0.6


# ---- the plane: guests, probes, sessions ----


@dataclass
class Guest:
    port: PortSpec
    addresses: tuple[str, ...]
    netns: str | None = None


class Plane:
    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.driver = harness.driver

    def guest(self, port: PortSpec, *cidrs: str) -> Guest:
        raise NotImplementedError

    def reach(self, src: Guest, dst: str, protocol: str, port: int | None = None, *, sport: int | None = None) -> bool:
        raise NotImplementedError

    def session(self, src: Guest, dst: str, port: int) -> Any:
        """An object with alive() for an established TCP session, or None."""
        raise NotImplementedError


class FakePlane(Plane):
    def guest(self, port: PortSpec, *cidrs: str) -> Guest:
        return Guest(port=port, addresses=tuple(c.split("/")[0] for c in cidrs))

    def _target(self, src: Guest, dst: str) -> str | None:
        assert isinstance(self.driver, FakeNetworkDriver)
        for spec in self.driver.host.ports.values():
            if spec.network_id == src.port.network_id and dst in spec.fixed_ips:
                return spec.port_id
        return None

    @staticmethod
    def _packet(src: Guest, dst: str, protocol: str, port: int | None, sport: int | None) -> dict[str, Any]:
        version = ipaddress.ip_address(dst).version
        src_ip = next(a for a in src.addresses if ipaddress.ip_address(a).version == version)
        packet: dict[str, Any] = {"src_ip": src_ip, "dst_ip": dst}
        if protocol == "icmp":
            packet.update(protocol=1 if version == 4 else 58, icmp_type=8 if version == 4 else 128, icmp_code=0)
        else:
            packet.update(protocol={"tcp": 6, "udp": 17}[protocol], dport=port, sport=sport)
        return packet

    def reach(self, src: Guest, dst: str, protocol: str, port: int | None = None, *, sport: int | None = None) -> bool:
        assert isinstance(self.driver, FakeNetworkDriver)
        target = self._target(src, dst)
        packet = self._packet(src, dst, protocol, port, sport)
        return target is not None and self.driver.packet_allowed(src.port.port_id, target, **packet)

    def session(self, src: Guest, dst: str, port: int) -> Any:
        assert isinstance(self.driver, FakeNetworkDriver)
        target = self._target(src, dst)
        if target is None:
            return None
        flow = self.driver.open_flow(src.port.port_id, target, **self._packet(src, dst, "tcp", port, None))
        driver = self.driver
        return None if flow is None else _FakeSession(lambda: driver.flow_alive(flow))


@dataclass
class _FakeSession:
    probe: Callable[[], bool]

    def alive(self) -> bool:
        return self.probe()


PEER = r"""
import socket, sys
mode = sys.argv[1]
def bound(kind, port):
    s = socket.socket(socket.AF_INET6, kind)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    return s
if mode == "serve":
    import threading
    port = int(sys.argv[2])
    t = bound(socket.SOCK_STREAM, port); t.listen(64)
    u = bound(socket.SOCK_DGRAM, port)
    def udp():
        while True:
            data, peer = u.recvfrom(4096)
            u.sendto(data, peer)
    def echo(c):
        with c:
            while data := c.recv(4096):
                c.sendall(data)
    threading.Thread(target=udp, daemon=True).start()
    print("ready", flush=True)
    while True:
        c, _ = t.accept()
        threading.Thread(target=echo, args=(c,), daemon=True).start()
elif mode == "tcp":
    try:
        socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=float(sys.argv[4])).close()
    except OSError:
        sys.exit(1)
elif mode == "udp":
    host, port, timeout, sport = sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", sport)); s.settimeout(timeout); s.connect((host, port))
    try:
        s.send(b"x"); s.recv(16)
    except OSError:
        sys.exit(1)
elif mode == "session":
    c = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=2)
    print("open", flush=True)
    for line in sys.stdin:
        try:
            c.settimeout(float(line))
            c.sendall(b"x")
            print("ok" if c.recv(16) else "dead", flush=True)
        except OSError:
            print("dead", flush=True)
"""


@dataclass
class _LinuxSession:
    proc: subprocess.Popen[str]

    def alive(self) -> bool:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write("1.0\n")
            self.proc.stdin.flush()
        except OSError:
            return False
        return self.proc.stdout.readline().strip() == "ok"


@dataclass
class LinuxPlane(Plane):
    harness: LinuxHarness  # type: ignore[assignment]
    guests: list[Guest] = field(default_factory=list)
    servers: set[tuple[str, int]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.driver = self.harness.driver
        self.script = self.harness.state_dir / "sg-peer.py"
        self.script.write_text(PEER)

    def guest(self, port: PortSpec, *cidrs: str) -> Guest:
        netns = self.harness.vm(port.port_id, port.mac, None)
        for cidr in cidrs:
            sh("ip", "-n", netns, "addr", "add", cidr, "dev", "eth0", *(["nodad"] if ":" in cidr else []))
        guest = Guest(port=port, addresses=tuple(c.split("/")[0] for c in cidrs), netns=netns)
        self.guests.append(guest)
        return guest

    def _peer(self, netns: str, *args: str) -> list[str]:
        return ["ip", "netns", "exec", netns, sys.executable, str(self.script), *args]

    def _serve(self, dst: str, port: int) -> None:
        guest = next((g for g in self.guests if dst in g.addresses), None)
        if guest is None or guest.netns is None or (guest.netns, port) in self.servers:
            return
        proc = subprocess.Popen(
            self._peer(guest.netns, "serve", str(port)), stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        self.servers.add((guest.netns, port))

    def reach(self, src: Guest, dst: str, protocol: str, port: int | None = None, *, sport: int | None = None) -> bool:
        assert src.netns is not None
        if protocol == "icmp":
            done = sh("ip", "netns", "exec", src.netns, "busybox", "ping", "-c", "1", "-W", "1", dst, check=False)
            return done.returncode == 0
        assert port is not None
        self._serve(dst, port)
        args = [dst, str(port), str(PROBE_TIMEOUT)] + ([str(sport or 0)] if protocol == "udp" else [])
        return subprocess.run(self._peer(src.netns, protocol, *args), capture_output=True, timeout=10).returncode == 0

    def session(self, src: Guest, dst: str, port: int) -> Any:
        assert src.netns is not None
        self._serve(dst, port)
        proc = subprocess.Popen(
            self._peer(src.netns, "session", dst, str(port)),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "open":
            return None
        session = _LinuxSession(proc)
        return session if session.alive() else None


@pytest.fixture
def plane(harness: Harness) -> Iterator[Plane]:
    if isinstance(harness, FakeHarness):
        yield FakePlane(harness)
    else:
        assert isinstance(harness, LinuxHarness)
        yield LinuxPlane(harness)


# ---- specs ----


def network(vni: int = 1101) -> NetworkSpec:
    return NetworkSpec(network_id=new_id(), vni=vni)


def port(net: NetworkSpec, mac: str, *ips: str, groups: tuple[str, ...] = (), **kw: Any) -> PortSpec:
    return PortSpec(
        port_id=new_id(), network_id=net.network_id, mac=mac, fixed_ips=ips, security_group_ids=groups, **kw
    )


def rule(
    direction: str,
    protocol: str | None = None,
    low: int | None = None,
    high: int | None = None,
    *,
    v6: bool = False,
    prefix: str | None = None,
    group: str | None = None,
) -> SecurityGroupRule:
    return SecurityGroupRule(
        direction=direction,
        ethertype="IPv6" if v6 else "IPv4",
        protocol=protocol,
        port_range_min=low,
        port_range_max=high,
        remote_ip_prefix=prefix,
        remote_group_id=group,
    )


EGRESS_ANY = (rule("egress"), rule("egress", v6=True))


def default_group(group_id: str, *members: str) -> SecurityGroupSpec:
    """Neutron's default group: egress anywhere, ingress from members of the group only."""
    return SecurityGroupSpec(
        group_id=group_id,
        rules=(*EGRESS_ANY, rule("ingress", group=group_id), rule("ingress", v6=True, group=group_id)),
        members_v4=tuple(m for m in members if ":" not in m),
        members_v6=tuple(m for m in members if ":" in m),
    )


def eventually(check: Callable[[], bool], within: float = APPLY_WITHIN) -> bool:
    """check() holds within `within` seconds of now (each probe's own time on top)."""
    deadline = time.monotonic() + within
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def setup(plane: Plane, net: NetworkSpec, *ports: tuple[PortSpec, tuple[str, ...]]) -> list[Guest]:
    plane.driver.ensure_network(net)
    guests = [plane.guest(spec, *cidrs) for spec, cidrs in ports]
    for spec, _ in ports:
        plane.driver.ensure_port(spec)
    return guests


# ---- tests ----


def test_no_group_blocks_ingress_and_egress(plane: Plane) -> None:
    net = network()
    a = port(net, "fa:16:3e:00:01:01", "10.30.0.1")
    b = port(net, "fa:16:3e:00:01:02", "10.30.0.2")
    ga, _gb = setup(plane, net, (a, ("10.30.0.1/24",)), (b, ("10.30.0.2/24",)))

    assert not plane.reach(ga, "10.30.0.2", "tcp", 22)
    assert plane.driver.list_ports()[a.port_id].filtered


def test_default_group_admits_members_only_and_a_new_rule_opens_within_a_second(plane: Plane) -> None:
    net = network()
    sg, other = new_id(), new_id()
    a = port(net, "fa:16:3e:00:02:01", "10.30.0.1", groups=(sg,))
    b = port(net, "fa:16:3e:00:02:02", "10.30.0.2", groups=(sg,))
    c = port(net, "fa:16:3e:00:02:03", "10.30.0.3", groups=(other,))
    plane.driver.ensure_network(net)
    plane.driver.ensure_security_groups(
        (default_group(sg, "10.30.0.1", "10.30.0.2"), SecurityGroupSpec(group_id=other, rules=EGRESS_ANY))
    )
    ga, _gb, gc = setup(plane, net, (a, ("10.30.0.1/24",)), (b, ("10.30.0.2/24",)), (c, ("10.30.0.3/24",)))

    assert plane.reach(ga, "10.30.0.2", "tcp", 22)  # same group
    assert plane.reach(ga, "10.30.0.2", "icmp")
    assert not plane.reach(gc, "10.30.0.2", "tcp", 22)  # not a member
    assert not plane.reach(ga, "10.30.0.3", "tcp", 22)  # c admits nobody

    opened = SecurityGroupSpec(group_id=other, rules=(*EGRESS_ANY, rule("ingress", "tcp", 22, 22, prefix="0.0.0.0/0")))
    plane.driver.ensure_security_groups((default_group(sg, "10.30.0.1", "10.30.0.2"), opened))
    assert eventually(lambda: plane.reach(ga, "10.30.0.3", "tcp", 22))
    assert not plane.reach(ga, "10.30.0.3", "tcp", 23)

    # Membership is a set: adding c's address to sg admits it to a and b.
    plane.driver.ensure_security_groups((default_group(sg, "10.30.0.1", "10.30.0.2", "10.30.0.3"), opened))
    assert eventually(lambda: plane.reach(gc, "10.30.0.2", "tcp", 22))


def test_removing_a_rule_cuts_established_sessions(plane: Plane) -> None:
    net = network()
    sg_client, sg_server = new_id(), new_id()
    a = port(net, "fa:16:3e:00:03:01", "10.30.0.1", groups=(sg_client,))
    b = port(net, "fa:16:3e:00:03:02", "10.30.0.2", groups=(sg_server,))
    client = SecurityGroupSpec(group_id=sg_client, rules=EGRESS_ANY)
    ssh = rule("ingress", "tcp", 22, 22, prefix="10.30.0.0/24")
    web = rule("ingress", "tcp", 80, 80)
    plane.driver.ensure_network(net)
    plane.driver.ensure_security_groups((client, SecurityGroupSpec(group_id=sg_server, rules=(ssh, web))))
    ga, _gb = setup(plane, net, (a, ("10.30.0.1/24",)), (b, ("10.30.0.2/24",)))
    ssh_session = plane.session(ga, "10.30.0.2", 22)
    web_session = plane.session(ga, "10.30.0.2", 80)
    assert ssh_session is not None and web_session is not None

    plane.driver.ensure_security_groups((client, SecurityGroupSpec(group_id=sg_server, rules=(web,))))

    assert not ssh_session.alive()  # its conntrack entry is gone and a new first packet is refused
    assert web_session.alive()  # still allowed: untouched
    assert not plane.reach(ga, "10.30.0.2", "tcp", 22)


def test_icmp_rules_match_type(plane: Plane) -> None:
    net = network()
    sg = new_id()
    a = port(net, "fa:16:3e:00:04:01", "10.30.0.1", groups=(sg,))
    b = port(net, "fa:16:3e:00:04:02", "10.30.0.2", groups=(sg,))
    echo_only = SecurityGroupSpec(group_id=sg, rules=(*EGRESS_ANY, rule("ingress", "icmp", 8)))
    plane.driver.ensure_network(net)
    plane.driver.ensure_security_groups((echo_only,))
    ga, _gb = setup(plane, net, (a, ("10.30.0.1/24",)), (b, ("10.30.0.2/24",)))
    assert plane.reach(ga, "10.30.0.2", "icmp")
    assert not plane.reach(ga, "10.30.0.2", "tcp", 22)

    timestamp_only = SecurityGroupSpec(group_id=sg, rules=(*EGRESS_ANY, rule("ingress", "icmp", 13, 0)))
    plane.driver.ensure_security_groups((timestamp_only,))
    assert not plane.reach(ga, "10.30.0.2", "icmp")


def test_ipv6_rules(plane: Plane) -> None:
    net = network()
    sg = new_id()
    a = port(net, "fa:16:3e:00:05:01", "10.30.0.1", "2001:db8::1", groups=(sg,))
    b = port(net, "fa:16:3e:00:05:02", "10.30.0.2", "2001:db8::2", groups=(sg,))
    v6_ssh = SecurityGroupSpec(
        group_id=sg, rules=(*EGRESS_ANY, rule("ingress", "tcp", 22, 22, v6=True, prefix="2001:db8::/64"))
    )
    plane.driver.ensure_network(net)
    plane.driver.ensure_security_groups((v6_ssh,))
    ga, _gb = setup(plane, net, (a, ("10.30.0.1/24", "2001:db8::1/64")), (b, ("10.30.0.2/24", "2001:db8::2/64")))
    assert eventually(lambda: plane.reach(ga, "2001:db8::2", "tcp", 22), within=3)  # ND needs a moment
    assert not plane.reach(ga, "10.30.0.2", "tcp", 22)  # the rule is IPv6 only
    assert not plane.reach(ga, "2001:db8::2", "icmp")


def test_port_security_off_means_no_filtering(plane: Plane) -> None:
    net = network()
    a = port(net, "fa:16:3e:00:06:01", "10.30.0.1")
    b = port(net, "fa:16:3e:00:06:02", "10.30.0.2", port_security=False)
    ga, _gb = setup(plane, net, (a, ("10.30.0.1/24",)), (b, ("10.30.0.2/24",)))
    # a has no group: its egress is refused; b is unfiltered, so b reaches a only if a admits it: nothing.
    assert not plane.reach(ga, "10.30.0.2", "tcp", 22)
    sg = new_id()
    plane.driver.ensure_security_groups((SecurityGroupSpec(group_id=sg, rules=EGRESS_ANY),))
    plane.driver.ensure_port(PortSpec(**{**a.__dict__, "security_group_ids": (sg,)}))
    assert eventually(lambda: plane.reach(ga, "10.30.0.2", "tcp", 22))  # b's side lets everything in
    assert not plane.driver.list_ports()[b.port_id].filtered


def test_unreferenced_groups_go_and_referenced_ones_stay(plane: Plane) -> None:
    net = network()
    used, unused = new_id(), new_id()
    a = port(net, "fa:16:3e:00:07:01", "10.30.0.1", groups=(used,))
    b = port(net, "fa:16:3e:00:07:02", "10.30.0.2", groups=(used,))
    plane.driver.ensure_network(net)
    plane.driver.ensure_security_groups(
        (default_group(used, "10.30.0.1", "10.30.0.2"), SecurityGroupSpec(group_id=unused, rules=EGRESS_ANY))
    )
    ga, _gb = setup(plane, net, (a, ("10.30.0.1/24",)), (b, ("10.30.0.2/24",)))

    plane.driver.ensure_security_groups(())  # neither listed: `used` stays while ports jump to it

    assert plane.reach(ga, "10.30.0.2", "tcp", 22)
    fresh = plane.harness.new_driver()  # a restarted agent adopts what is there
    fresh.ensure_security_groups((default_group(used, "10.30.0.1", "10.30.0.2"),))
    assert plane.reach(ga, "10.30.0.2", "tcp", 22)
    fresh.delete_port(a.port_id)
    assert a.port_id not in fresh.list_ports()


def test_bad_specs_are_refused_before_any_driver_sees_them() -> None:
    net = new_id()
    with pytest.raises(ValueError):
        SecurityGroupRule(direction="in", ethertype="IPv4")
    with pytest.raises(ValueError):
        SecurityGroupRule(direction="ingress", ethertype="IPv4", protocol="tcp; flush ruleset")
    with pytest.raises(ValueError):
        SecurityGroupRule(direction="ingress", ethertype="IPv4", remote_ip_prefix="::/0")
    with pytest.raises(ValueError):
        SecurityGroupRule(direction="ingress", ethertype="IPv4", protocol="tcp", port_range_min=90, port_range_max=80)
    with pytest.raises(ValueError):
        SecurityGroupSpec(group_id=new_id(), members_v4=("10.0.0.1/8",))
    with pytest.raises(ValueError):
        PortSpec(port_id=new_id(), network_id=net, mac="fa:16:3e:00:00:01", security_group_ids=("default",))


# ---- Linux only: what only real packets and a real kernel show ----


@pytest.mark.root
def test_same_addresses_on_two_networks_do_not_share_conntrack(linux: LinuxHarness) -> None:
    plane = LinuxPlane(linux)
    one, two = network(vni=1201), network(vni=1202)
    open_udp, closed = new_id(), new_id()
    linux.driver.ensure_network(one)
    linux.driver.ensure_network(two)
    linux.driver.ensure_security_groups(
        (
            SecurityGroupSpec(group_id=open_udp, rules=(*EGRESS_ANY, rule("ingress", "udp", 5000, 5000))),
            SecurityGroupSpec(group_id=closed, rules=EGRESS_ANY),
        )
    )
    a1, _b1 = (
        plane.guest(p, c)
        for p, c in (
            (port(one, "fa:16:3e:00:08:01", "10.30.0.1", groups=(closed,)), "10.30.0.1/24"),
            (port(one, "fa:16:3e:00:08:02", "10.30.0.2", groups=(open_udp,)), "10.30.0.2/24"),
        )
    )
    a2, _b2 = (
        plane.guest(p, c)
        for p, c in (
            (port(two, "fa:16:3e:00:08:01", "10.30.0.1", groups=(closed,)), "10.30.0.1/24"),
            (port(two, "fa:16:3e:00:08:02", "10.30.0.2", groups=(closed,)), "10.30.0.2/24"),
        )
    )
    for guest in (a1, _b1, a2, _b2):
        linux.driver.ensure_port(guest.port)

    assert plane.reach(a1, "10.30.0.2", "udp", 5000, sport=40000)  # an established entry on network one
    # The very same 5-tuple on network two must not ride on it.
    assert not plane.reach(a2, "10.30.0.2", "udp", 5000, sport=40000)


@pytest.mark.root
def test_one_port_failing_to_load_leaves_the_others_alone(linux: LinuxHarness) -> None:
    plane = LinuxPlane(linux)
    net = network()
    sg = new_id()
    linux.driver.ensure_network(net)
    linux.driver.ensure_security_groups((default_group(sg, "10.30.0.1", "10.30.0.2"),))
    a = port(net, "fa:16:3e:00:09:01", "10.30.0.1", groups=(sg,))
    b = port(net, "fa:16:3e:00:09:02", "10.30.0.2", groups=(sg,))
    ga, _gb = setup(plane, net, (a, ("10.30.0.1/24",)), (b, ("10.30.0.2/24",)))
    # A third port whose tag collides with b's (same first 8 hex digits of its id): its wiring is refused.
    clash_id = b.port_id[:8] + ("-ffff" if b.port_id[9:13] != "ffff" else "-eeee") + b.port_id[13:]
    clash = PortSpec(
        port_id=clash_id,
        network_id=net.network_id,
        mac="fa:16:3e:00:09:03",
        fixed_ips=("10.30.0.3",),
        security_group_ids=(sg,),
    )
    plane.guest(clash, "10.30.0.3/24")
    with pytest.raises(DriverError):
        linux.driver.ensure_port(clash)

    assert plane.reach(ga, "10.30.0.2", "tcp", 22)
    assert clash.port_id not in {p for p, s in linux.driver.list_ports().items() if s.attached}


@pytest.mark.root
def test_dhcp_still_works_for_a_port_without_groups(linux: LinuxHarness) -> None:
    from andromede.network.agent.drivers.base import DhcpHost, DhcpSpec, DhcpSubnet

    net = network()
    linux.driver.ensure_network(net)
    a = port(net, "fa:16:3e:00:0a:01", "10.30.0.61")
    subnet = DhcpSubnet(subnet_id=new_id(), cidr="10.30.0.0/24", server_address="10.30.0.2", gateway="10.30.0.1")
    linux.driver.ensure_dhcp(
        DhcpSpec(
            network_id=net.network_id,
            port_id=new_id(),
            mac="fa:16:3e:00:0a:02",
            subnets=(subnet,),
            hosts=(DhcpHost(mac=a.mac, ip="10.30.0.61", hostname="vm-61"),),
        )
    )
    vm = linux.vm(a.port_id, a.mac, None)
    linux.driver.ensure_port(a)
    lease = linux.dhcp_lease(vm)
    assert lease is not None and lease["ip"] == "10.30.0.61"
