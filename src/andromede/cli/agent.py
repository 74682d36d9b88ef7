"""`andromede agent`: one per hypervisor host; the all-in-one `andromede up` starts it for the local host.

The registry below is every service that acts on hosts, dependencies first (compute waits for network's ports);
a service with an agent side adds its entry here and nothing else.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

from andromede.agentlib import registry
from andromede.agentlib.client import ControllerClient, WrongHost, agent_host
from andromede.agentlib.runner import Runner
from andromede.common.lockfile import AlreadyRunning, DataDirLock
from andromede.compute.agent import entry as compute_entry
from andromede.network.agent import entry as network_entry
from andromede.volume.agent import entry as volume_entry

log = logging.getLogger("andromede.agent")

# Volume before compute: compute plugs volumes with the volume agent's storage driver.
AGENTS: tuple[registry.Entry, ...] = (network_entry.ENTRY, volume_entry.ENTRY, compute_entry.ENTRY)


def run_agent(data_dir: Path, config: Path, *, host: str | None = None, driver: str = "qemu",
              availability_zone: str = "nova") -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    lock = DataDirLock(data_dir, name="agent.lock")
    lock.acquire()
    try:
        controller = ControllerClient(config)
        host = controller.host = agent_host(controller.host, host)
        context = registry.AgentContext(host=host, data_dir=data_dir, config=config, driver=driver,
                                        availability_zone=availability_zone, controller=controller)
        reconcilers = registry.build(AGENTS, context)
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        log.info("agent for host %s running (%s driver; %s)", host, driver,
                 ", ".join(reconciler.name for reconciler in reconcilers))
        Runner(host, controller, reconcilers).run(stop)
    finally:
        lock.release()


__all__ = ["AGENTS", "AlreadyRunning", "WrongHost", "run_agent"]
