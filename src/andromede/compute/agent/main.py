"""`andromede agent`: one per hypervisor host; the all-in-one `andromede up` starts it for the local host."""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import socket
import threading
from pathlib import Path

from andromede.common.lockfile import AlreadyRunning, DataDirLock
from andromede.compute.agent.client import ControllerClient
from andromede.compute.agent.drivers.base import HypervisorDriver
from andromede.compute.agent.image_cache import ImageCache
from andromede.compute.agent.reconciler import Reconciler
from andromede.network.agent.drivers.base import NetworkDriver
from andromede.network.agent.metadata_relay import MetadataRelay
from andromede.network.agent.reconciler import NetworkReconciler

log = logging.getLogger("andromede.agent")
METADATA_SOCKET = "metadata.sock"


def make_driver(name: str, state_dir: Path) -> HypervisorDriver:
    if name == "fake":
        from andromede.compute.agent.drivers.base import HostResources
        from andromede.compute.agent.drivers.fake import DEFAULT_RESOURCES, FakeDriver

        # Tests size the fake host to exercise the scheduler (ANDROMEDE_FAKE_MEMORY_MIB and friends).
        resources = HostResources(
            vcpus=int(os.environ.get("ANDROMEDE_FAKE_VCPUS", DEFAULT_RESOURCES.vcpus)),
            memory_mib=int(os.environ.get("ANDROMEDE_FAKE_MEMORY_MIB", DEFAULT_RESOURCES.memory_mib)),
            disk_gib=int(os.environ.get("ANDROMEDE_FAKE_DISK_GIB", DEFAULT_RESOURCES.disk_gib)), accelerator="fake")
        return FakeDriver(state_dir / "fake-instances", resources=resources)
    from andromede.compute.agent.drivers.qemu import QemuDriver

    return QemuDriver(state_dir / "instances")


def network_state_dir(data_dir: Path, *, create: bool = True) -> Path:
    """dnsmasq runs as nobody and must reach its files, but the data directory is 0700: keep them under /run.
    One directory per installation (per data dir): the network driver's inventory of what is this installation's."""
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
    directory = Path("/run/andromede") / digest
    if not create:
        return directory
    for path in (directory.parent, directory):
        path.mkdir(mode=0o711, exist_ok=True)
        os.chmod(path, 0o711)  # noqa: S103  (traversable, not listable: dnsmasq runs as nobody)
    return directory


def vtep_address() -> str:
    """This host's underlay address for VXLAN. The default serves a single host; with several, each sets its own
    (ANDROMEDE_VTEP_ADDRESS) and the controller hands every host the others' addresses."""
    return os.environ.get("ANDROMEDE_VTEP_ADDRESS", "127.0.0.1")


def make_network_driver(name: str, state_dir: Path) -> NetworkDriver | None:
    if name == "fake":
        from andromede.network.agent.drivers.fake import FakeNetworkDriver

        return FakeNetworkDriver()
    if os.geteuid() != 0:
        log.warning("not running as root: networking is off on this host (ports stay DOWN)")
        return None
    from andromede.network.agent.drivers.linux import HostConfig, LinuxNetworkDriver

    config = HostConfig(vtep_address=vtep_address(),
                        state_dir=network_state_dir(state_dir),
                        metadata_socket=network_state_dir(state_dir) / METADATA_SOCKET)
    return LinuxNetworkDriver(config)


class WrongHost(ValueError):
    """--host names another host than the one the agent's credential is bound to."""


def agent_host(configured: str | None, requested: str | None) -> str:
    """The host this agent acts for: the one its credential is bound to; --host may only repeat it."""
    if configured and requested and configured != requested:
        raise WrongHost(f"agent.yaml holds the credential of host {configured}, not {requested}.")
    return configured or requested or socket.gethostname()


def run_agent(data_dir: Path, config: Path, *, host: str | None = None, driver: str = "qemu",
              availability_zone: str = "nova") -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    lock = DataDirLock(data_dir, name="agent.lock")
    lock.acquire()
    try:
        client = ControllerClient(config)
        hypervisor = make_driver(driver, data_dir)
        cache = ImageCache(data_dir / "image-cache", client.download_image)
        host = agent_host(client.host, host)
        client.host = host
        network_driver = make_network_driver(driver, data_dir)
        network = relay = None
        if network_driver is not None:
            network = NetworkReconciler(host, network_driver, client, metadata=driver != "fake",
                                        vtep_address=vtep_address() if driver != "fake" else None)
            if driver != "fake":  # the relay answers the per-network proxies the Linux driver starts
                relay = MetadataRelay.from_agent_config(config, network_state_dir(data_dir) / METADATA_SOCKET,
                                                        network.metadata_caller)
                relay.start()
        reconciler = Reconciler(host, hypervisor, client, cache, data_dir / "agent-state.json",
                                availability_zone=availability_zone, network=network)
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        log.info("agent for host %s running (%s driver)", reconciler.host, driver)
        if network is not None:
            threading.Thread(target=network.run, args=(stop,), name="network", daemon=True).start()
        reconciler.run(stop)
        if relay is not None:
            relay.stop()
    finally:
        lock.release()


__all__ = ["AlreadyRunning", "WrongHost", "run_agent"]
