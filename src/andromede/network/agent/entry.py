"""Network's entry in the agent's registry: the data-plane driver this host uses and the reconciler over it."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from andromede.agentlib.registry import AgentContext, Entry
from andromede.network.agent.client import NetworkClient
from andromede.network.agent.drivers.base import NetworkDriver
from andromede.network.agent.metadata_relay import MetadataRelay
from andromede.network.agent.reconciler import NetworkReconciler

log = logging.getLogger("andromede.agent")
METADATA_SOCKET = "metadata.sock"


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


def build(context: AgentContext) -> NetworkReconciler | None:
    driver = make_network_driver(context.driver, context.data_dir)
    if driver is None:
        return None
    real = context.driver != "fake"
    reconciler = NetworkReconciler(context.host, driver, NetworkClient(context.controller), metadata=real,
                                   vtep_address=vtep_address() if real else None)
    if real:  # the relay answers the per-network proxies the Linux driver starts
        relay = MetadataRelay.from_agent_config(context.config,
                                                network_state_dir(context.data_dir) / METADATA_SOCKET,
                                                reconciler.metadata_caller)
        relay.start()
        reconciler.close_with(relay.stop)
    return reconciler


ENTRY = Entry("network", build)
