"""`andromede agent`: one per hypervisor host; the all-in-one `andromede up` starts it for the local host."""

from __future__ import annotations

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

log = logging.getLogger("andromede.agent")


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


def run_agent(data_dir: Path, config: Path, *, host: str | None = None, driver: str = "qemu",
              availability_zone: str = "nova") -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    lock = DataDirLock(data_dir, name="agent.lock")
    lock.acquire()
    try:
        client = ControllerClient(config)
        hypervisor = make_driver(driver, data_dir)
        cache = ImageCache(data_dir / "image-cache", client.download_image)
        reconciler = Reconciler(host or socket.gethostname(), hypervisor, client, cache, data_dir / "agent-state.json",
                                availability_zone=availability_zone)
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        log.info("agent for host %s running (%s driver)", reconciler.host, driver)
        reconciler.run(stop)
    finally:
        lock.release()


__all__ = ["AlreadyRunning", "run_agent"]
