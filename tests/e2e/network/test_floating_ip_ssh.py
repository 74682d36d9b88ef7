"""The issue's user story with real VMs: router to `public`, floating IP, SSH from the host, security groups,
isolation between projects with the same CIDR, and anti-spoofing from inside a guest.

Bounded: at most 2 VMs at once (m1.tiny, 256 MiB), TCG. The host plays "outside": it owns the public range's
gateway address, as in the all-in-one.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from andromede.network import ipam
from tests.e2e.support import BOOT_TIMEOUT, poll, qemu_cloud, ssh_key
from tests.e2e.support import console as _console
from tests.support.accounts import Admin, cli_as
from tests.support.server import Server

pytestmark = [pytest.mark.vm, pytest.mark.root]
PUBLIC = "172.24.77.0/24"
HOST_ON_PUBLIC = "172.24.77.1"
APP_V6 = "2001:db8:40::/64"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from qemu_cloud(tmp_path_factory, "ficloud", public_network=PUBLIC)


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ssh_key(tmp_path_factory.mktemp("key"))


def ssh_argv(key: Path, address: str, command: str, timeout: int = 5) -> list[str]:
    return ["ssh", "-i", str(key), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "BatchMode=yes", "-o", f"ConnectTimeout={timeout}", "-o", "ServerAliveInterval=2",
            "-o", "ServerAliveCountMax=2", "-o", "LogLevel=ERROR", f"root@{address}", command]


def ssh(key: Path, address: str, command: str, timeout: int = 5) -> subprocess.CompletedProcess[str]:
    return subprocess.run(ssh_argv(key, address, command, timeout), capture_output=True, text=True,
                          timeout=timeout + 60)


def boot(cloud: Server, name: str, network: str, fixed_ip: str, *, cloud_name: str = "andromede",
         user_data: Path | None = None) -> dict:
    extra = ["--user-data", str(user_data)] if user_data else []
    server = cloud.openstack_json("server", "create", "--image", "tiny", "--flavor", "m1.tiny", "--key-name", "k",
                                  "--nic", f"net-id={network},v4-fixed-ip={fixed_ip}", *extra, "--wait", name,
                                  cloud=cloud_name)
    poll(lambda: f"ip={fixed_ip}" in _console(cloud, name, cloud_name), BOOT_TIMEOUT, f"{name} to be ready")
    return server


def test_router_floating_ip_ssh_security_groups_isolation_and_spoofing(cloud: Server, key: Path,
                                                                         tmp_path: Path) -> None:
    cloud.openstack("keypair", "create", "--public-key", str(key.with_suffix(".pub")), "k")
    cloud.openstack("network", "create", "app-net")
    cloud.openstack("subnet", "create", "--network", "app-net", "--subnet-range", "10.40.0.0/24", "app-subnet")
    cloud.openstack("router", "create", "app-router")
    cloud.openstack("router", "set", "--external-gateway", "public", "app-router")
    cloud.openstack("router", "add", "subnet", "app-router", "app-subnet")
    cloud.openstack("subnet", "create", "--network", "app-net", "--ip-version", "6", "--subnet-range", APP_V6,
                    "--ipv6-ra-mode", "slaac", "--ipv6-address-mode", "slaac", "app-subnet6")
    cloud.openstack("router", "add", "subnet", "app-router", "app-subnet6")

    a = boot(cloud, "vm-a", "app-net", "10.40.0.11")
    assert "metadata source=metadata-service" in _console(cloud, "vm-a")  # no config drive: 169.254.169.254
    boot(cloud, "vm-b", "app-net", "10.40.0.12")
    fip = cloud.openstack_json("floating", "ip", "create", "public")["floating_ip_address"]
    cloud.openstack("server", "add", "floating", "ip", "vm-a", fip)
    poll(lambda: fip in str(cloud.openstack_json("server", "show", "vm-a")["addresses"]), 30, "the FIP in addresses")

    # The default group admits only its members: SSH from outside fails until a rule allows it.
    assert ssh(key, fip, "true", timeout=3).returncode != 0
    cloud.openstack("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22", "default")
    rule = cloud.openstack_json("security", "group", "rule", "list", "default", "--protocol", "tcp")[0]["ID"]
    opened = time.monotonic()
    poll(lambda: ssh(key, fip, "true", timeout=2).returncode == 0, 60, "SSH through the floating IP")
    print(f"ssh opened {time.monotonic() - opened:.1f}s after the rule")  # the rule itself applies within 1 s

    # From A: B by its fixed IP (same group), and the outside through SNAT (the host's public address).
    assert ssh(key, fip, "ping -c 1 -W 2 10.40.0.12").returncode == 0
    assert ssh(key, fip, f"ping -c 1 -W 2 {HOST_ON_PUBLIC}").returncode == 0
    # IPv6: each guest made its address from the router's advertisement, the one its port holds (anti-spoofing
    # lets nothing else out), and A reaches B by it.
    [b_port] = cloud.openstack_json("port", "list", "--server", "vm-b", "--long")
    b_v6 = ipam.eui64(APP_V6, b_port["MAC Address"])
    poll(lambda: ssh(key, fip, f"ping -c 1 -W 2 {b_v6}").returncode == 0, 60, "B over IPv6 (SLAAC)")

    # An established session dies when the rule that allowed it goes.
    session = subprocess.Popen(ssh_argv(key, fip, "while true; do echo tick; sleep 0.5; done"),
                               stdout=subprocess.PIPE, text=True)
    assert session.stdout is not None and session.stdout.readline().strip() == "tick"
    cloud.openstack("security", "group", "rule", "delete", rule)
    try:
        session.wait(timeout=30)  # ServerAlive gives up after ~4 s without an answer
    finally:
        session.kill()
    assert ssh(key, fip, "true", timeout=3).returncode != 0
    cloud.openstack("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22", "default")
    poll(lambda: ssh(key, fip, "true", timeout=2).returncode == 0, 60, "SSH again")
    cloud.openstack("server", "delete", "--wait", "vm-b")

    # Hot-plug: a second NIC appears in the running guest, and goes away again.
    cloud.openstack("network", "create", "extra-net")
    cloud.openstack("subnet", "create", "--network", "extra-net", "--subnet-range", "10.41.0.0/24", "extra-subnet")
    extra = cloud.openstack_json("port", "create", "--network", "extra-net", "extra-port")
    cloud.openstack("server", "add", "port", "vm-a", extra["id"])
    poll(lambda: ssh(key, fip, "ls /sys/class/net").stdout.split().count("eth1") == 1, 90, "eth1 in the guest")
    cloud.openstack("server", "remove", "port", "vm-a", extra["id"])
    poll(lambda: "eth1" not in ssh(key, fip, "ls /sys/class/net").stdout.split(), 90, "eth1 to go")

    # A second project with the same CIDR: its VM reaches nothing of the first project's, and reads
    # only its own metadata even when it forges the headers the platform uses internally.
    other = cli_as(cloud, Admin(cloud).account(), tmp_path)
    probe = tmp_path / "probe.sh"
    probe.write_text("#!/bin/sh\n(sleep 2\n"
                     "if ping -c 3 -W 2 10.40.0.11 >/dev/null 2>&1; then r=reached; else r=isolated; fi\n"
                     "echo probe-$r > /dev/console\n"
                     f"wget -q -O /tmp/md --header 'X-Instance-ID: {a['id']}' --header 'X-Forwarded-For: 10.40.0.11' "
                     "--header 'X-Andromede-Network-ID: x' http://169.254.169.254/openstack/latest/meta_data.json\n"
                     "echo probe-md-$(grep -o '\"uuid\": *\"[^\"]*\"' /tmp/md) > /dev/console) &\n")
    other("network", "create", "other-net")
    other("subnet", "create", "--network", "other-net", "--subnet-range", "10.40.0.0/24", "other-subnet")
    c = json.loads(other("server", "create", "--image", "tiny", "--flavor", "m1.tiny", "--nic",
                         "net-id=other-net,v4-fixed-ip=10.40.0.14", "--user-data", str(probe), "--wait", "-f", "json",
                         "vm-c").stdout)

    def other_console() -> str:
        return other("console", "log", "show", "vm-c", check=False).stdout

    poll(lambda: "probe-md-" in other_console(), BOOT_TIMEOUT, "vm-c's probes")
    console = other_console()
    assert "probe-isolated" in console and "probe-reached" not in console
    metadata_line = console.split("probe-md-", 1)[1].splitlines()[0]
    assert c["id"] in metadata_line and a["id"] not in metadata_line
    reach_c = ssh(key, fip, "ping -c 2 -W 2 10.40.0.14")
    assert reach_c.returncode == 1 and "100% packet loss" in reach_c.stdout  # ran on A; C never answered

    # Anti-spoofing: A takes another address (then another MAC, with forged ARP) and tries the router: nothing.
    assert ssh(key, fip, "ping -c 1 -W 2 10.40.0.1").returncode == 0
    spoof = ("(ip addr add 10.40.0.99/24 dev eth0; "
             "if ping -c 2 -W 2 -I 10.40.0.99 10.40.0.1 >/dev/null 2>&1; then r=reached; else r=blocked; fi; "
             "echo spoof-ip-$r > /dev/console; "
             "ip link set eth0 address fa:16:3e:de:ad:01; arping -c 2 -U -I eth0 -s 10.40.0.12 10.40.0.1; "
             "if ping -c 2 -W 2 10.40.0.1 >/dev/null 2>&1; then r=reached; else r=blocked; fi; "
             "echo spoof-mac-$r > /dev/console) >/dev/null 2>&1 &")
    ssh(key, fip, spoof)
    poll(lambda: "spoof-mac-" in _console(cloud, "vm-a"), 60, "the spoofing attempts to finish")
    console = _console(cloud, "vm-a")
    assert "spoof-ip-blocked" in console and "spoof-mac-blocked" in console
