"""Real VMs on a real tenant network: Linux bridge over VXLAN, dnsmasq DHCP, nftables port security.

Bounded: at most 2 VMs at once, 256 MiB each (m1.tiny), TCG.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.support import BOOT_TIMEOUT, poll, qemu_cloud
from tests.e2e.support import console as _console
from tests.support.server import Server

pytestmark = [pytest.mark.vm, pytest.mark.root]
PINGER = """#!/bin/sh
( while true; do
    if ping -c 1 -W 1 {peer} >/dev/null 2>&1; then echo "ping-ok-{peer}" > /dev/console
    else echo "ping-lost-{peer}" > /dev/console; fi
    sleep 2
  done ) &
"""


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from qemu_cloud(tmp_path_factory, "netcloud")


def _ifindex(name: str) -> int:
    return int(Path(f"/sys/class/net/{name}/ifindex").read_text())


def _link_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", name], capture_output=True).returncode == 0


def test_two_vms_on_a_tenant_network_reach_each_other(cloud: Server, tmp_path: Path) -> None:
    network = cloud.openstack_json("network", "create", "e2e-net")
    cloud.openstack("subnet", "create", "--network", "e2e-net", "--subnet-range", "10.30.0.0/24", "e2e-subnet")
    script = tmp_path / "ping.sh"
    script.write_text(PINGER.format(peer="10.30.0.12"))
    pinger = cloud.openstack_json("server", "create", "--image", "tiny", "--flavor", "m1.tiny",
                                  "--nic", "net-id=e2e-net,v4-fixed-ip=10.30.0.11", "--user-data", str(script),
                                  "vm-a")
    target = cloud.openstack_json("server", "create", "--image", "tiny", "--flavor", "m1.tiny",
                                  "--nic", "net-id=e2e-net,v4-fixed-ip=10.30.0.12", "--wait", "vm-b")
    assert target["status"] == "ACTIVE"
    poll(lambda: "ip=10.30.0.12" in _console(cloud, "vm-b"), BOOT_TIMEOUT, "vm-b to get its address by DHCP")
    poll(lambda: "ping-ok-10.30.0.12" in _console(cloud, "vm-a"), BOOT_TIMEOUT, "vm-a to ping vm-b")
    assert "ip=10.30.0.11" in _console(cloud, "vm-a")
    assert "metadata source=metadata-service" in _console(cloud, "vm-a")  # the user data came that way

    shown = cloud.openstack_json("server", "show", "vm-a")
    assert "10.30.0.11" in str(shown["addresses"])
    ports = cloud.openstack_json("port", "list", "--server", pinger["id"], "--long")
    assert [p["Status"] for p in ports] == ["ACTIVE"]
    tap = "tap" + ports[0]["ID"][:11]
    assert _link_exists(tap) and _link_exists("brq" + network["id"][:11])

    # Kill the API server and the agent: the VMs and their wiring stay, the new agent adopts them untouched.
    before = {name: _ifindex(name) for name in (tap, "brq" + network["id"][:11])}
    oks = _console(cloud, "vm-a").count("ping-ok-10.30.0.12")
    assert cloud.process is not None
    os.killpg(cloud.process.pid, signal.SIGKILL)
    cloud.process.wait()
    cloud.process = None
    cloud.stop_agent(signal.SIGKILL)
    cloud.start(timeout=300)
    poll(lambda: _console(cloud, "vm-a").count("ping-ok-10.30.0.12") > oks + 5, 120, "pings after the restart")
    assert {name: _ifindex(name) for name in before} == before  # adopted, not rebuilt
    recent = _console(cloud, "vm-a").split("ping-ok-10.30.0.12")[oks + 1:]
    assert sum("ping-lost" in chunk for chunk in recent) <= 1  # the data plane never stopped

    cloud.openstack("server", "delete", "--wait", "vm-a", "vm-b")
    poll(lambda: not _link_exists(tap), 30, "the deleted VM's tap to go away")
