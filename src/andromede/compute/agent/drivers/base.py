"""What a hypervisor must do for the compute agent. One real driver (QEMU) and one fake twin implement it.

Every method is idempotent: the agent's reconcile loop calls them again and again with the desired
state, and "already so" is success. Instances outlive the agent: a new agent (or a new driver object)
finds what is running through list_instances() and adopts it.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from andromede.agentlib.errors import PermanentError

Power = Literal["running", "shutoff", "missing"]


@dataclass(frozen=True)
class ConfigDrive:
    """The OpenStack config drive: an ISO9660 volume labelled config-2 (openstack/latest/...)."""

    meta_data: dict
    user_data: bytes | None = None
    network_data: dict = field(default_factory=dict)
    vendor_data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class InstanceSpec:
    uuid: str
    hostname: str
    vcpus: int
    memory_mib: int
    root_gib: int
    base_image: Path  # a local, already-verified image file that the overlay is created on
    base_format: Literal["qcow2", "raw"]
    config_drive: ConfigDrive | None = None
    # Extra QEMU -device/-netdev pairs arrive with networking; the driver owns how they are spelled.
    nics: tuple[dict, ...] = ()


@dataclass(frozen=True, repr=False)
class VolumeAttachment:
    """A volume to plug into an instance: `block_spec` is the storage driver's QMP blockdev (qemu_block_spec: a
    qcow2 node over a `file` node naming the volume's file, `encrypt` naming a key secret when encrypted); `key`
    is the volume's key when it is encrypted. The driver names the nodes and the secret itself, and opens the file
    for QEMU: whatever names the spec carries are replaced."""

    volume_id: str
    block_spec: dict
    key: bytes | None = None

    def __repr__(self) -> str:  # never the key, in a log or a traceback
        return f"VolumeAttachment(volume_id={self.volume_id!r}, encrypted={self.key is not None})"


# Where a driver gets the key of an attached, encrypted volume when the instance starts again (the key is never
# written on the host): the agent asks the key route. None when the volume has no key.
VolumeKeySource = Callable[[str], bytes | None]


@dataclass(frozen=True)
class InstanceState:
    uuid: str
    power: Power
    pid: int | None = None
    started_at: float | None = None  # epoch seconds the current process started


@dataclass(frozen=True)
class HostResources:
    vcpus: int
    memory_mib: int
    disk_gib: int
    accelerator: Literal["kvm", "tcg", "fake"]


class DriverError(Exception):
    """A hypervisor operation failed; the message is fit for an instance fault shown to its owner.

    The agent retries it with backoff: the cause may pass (QEMU short of memory, a busy disk)."""


class PermanentDriverError(DriverError, PermanentError):
    """The driver refuses the spec or its image (an impossible flavor, a corrupt or unbootable image): the
    instance goes to ERROR with this message as its fault, and is not tried again until its desired state changes."""


class HypervisorDriver(abc.ABC):
    @abc.abstractmethod
    def resources(self) -> HostResources:
        """What this host offers to the scheduler."""

    @abc.abstractmethod
    def list_instances(self) -> dict[str, InstanceState]:
        """Every instance this driver has files or a process for, running or not."""

    @abc.abstractmethod
    def state(self, uuid: str) -> InstanceState:
        """power='missing' when nothing of the instance exists on this host."""

    @abc.abstractmethod
    def ensure_defined(self, spec: InstanceSpec) -> None:
        """Create the instance's disk overlay and config drive if they do not exist yet."""

    @abc.abstractmethod
    def rebuild(self, spec: InstanceSpec) -> None:
        """Nova's rebuild: power the instance off, throw its root disk and config drive away and define it again from
        `spec` (a new image, perhaps); it is left shut off. Calling it again makes the disk again: the caller records
        which rebuilds it has done."""

    @abc.abstractmethod
    def start(self, uuid: str) -> None:
        """Boot a defined instance; nothing to do when it runs already."""

    @abc.abstractmethod
    def stop(self, uuid: str, *, timeout: float = 10.0) -> None:
        """ACPI power-down, then kill after `timeout` seconds; nothing to do when it is off."""

    @abc.abstractmethod
    def reboot(self, uuid: str, *, hard: bool) -> None:
        """Soft: ask the guest (ACPI); hard: reset the machine. Starts it if it was off."""

    def stop_all(self, *, timeout: float = 10.0) -> None:
        """Power every running instance down (killing those that do not stop within `timeout`), at once: the
        host's part of `andromede down --all`. Disks and specs stay; the next agent starts what should run."""
        running = [uuid for uuid, state in self.list_instances().items() if state.power == "running"]
        errors = []
        with ThreadPoolExecutor(max_workers=max(1, min(16, len(running)))) as pool:
            for uuid, future in [(uuid, pool.submit(self.stop, uuid, timeout=timeout)) for uuid in running]:
                try:
                    future.result()
                except DriverError as exc:
                    errors.append(f"{uuid}: {exc}")
        if errors:
            raise DriverError("; ".join(errors))

    @abc.abstractmethod
    def destroy(self, uuid: str) -> None:
        """Stop it and remove every trace: process, disk, config drive, sockets, console log."""

    @abc.abstractmethod
    def console_output(self, uuid: str, length: int | None = None) -> str:
        """The serial console so far (the last `length` lines when given)."""

    # ---- network interfaces of a running instance ----

    @abc.abstractmethod
    def nics(self, uuid: str) -> list[str]:
        """Port ids of the NICs the running instance has now (boot-time and hot-plugged)."""

    @abc.abstractmethod
    def attach_nic(self, uuid: str, nic: dict) -> None:
        """Hot-plug a NIC ({"port_id", "mac", "tap"}) into the running instance; the spec names it for next boots."""

    @abc.abstractmethod
    def detach_nic(self, uuid: str, port_id: str) -> None:
        """Hot-unplug the port's NIC (the guest must release it; DriverError when it does not in time)."""

    # ---- volumes (Nova's volume attachments) ----

    @abc.abstractmethod
    def volumes(self, uuid: str) -> list[str]:
        """Ids of the volumes the instance has: what QEMU has plugged in while it runs (so a restarted agent can
        reconcile), what comes back at its next start while it is off."""

    @abc.abstractmethod
    def attach_volume(self, uuid: str, attachment: VolumeAttachment) -> None:
        """Plug the volume in (hot-plug when the instance runs) and keep it for every later start; attaching an
        attached volume is success. The guest sees it as /dev/disk/by-id/virtio-<first 20 chars of its id>."""

    @abc.abstractmethod
    def detach_volume(self, uuid: str, volume_id: str) -> None:
        """Unplug the volume (the guest must release it; DriverError when it does not in time, and the volume stays
        attached); detaching a detached volume is success."""
