"""`andromede agent`: one per hypervisor host; the all-in-one `andromede up` starts it for the local host."""

from __future__ import annotations

import logging
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
        from andromede.compute.agent.drivers.fake import FakeDriver

        return FakeDriver(state_dir / "fake-instances")
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
