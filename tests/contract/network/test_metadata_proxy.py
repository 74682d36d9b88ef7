"""The metadata path in real namespaces: guest → 169.254.169.254:80 (proxy in a namespace) → unix socket → relay →
a stub controller. Whatever identity headers the guest sends, the relay sees the proxy's: its network and the
guest's TCP address, and the controller sees the instance that owns that address, signed.

First the proxy on its own (a namespace with the metadata address, a guest namespace routed to it), then the
Linux driver's DHCP namespace with DhcpSpec(metadata=True): address, option 121 route, proxy lifecycle.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from andromede.contracts import metadata as signing
from andromede.network.agent.drivers.base import DhcpHost, DhcpSpec, DhcpSubnet, DriverError, NetworkSpec, PortSpec
from andromede.network.agent.drivers.linux import LinuxNetworkDriver, metadata_proxy, names
from andromede.network.agent.metadata_relay import MetadataRelay
from tests.contract.network.harness import LinuxHarness, linux_unavailable, new_id, sh

pytestmark = pytest.mark.root

SECRET = bytes(range(32))
INSTANCE = "6d6c2b8e-4a7b-4a53-9a1e-0b6f7d1f0a11"
PROJECT = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
FORGED_NETWORK = "99999999-9999-4999-8999-999999999999"


class Controller:
    """Answers /metadata/... with what it was told, as the real service would for a correctly signed caller."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        instance_id = request.headers.get("x-instance-id", "")
        if not signing.verify(SECRET, instance_id, request.headers.get("x-instance-id-signature")):
            return httpx.Response(403, text="403 Forbidden\n")
        if request.url.path == "/metadata/openstack/latest/meta_data.json":
            return httpx.Response(200, json={"uuid": instance_id, "project_id": request.headers["x-tenant-id"]})
        return httpx.Response(404, text="404 Not Found\n")


class Relay:
    def __init__(self, directory: Path, owners: dict[tuple[str, str], tuple[str, str]]) -> None:
        self.controller = Controller()
        self.lookups: list[tuple[str, str]] = []

        def lookup(network_id: str, ip: str) -> tuple[str, str] | None:
            self.lookups.append((network_id, ip))
            return owners.get((network_id, ip))

        self.relay = MetadataRelay(
            directory / "metadata.sock", "http://controller.invalid", SECRET, lookup,
            lambda: httpx.AsyncClient(transport=httpx.MockTransport(self.controller.handle)))
        self.socket = self.relay.socket_path

    def __enter__(self) -> Relay:
        self.relay.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.relay.stop()


def curl(netns: str, url: str, *headers: str) -> tuple[int, str]:
    argv = ["ip", "netns", "exec", netns, "curl", "-sS", "--max-time", "10", "-o", "-", "-w", "\n%{http_code}"]
    for header in headers:
        argv += ["-H", header]
    done = sh(*argv, url, timeout=20, check=False)
    body, _, status = done.stdout.rpartition("\n")
    return int(status or 0), body


@pytest.fixture
def namespaces() -> Iterator[tuple[str, str, Path]]:
    """(proxy namespace, guest namespace, state dir): 10.250.0.1 (+169.254.169.254) ⇄ 10.250.0.2."""
    reason = linux_unavailable()
    if reason:
        pytest.skip(reason)
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    prefix = f"andm{uuid.uuid4().hex[:6]}-"
    server, guest = prefix + "srv", prefix + "vm"
    state = Path(tempfile.mkdtemp(prefix="andr-md-"))
    try:
        for netns in (server, guest):
            sh("ip", "netns", "add", netns)
            sh("ip", "-n", netns, "link", "set", "lo", "up")
        sh("ip", "-n", server, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", guest)
        sh("ip", "-n", server, "addr", "add", "10.250.0.1/24", "dev", "eth0")
        sh("ip", "-n", server, "addr", "add", "169.254.169.254/32", "dev", "eth0")
        sh("ip", "-n", guest, "addr", "add", "10.250.0.2/24", "dev", "eth0")
        for netns in (server, guest):
            sh("ip", "-n", netns, "link", "set", "eth0", "up")
        sh("ip", "-n", guest, "route", "add", "169.254.169.254/32", "via", "10.250.0.1")
        yield server, guest, state
    finally:
        for netns in (server, guest):
            for pid in sh("ip", "netns", "pids", netns, check=False).stdout.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            sh("ip", "netns", "delete", netns, check=False)
        shutil.rmtree(state, ignore_errors=True)


def start_proxy(netns: str, network_id: str, socket: Path, pidfile: Path) -> int:
    sh("ip", "netns", "exec", netns, *metadata_proxy.command(network_id, str(socket), str(pidfile)), timeout=20)
    pid = metadata_proxy.running_pid(str(pidfile))
    assert pid is not None, "the proxy did not stay up"
    return pid


def test_guest_forged_identity_headers_are_ignored(namespaces: tuple[str, str, Path]) -> None:
    server, guest, state = namespaces
    network_id = new_id()
    with Relay(state, {(network_id, "10.250.0.2"): (INSTANCE, PROJECT)}) as relay:
        start_proxy(server, network_id, relay.socket, state / "proxy.pid")
        status, body = curl(
            guest, "http://169.254.169.254/openstack/latest/meta_data.json",
            "X-Instance-ID: 00000000-0000-4000-8000-000000000000", "X-Tenant-ID: someone-else",
            f"X-Instance-ID-Signature: {signing.sign(SECRET, '00000000-0000-4000-8000-000000000000')}",
            "X-Forwarded-For: 10.250.0.99", f"X-Andromede-Network-ID: {FORGED_NETWORK}",
            "x-andromede-network-id: also-forged", "Forwarded: for=10.250.0.99")
        assert status == 200, body
        assert json.loads(body) == {"uuid": INSTANCE, "project_id": PROJECT}
        assert relay.lookups == [(network_id, "10.250.0.2")]  # the proxy's network, the TCP peer
        sent = relay.controller.requests[-1]
        assert sent.headers["x-instance-id"] == INSTANCE and sent.headers["x-tenant-id"] == PROJECT
        assert {k.lower() for k in sent.headers if k.lower().startswith("x-")} == {
            "x-instance-id", "x-tenant-id", "x-instance-id-signature"}

        # The guest's own client (busybox wget, as the tiny image's init uses it).
        done = sh("ip", "netns", "exec", guest, "busybox", "wget", "-q", "-O", "-",
                  "http://169.254.169.254/openstack/latest/meta_data.json", timeout=20, check=False)
        assert done.returncode == 0 and json.loads(done.stdout)["uuid"] == INSTANCE
        # Another address on the same network owns no instance: 404, and the controller is not asked.
        asked = len(relay.controller.requests)
        sh("ip", "-n", guest, "addr", "add", "10.250.0.3/24", "dev", "eth0")
        done = sh("ip", "netns", "exec", guest, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                  "--interface", "10.250.0.3", "http://169.254.169.254/openstack", timeout=20, check=False)
        assert done.stdout == "404"
        assert len(relay.controller.requests) == asked
        assert curl(guest, "http://169.254.169.254/openstack/latest/nothing")[0] == 404


# ---- through the Linux driver: the DHCP namespace serves metadata ----


def _driver(linux: LinuxHarness, socket: Path) -> LinuxNetworkDriver:
    return LinuxNetworkDriver(dataclasses.replace(linux.hosts[0].driver.config, metadata_socket=socket))


def _lease(netns: str, state: Path) -> dict[str, str] | None:
    script = state / "lease.sh"
    script.write_text('#!/bin/sh\n[ "$1" = bound ] && env\nexit 0\n')
    script.chmod(0o755)
    done = sh("ip", "netns", "exec", netns, "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "3",
              "-T", "1", "-O", "staticroutes", "-s", str(script), timeout=15, check=False)
    lease = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    return lease if "ip" in lease else None


def test_dhcp_namespace_serves_metadata_to_its_guests(linux: LinuxHarness) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    state = linux.state_dir
    net = NetworkSpec(network_id=new_id(), vni=1201, mtu=1450)
    vm_port = PortSpec(port_id=new_id(), network_id=net.network_id, mac="fa:16:3e:00:07:01",
                       fixed_ips=("10.20.0.71",), port_security=False)  # security groups: not tested here
    subnet = DhcpSubnet(subnet_id=new_id(), cidr="10.20.0.0/24", server_address="10.20.0.2", gateway="10.20.0.1")
    spec = DhcpSpec(network_id=net.network_id, port_id=new_id(), mac="fa:16:3e:00:07:02", subnets=(subnet,),
                    hosts=(DhcpHost(mac=vm_port.mac, ip="10.20.0.71", hostname="vm-71"),), metadata=True)
    with Relay(state, {(net.network_id, "10.20.0.71"): (INSTANCE, PROJECT)}) as relay:
        driver = _driver(linux, relay.socket)
        driver.ensure_network(net)
        driver.ensure_dhcp(spec)
        driver.ensure_dhcp(spec)  # idempotent: the same proxy keeps running
        pidfile = str(driver.config.state_dir / "dhcp" / net.network_id / "metadata-proxy.pid")
        first = metadata_proxy.running_pid(pidfile)
        assert first is not None
        vm = linux.vm(vm_port.port_id, vm_port.mac, None)
        driver.ensure_port(vm_port)

        lease = _lease(vm, state)
        assert lease is not None and lease["ip"] == "10.20.0.71"
        # Option 121 carries the metadata route via the DHCP server, and the default route (option 3 is ignored).
        assert lease["staticroutes"].split() == ["169.254.169.254/32", "10.20.0.2", "0.0.0.0/0", "10.20.0.1"]
        sh("ip", "-n", vm, "addr", "add", "10.20.0.71/24", "dev", "eth0")
        sh("ip", "-n", vm, "route", "add", "169.254.169.254/32", "via", "10.20.0.2")
        status, body = curl(vm, "http://169.254.169.254/openstack/latest/meta_data.json",
                            "X-Forwarded-For: 10.20.0.99", f"X-Andromede-Network-ID: {FORGED_NETWORK}")
        assert status == 200 and json.loads(body)["uuid"] == INSTANCE
        assert relay.lookups[-1] == (net.network_id, "10.20.0.71")

        # A dead proxy is restarted by the next pass.
        os.kill(first, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(first, os.WNOHANG)
        driver.ensure_dhcp(spec)
        second = metadata_proxy.running_pid(pidfile)
        assert second is not None and second != first
        assert curl(vm, "http://169.254.169.254/openstack/latest/meta_data.json")[0] == 200

        # Metadata off: the proxy stops, the address goes, the route is no longer offered.
        driver.ensure_dhcp(dataclasses.replace(spec, metadata=False))
        assert metadata_proxy.running_pid(pidfile) is None
        namespace = names.dhcp_namespace(driver.config.namespace_prefix, net.network_id)
        addresses = sh("ip", "-n", namespace, "-j", "addr", "show").stdout
        assert "169.254.169.254" not in addresses
        assert "staticroutes" not in (_lease(vm, state) or {"staticroutes": ""})

        driver.ensure_dhcp(spec)
        assert metadata_proxy.running_pid(pidfile) is not None
        driver.delete_dhcp(net.network_id)
        assert metadata_proxy.running_pid(pidfile) is None
        assert not Path(pidfile).exists()


def test_metadata_without_a_relay_socket_is_refused(linux: LinuxHarness) -> None:
    net = NetworkSpec(network_id=new_id(), vni=1202)
    subnet = DhcpSubnet(subnet_id=new_id(), cidr="10.20.0.0/24", server_address="10.20.0.2")
    spec = DhcpSpec(network_id=net.network_id, port_id=new_id(), mac="fa:16:3e:00:07:03", subnets=(subnet,),
                    metadata=True)
    linux.driver.ensure_network(net)
    with pytest.raises(DriverError, match="metadata_socket"):
        linux.driver.ensure_dhcp(spec)
