"""What the end-to-end tests share: one real cloud per module (QEMU agent, tiny image), polling, consoles, keys."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.support import polling
from tests.support.server import Server, free_port

__all__ = ["BOOT_TIMEOUT", "console", "poll", "qemu_cloud", "qemu_pids", "ssh_key"]

BOOT_TIMEOUT = 240.0
ADMIN = "andromede-admin"


def poll(check: Callable[[], bool], timeout: float, what: str) -> None:
    polling.poll(check, timeout, what, interval=1.0)  # checks run the CLI: no need to spin faster under TCG


def qemu_pids(uuid: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"qemu-system" in cmdline and uuid.encode() in cmdline:
                pids.append(int(entry.name))
    return pids


def console(cloud: Server, name: str, cloud_name: str = "andromede") -> str:
    return cloud.openstack("console", "log", "show", name, cloud=cloud_name, check=False).stdout


def qemu_cloud(tmp_path_factory: pytest.TempPathFactory, name: str, *, public_network: str = "") -> Iterator[Server]:
    """Body of a module-scoped fixture: `andromede up` with real VMs; on the way out, every server, floating IP,
    router and network goes (the agent then removes their devices) before the cloud stops."""
    if not Path("/usr/bin/qemu-system-x86_64").exists():
        pytest.skip("qemu-system-x86_64 is not installed")
    srv = Server(data_dir=tmp_path_factory.mktemp(name) / "data", port=free_port(), agent_driver="qemu",
                 tiny_image="ensure", public_network=public_network)  # fmt: skip
    srv.start(timeout=600)
    yield srv
    for server in srv.openstack_json("server", "list", "--all-projects", cloud=ADMIN):
        srv.openstack("server", "delete", "--wait", server["ID"], cloud=ADMIN, check=False)
    for fip in srv.openstack_json("floating", "ip", "list", cloud=ADMIN):
        srv.openstack("floating", "ip", "delete", fip["ID"], cloud=ADMIN, check=False)
    routers = srv.openstack_json("router", "list", cloud=ADMIN)
    for router in routers:
        for port in srv.openstack_json("port", "list", "--router", router["ID"], cloud=ADMIN):
            srv.openstack("router", "remove", "port", router["ID"], port["ID"], cloud=ADMIN, check=False)
        srv.openstack("router", "delete", router["ID"], cloud=ADMIN, check=False)
    networks = srv.openstack_json("network", "list", cloud=ADMIN)
    for network in networks:
        srv.openstack("network", "delete", network["ID"], cloud=ADMIN, check=False)
    if routers or networks:
        time.sleep(6)  # the agent removes bridges, namespaces and tables of what is gone
    srv.stop()


def ssh_key(directory: Path) -> Path:
    """A fresh ed25519 key pair: the private key at the returned path, the public one beside it (.pub)."""
    private = ed25519.Ed25519PrivateKey.generate()
    path = directory / "id_ed25519"
    path.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                           serialization.NoEncryption()))  # fmt: skip
    path.chmod(0o600)
    public = private.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    path.with_suffix(".pub").write_bytes(public)
    return path
