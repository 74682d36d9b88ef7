"""Real QEMU virtual machines through the real openstack CLI, booting the tiny guest from its own disk.

Bounded: at most 2 VMs at once, 256 MiB each (m1.tiny). TCG is used when KVM does not work.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.support import BOOT_TIMEOUT, console, poll, qemu_cloud, qemu_pids, ssh_key
from tests.support.server import Server

pytestmark = pytest.mark.vm


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from qemu_cloud(tmp_path_factory, "vmcloud")


def _console(srv: Server, name: str) -> str:
    return console(srv, name)


def _uptimes(console: str) -> list[str]:
    return re.findall(r"andromede-tiny: ready .*?uptime=([\d.]+)", console)


def test_boot_user_data_stop_start_reboot_delete(cloud: Server, tmp_path: Path) -> None:
    images = {image["Name"] for image in cloud.openstack_json("image", "list")}
    assert "tiny" in images  # registered by `andromede up` itself
    from andromede.guest import build_tiny_image, default_cache_dir

    raw = build_tiny_image(default_cache_dir())
    uploaded = cloud.openstack("image", "create", "--disk-format", "raw", "--file", str(raw), "--progress",
                               "tiny-upload", "-f", "json")
    assert '"status": "active"' in uploaded.stdout

    key = ssh_key(tmp_path)
    cloud.openstack("keypair", "create", "--public-key", str(key.with_suffix(".pub")), "k")
    script = tmp_path / "boot.sh"
    script.write_text("#!/bin/sh\necho user-data-ran-$((6 * 7))\n")
    created = cloud.openstack_json("server", "create", "--image", "tiny", "--flavor", "m1.tiny", "--key-name", "k",
                                   "--user-data", str(script), "--config-drive", "True", "--wait", "demo-vm")
    assert created["status"] == "ACTIVE"
    uuid = created["id"]
    assert len(qemu_pids(uuid)) == 1
    poll(lambda: "user-data-ran-42" in _console(cloud, "demo-vm") and _uptimes(_console(cloud, "demo-vm")),
         BOOT_TIMEOUT, "the guest's ready marker and user-data output")
    console = _console(cloud, "demo-vm")
    assert "andromede-tiny: ready hostname=demo-vm" in console
    assert "metadata source=config-drive" in console

    # A VM killed behind the platform's back is brought back: its desired state is "running".
    boots = len(_uptimes(_console(cloud, "demo-vm")))
    (killed,) = qemu_pids(uuid)
    os.kill(killed, signal.SIGKILL)
    poll(lambda: qemu_pids(uuid) not in ([], [killed]), 60, "the agent to restart the killed VM")
    poll(lambda: len(_uptimes(_console(cloud, "demo-vm"))) > boots, BOOT_TIMEOUT, "it to boot again")
    assert cloud.openstack_json("server", "show", "demo-vm")["status"] == "ACTIVE"

    cloud.openstack("server", "stop", "demo-vm")
    poll(lambda: cloud.openstack_json("server", "show", "demo-vm")["status"] == "SHUTOFF", 120, "SHUTOFF")
    assert qemu_pids(uuid) == []

    boots = len(_uptimes(_console(cloud, "demo-vm")))
    cloud.openstack("server", "start", "demo-vm")
    poll(lambda: cloud.openstack_json("server", "show", "demo-vm")["status"] == "ACTIVE", 120, "ACTIVE again")
    poll(lambda: len(_uptimes(_console(cloud, "demo-vm"))) > boots, BOOT_TIMEOUT, "the guest to boot again")

    pid_before = qemu_pids(uuid)
    cloud.openstack("server", "reboot", "--hard", "--wait", "demo-vm")
    assert cloud.openstack_json("server", "show", "demo-vm")["status"] == "ACTIVE"
    assert qemu_pids(uuid), "the VM runs after a hard reboot"
    assert pid_before  # a hard reboot resets the machine; the process may or may not be the same

    cloud.openstack("server", "delete", "--wait", "demo-vm")
    assert qemu_pids(uuid) == []
    assert not (cloud.data_dir / "instances" / uuid).exists()


def test_vms_survive_killing_the_api_server_and_the_agent(cloud: Server) -> None:
    names = ["keep-1", "keep-2"]
    uuids = {}
    for name in names:
        uuids[name] = cloud.openstack_json("server", "create", "--image", "tiny", "--flavor", "m1.tiny", "--wait",
                                           name)["id"]
    for name in names:
        poll(lambda n=name: bool(_uptimes(_console(cloud, n))), BOOT_TIMEOUT, f"{name} to boot")
    pids = {name: qemu_pids(uuid) for name, uuid in uuids.items()}
    consoles = {name: _console(cloud, name) for name in names}

    assert cloud.process is not None
    os.killpg(cloud.process.pid, signal.SIGKILL)
    cloud.process.wait()
    cloud.process = None
    cloud.stop_agent(signal.SIGKILL)
    time.sleep(1)
    assert {name: qemu_pids(uuid) for name, uuid in uuids.items()} == pids  # the VMs never noticed

    cloud.start(timeout=300)
    for name in names:
        poll(lambda n=name: cloud.openstack_json("server", "show", n)["status"] == "ACTIVE", 120, f"{name} ACTIVE")
    assert {name: qemu_pids(uuid) for name, uuid in uuids.items()} == pids
    for name in names:
        after = _console(cloud, name)
        assert _uptimes(after) == _uptimes(consoles[name])  # no reboot happened
    for name in names:
        cloud.openstack("server", "delete", "--wait", name)
