"""`andromede down`: stop the all-in-one; with `everything`, also its VMs and its data plane on this host.

The API server and the agent are stopped through their lock files (SIGTERM, a grace period, SIGKILL), as a
Ctrl-C would: VMs and the data plane keep running, and the next `andromede up` adopts them. Stopping everything
goes through the drivers' own paths, the ones the agent uses: the hypervisor driver powers each VM down (ACPI,
then kill) and removes its cgroups; the network driver's teardown removes what its inventory lists as this
installation's (routers, ports, external access, networks with their dnsmasq and metadata proxies, security
groups). Nothing of another installation on the same host is touched.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field

from andromede.common.lockfile import holder_pid, stop_holder
from andromede.lifecycle.layout import Installation

STOP_TIMEOUT = 20.0  # the server stops its agent itself, which may wait 10 s for it


class NotPermitted(Exception):
    """The installation's processes or host objects belong to another user (root)."""


@dataclass
class DownReport:
    stopped: list[str] = field(default_factory=list)  # processes and VMs this call stopped, one line each
    removed: list[str] = field(default_factory=list)  # networks, routers, the data dir
    kept: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def stop_control_plane(installation: Installation, report: DownReport, *, timeout: float = STOP_TIMEOUT) -> None:
    # The agent first: its long polls end before the server goes, which then shuts down with nothing in flight.
    for name, lock in (("agent", installation.agent_lock), ("API server", installation.server_lock)):
        pid = holder_pid(lock)
        if pid is None:
            continue
        try:
            stop_holder(lock, timeout=timeout)
        except PermissionError:
            raise NotPermitted(f"the {name} (pid {pid}) belongs to another user: run this as that user") from None
        if holder_pid(lock) is None:
            report.stopped.append(f"{name} (pid {pid})")
        else:
            report.errors.append(f"the {name} (pid {pid}) is still running")


def stop_vms(installation: Installation, report: DownReport, *, timeout: float) -> None:
    from andromede.compute.agent.drivers.base import DriverError
    from andromede.compute.agent.entry import make_driver

    for name, state_dir in (("qemu", installation.instances), ("fake", installation.fake_instances)):
        if not state_dir.is_dir():
            continue
        driver = make_driver(name, installation.data_dir)
        running = sorted(uuid for uuid, state in driver.list_instances().items() if state.power == "running")
        try:
            driver.stop_all(timeout=timeout)
        except DriverError as exc:
            report.errors.append(f"stopping VMs: {exc}")
        gone = set(running) - {u for u, s in driver.list_instances().items() if s.power == "running"}
        report.stopped += [f"VM {uuid}" for uuid in running if uuid in gone]


def remove_data_plane(installation: Installation, report: DownReport) -> None:
    state_dir = installation.network_state
    if not state_dir.exists():
        return
    if os.geteuid() != 0:
        raise NotPermitted(f"the data plane ({state_dir}) is root's: run this as root")
    from andromede.network.agent.drivers.base import DriverError
    from andromede.network.agent.drivers.linux import LinuxNetworkDriver
    from andromede.network.agent.entry import make_network_driver

    driver = make_network_driver("qemu", installation.data_dir)
    assert isinstance(driver, LinuxNetworkDriver)
    networks, routers = sorted(driver.inventory.ids("network")), sorted(driver.inventory.ids("router"))
    try:
        driver.teardown()
    except (DriverError, OSError, ValueError) as exc:
        report.errors.append(f"removing the data plane: {exc}")
        return
    report.removed += [f"router {router_id}" for router_id in routers]
    report.removed += [f"network {network_id}" for network_id in networks]
    shutil.rmtree(state_dir, ignore_errors=True)


def down(installation: Installation, *, everything: bool = False, vm_timeout: float = 10.0,
         purge: Callable[[], bool] | None = None) -> DownReport:
    """`purge`, when given, is asked (after everything stopped cleanly) whether the data dir may go."""
    report = DownReport()
    stop_control_plane(installation, report)
    if everything or purge is not None:
        stop_vms(installation, report, timeout=vm_timeout)
        remove_data_plane(installation, report)
    if purge is not None and installation.data_dir.exists():
        if report.errors:
            report.kept.append(f"data dir {installation.data_dir} (not everything stopped)")
        elif not installation.looks_like_one():
            report.errors.append(f"{installation.data_dir} holds no installation: left as it is")
        elif purge():
            shutil.rmtree(installation.data_dir)
            report.removed.append(f"data dir {installation.data_dir}")
        else:
            report.kept.append(f"data dir {installation.data_dir}")
    return report
