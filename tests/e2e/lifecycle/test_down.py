"""`andromede down` on a real host: without --all the VM and its wiring outlive the control plane and the next `up`
adopts them; with --all nothing of the installation is left on the host (no QEMU, dnsmasq or metadata proxy, no
namespace, link, nftables object or cgroup), while a second installation running alongside is untouched.

Bounded: one VM (m1.tiny, 256 MiB), TCG.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from andromede.network.agent.entry import network_state_dir
from tests.e2e.support import qemu_pids
from tests.support.server import VENV_BIN, Server, free_port

pytestmark = [pytest.mark.vm, pytest.mark.root]
NEIGHBOUR_VNI = 4_000_321  # the VNI space is the host's: the two installations must not pick the same one


def andromede(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VENV_BIN / "andromede"), *args], capture_output=True, text=True, timeout=300,
                          check=False)


def status(cloud: Server) -> tuple[int, dict]:
    done = andromede("status", "--data-dir", str(cloud.data_dir), "-f", "json")
    return done.returncode, json.loads(done.stdout)


def link_index(name: str) -> int | None:
    path = Path(f"/sys/class/net/{name}/ifindex")
    return int(path.read_text()) if path.exists() else None


def processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def netns() -> set[str]:
    return {line.split()[0] for line in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                                                       check=True).stdout.splitlines() if line.strip()}


def nft_ruleset() -> str:
    return subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True, check=True).stdout


def cgroups_named(name: str) -> list[str]:
    done = subprocess.run(["find", "/sys/fs/cgroup", "-maxdepth", "6", "-type", "d", "-name", name],
                          capture_output=True, text=True, check=False)
    return done.stdout.split()


def network_with_vni(cloud: Server, name: str, vni: int) -> dict:
    """Raw HTTP: the openstack CLI sends --provider-segment as a string, which the API's integer field refuses."""
    project = cloud.openstack_json("project", "show", "demo", cloud="andromede-admin")["id"]
    with cloud.http() as client:
        client.headers["X-Auth-Token"] = cloud.app_credential_token("andromede-admin")
        response = client.post("/network/v2.0/networks", json={"network": {
            "name": name, "project_id": project, "provider:network_type": "vxlan", "provider:segmentation_id": vni}})
    assert response.status_code == 201, response.text
    return response.json()["network"]


def start(tmp_path: Path, name: str) -> Server:
    if not Path("/usr/bin/qemu-system-x86_64").exists():
        pytest.skip("qemu-system-x86_64 is not installed")
    cloud = Server(data_dir=tmp_path / name / "data", port=free_port(), agent_driver="qemu", tiny_image="ensure")
    cloud.data_dir.parent.mkdir()
    cloud.start(timeout=600)
    return cloud


@pytest.fixture()
def clouds(tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    ours = start(tmp_path, "ours")
    neighbour = None
    try:
        neighbour = start(tmp_path, "neighbour")
        yield ours, neighbour
    finally:
        for cloud in (ours, neighbour):
            if cloud is not None:
                andromede("down", "--all", "--data-dir", str(cloud.data_dir))
                cloud.stop()


def test_down_keeps_the_vm_and_down_all_removes_the_installation_only(clouds: tuple[Server, Server]) -> None:
    ours, neighbour = clouds
    theirs = network_with_vni(neighbour, "nb-net", NEIGHBOUR_VNI)
    neighbour.openstack("subnet", "create", "--network", theirs["id"], "--subnet-range", "10.61.0.0/24", "nb-subnet")
    net = ours.openstack_json("network", "create", "lc-net")
    ours.openstack("subnet", "create", "--network", "lc-net", "--subnet-range", "10.60.0.0/24", "lc-subnet")
    router = ours.openstack_json("router", "create", "lc-router")
    ours.openstack("router", "add", "subnet", "lc-router", "lc-subnet")
    vm = ours.openstack_json("server", "create", "--image", "tiny", "--flavor", "m1.tiny", "--nic", "net-id=lc-net",
                             "--wait", "lc-vm")
    port = ours.openstack_json("port", "list", "--server", vm["id"])[0]["ID"]
    groups = [g["ID"] for g in ours.openstack_json("security", "group", "list")]
    bridge, tap = "brq" + net["id"][:11], "tap" + port[:11]
    their_bridge = "brq" + theirs["id"][:11]
    state_dir = str(network_state_dir(ours.data_dir, create=False))
    [qemu] = qemu_pids(vm["id"])
    code, doc = status(ours)
    assert code == 0, doc
    assert [(v["uuid"], v["pid"], v["power"]) for v in doc["vms"]] == [(vm["id"], qemu, "running")]
    assert [n["network_id"] for n in doc["networks"]] == [net["id"]] and doc["networks"][0]["dnsmasq_pid"]
    assert [r["router_id"] for r in doc["routers"]] == [router["id"]]
    code, doc = status(neighbour)
    assert code == 0 and [n["network_id"] for n in doc["networks"]] == [theirs["id"]]
    their_dnsmasq = doc["networks"][0]["dnsmasq_pid"]
    wiring = {name: link_index(name) for name in (bridge, tap, their_bridge)}
    assert None not in wiring.values()

    # down: the control plane stops, the VM and its wiring stay; up again adopts them untouched.
    done = andromede("down", "--data-dir", str(ours.data_dir))
    assert done.returncode == 0, done.stderr
    assert ours.process is not None and ours.process.wait(timeout=10) == 0
    ours.process = None
    assert qemu_pids(vm["id"]) == [qemu] and link_index(tap) == wiring[tap]
    assert status(ours)[0] == 3
    ours.start(timeout=300)
    assert ours.openstack_json("server", "show", vm["id"])["status"] == "ACTIVE"
    assert qemu_pids(vm["id"]) == [qemu] and {name: link_index(name) for name in wiring} == wiring

    # down --all: nothing of ours is left on the host.
    done = andromede("down", "--all", "--data-dir", str(ours.data_dir))
    assert done.returncode == 0, done.stderr
    assert f"VM {vm['id']}" in done.stdout and f"network {net['id']}" in done.stdout
    assert qemu_pids(vm["id"]) == []
    assert processes_mentioning(state_dir) == []  # dnsmasq, metadata proxy
    assert not Path(state_dir).exists()
    assert link_index(bridge) is None and link_index(tap) is None
    assert not {ns for ns in netns() if net["id"] in ns or router["id"] in ns}
    ruleset = nft_ruleset()
    assert port not in ruleset and net["id"] not in ruleset and bridge not in ruleset
    assert groups and not [group for group in groups if group in ruleset]
    assert cgroups_named(vm["id"]) == []
    assert status(ours)[0] == 3

    # The neighbour runs on, untouched.
    code, doc = status(neighbour)
    assert code == 0, doc
    assert [n["dnsmasq_pid"] for n in doc["networks"]] == [their_dnsmasq]
    assert link_index(their_bridge) == wiring[their_bridge]
    assert any(theirs["id"] in ns for ns in netns())
