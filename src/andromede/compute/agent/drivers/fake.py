"""FakeDriver: the QEMU driver's twin in memory, for unit tests and control-plane benchmarks.

It keeps the real driver's contract (tests/contract/compute runs one suite against both) at a cost of
microseconds per call: no processes, no disks. Given a `state_dir`, every instance is also written to
`state_dir/<uuid>.json`, so a new FakeDriver on the same directory adopts what an earlier one left running,
like a restarted agent adopting QEMU processes. Pids come from a counter and times from `clock`, so runs
are reproducible. Tests reach behind its back with `simulate_crash`, `simulate_guest_poweroff` and
`inject_fault`; a test driving an agent in another process writes `state_dir/inject-faults.json` instead (see
`FAULTS_FILE`).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from andromede.compute.agent.drivers.base import (
    ConfigDrive,
    DriverError,
    HostResources,
    HypervisorDriver,
    InstanceSpec,
    InstanceState,
    PermanentDriverError,
    Power,
    VolumeAttachment,
    VolumeKeySource,
)
from andromede.compute.agent.drivers.qemu import volumes as qemu_volumes
from andromede.compute.agent.drivers.qemu.specfile import spec_from_document, spec_to_document, write_text_atomically

DEFAULT_RESOURCES = HostResources(vcpus=256, memory_mib=1024 * 1024, disk_gib=16 * 1024, accelerator="fake")
CONSOLE_LINES_KEPT = 1000
FIRST_PID = 10_000
# A JSON list of rules, each {"operation": "ensure_defined", "message": "...", "permanent": false, and optionally
# "hostname" or "uuid" to aim at one instance}; a rule holds for as long as the file lists it.
FAULTS_FILE = "inject-faults.json"
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class _Instance:
    spec: InstanceSpec
    pid: int | None = None
    started_at: float | None = None
    last_pid: int | None = None  # survives a stop, so a reloaded driver never hands the same pid out again
    live_nics: list[str] = field(default_factory=list)  # port ids of the running "VM"'s NICs
    console: deque[str] = field(default_factory=lambda: deque(maxlen=CONSOLE_LINES_KEPT))
    disk_generation: int = 0  # how many times the root disk was made again (rebuild)
    volumes: dict[str, dict] = field(default_factory=dict)  # attached volume id -> block spec (never a key)

    def state(self) -> InstanceState:
        power: Power = "running" if self.pid is not None else "shutoff"
        return InstanceState(uuid=self.spec.uuid, power=power, pid=self.pid, started_at=self.started_at)


class FakeDriver(HypervisorDriver):
    def __init__(
        self,
        state_dir: Path | None = None,
        *,
        resources: HostResources = DEFAULT_RESOURCES,
        clock: Callable[[], float] = time.time,
        verify_base_image: bool = True,
        volume_keys: VolumeKeySource | None = None,
    ) -> None:
        """`verify_base_image=False` lets benchmarks define instances on image paths that do not exist;
        `volume_keys` gives attached encrypted volumes their keys at each start, as for the QEMU driver."""
        self.state_dir = state_dir
        self._resources = resources
        self._clock = clock
        self._verify_base_image = verify_base_image
        self._volume_keys = volume_keys
        self._lock = threading.RLock()
        self._instances: dict[str, _Instance] = {}
        self._faults: dict[tuple[str, str | None], deque[tuple[str, bool]]] = {}
        if state_dir is not None:
            state_dir.mkdir(parents=True, exist_ok=True)
            self._instances = dict(_load_all(state_dir))
        handed_out = max((instance.last_pid or 0 for instance in self._instances.values()), default=0)
        self._next_pid = max(FIRST_PID, handed_out + 1)

    # ---- HypervisorDriver ----

    def resources(self) -> HostResources:
        return self._resources

    def list_instances(self) -> dict[str, InstanceState]:
        with self._lock:
            return {uuid: instance.state() for uuid, instance in self._instances.items()}

    def state(self, uuid: str) -> InstanceState:
        with self._lock:
            instance = self._instances.get(uuid)
            return instance.state() if instance else InstanceState(uuid=uuid, power="missing")

    def ensure_defined(self, spec: InstanceSpec) -> None:
        _check_spec(spec)
        if self._verify_base_image and not spec.base_image.is_file():
            raise DriverError(f"base image {spec.base_image} does not exist on this host")
        with self._lock:
            self._raise_injected("ensure_defined", spec.uuid, spec.hostname)
            instance = self._instances.get(spec.uuid)
            if instance is None:
                self._instances[spec.uuid] = instance = _Instance(spec)
            elif instance.spec == spec:
                return
            instance.spec = spec
            self._persist(instance)

    def rebuild(self, spec: InstanceSpec) -> None:
        _check_spec(spec)
        if self._verify_base_image and not spec.base_image.is_file():
            raise DriverError(f"base image {spec.base_image} does not exist on this host")
        with self._lock:
            self._raise_injected("rebuild", spec.uuid, spec.hostname)
            old = self._defined(spec.uuid)
            if old.pid is not None:
                old.console.extend(_shutdown_lines("Power down"))
            fresh = _Instance(spec, last_pid=old.last_pid, console=old.console,
                              disk_generation=old.disk_generation + 1, volumes=old.volumes)
            self._instances[spec.uuid] = fresh
            self._persist(fresh)

    def start(self, uuid: str) -> None:
        with self._lock:
            self._raise_injected("start", uuid)
            instance = self._defined(uuid)
            if instance.pid is None:
                self._boot(instance)
                self._persist(instance)

    def stop(self, uuid: str, *, timeout: float = 10.0) -> None:
        with self._lock:
            self._raise_injected("stop", uuid)
            instance = self._instances.get(uuid)
            if instance is None or instance.pid is None:
                return
            instance.console.extend(_shutdown_lines("Power down"))
            instance.pid = instance.started_at = None
            self._persist(instance)

    def reboot(self, uuid: str, *, hard: bool) -> None:
        with self._lock:
            self._raise_injected("reboot", uuid)
            instance = self._defined(uuid)
            if instance.pid is None:
                self._boot(instance)
            else:
                if not hard:
                    instance.console.extend(_shutdown_lines("Restarting system"))
                instance.console.extend(_boot_lines(instance.spec))
            self._persist(instance)

    def destroy(self, uuid: str) -> None:
        with self._lock:
            self._raise_injected("destroy", uuid)
            if self._instances.pop(uuid, None) is not None and self.state_dir is not None:
                (self.state_dir / f"{uuid}.json").unlink(missing_ok=True)

    def console_output(self, uuid: str, length: int | None = None) -> str:
        with self._lock:
            self._raise_injected("console_output", uuid)
            lines = list(self._defined(uuid).console)
            if length is not None:
                lines = lines[-length:] if length > 0 else []
            return "".join(line + "\n" for line in lines)

    # ---- for tests: what happens behind the driver's back ----

    def simulate_crash(self, uuid: str) -> None:
        """The hypervisor process dies (killed, OOM): the instance is shut off without a word from the guest."""
        with self._lock:
            instance = self._defined(uuid)
            instance.pid = instance.started_at = None
            self._persist(instance)

    def simulate_guest_poweroff(self, uuid: str) -> None:
        """The guest shuts itself down (`poweroff` inside it)."""
        with self._lock:
            instance = self._defined(uuid)
            if instance.pid is not None:
                instance.console.extend(_shutdown_lines("Power down"))
                instance.pid = instance.started_at = None
                self._persist(instance)

    def inject_fault(self, operation: str, message: str, *, uuid: str | None = None, times: int = 1,
                     permanent: bool = False) -> None:
        """Make the next `times` calls of `operation` (for `uuid`, or any instance) raise DriverError(message),
        or PermanentDriverError(message) when `permanent`."""
        with self._lock:
            self._faults.setdefault((operation, uuid), deque()).extend([(message, permanent)] * times)

    def root_disk(self, uuid: str) -> tuple[Path, int]:
        """The image the root disk was made from, and how many times it was made again (rebuilds)."""
        with self._lock:
            instance = self._defined(uuid)
            return instance.spec.base_image, instance.disk_generation

    def config_drive_of(self, uuid: str) -> ConfigDrive | None:
        """The config drive the instance would see (the real driver writes it as config.iso)."""
        with self._lock:
            return self._defined(uuid).spec.config_drive

    # ---- internals ----

    def _defined(self, uuid: str) -> _Instance:
        instance = self._instances.get(uuid)
        if instance is None:
            raise DriverError(f"instance {uuid} is not defined on this host")
        return instance

    def nics(self, uuid: str) -> list[str]:
        with self._lock:
            instance = self._instances.get(uuid)
            return list(instance.live_nics) if instance is not None and instance.pid is not None else []

    def attach_nic(self, uuid: str, nic: dict) -> None:
        with self._lock:
            self._raise_injected("attach_nic", uuid)
            instance = self._defined(uuid)
            if instance.pid is None:
                raise DriverError(f"instance {uuid} is not running")
            if nic["port_id"] not in instance.live_nics:
                instance.live_nics.append(str(nic["port_id"]))
                self._persist(instance)

    def detach_nic(self, uuid: str, port_id: str) -> None:
        with self._lock:
            self._raise_injected("detach_nic", uuid)
            instance = self._defined(uuid)
            if port_id in instance.live_nics:
                instance.live_nics.remove(port_id)
                self._persist(instance)

    def volumes(self, uuid: str) -> list[str]:
        with self._lock:
            instance = self._instances.get(uuid)
            return sorted(instance.volumes) if instance is not None else []

    def attach_volume(self, uuid: str, attachment: VolumeAttachment) -> None:
        volume_id = qemu_volumes.check_volume_id(attachment.volume_id)
        qemu_volumes.volume_file(attachment.block_spec)
        if qemu_volumes.is_encrypted(attachment.block_spec) != (attachment.key is not None):
            raise DriverError(f"volume {volume_id}: a key comes with an encrypted volume, and only with one")
        with self._lock:
            self._raise_injected("attach_volume", uuid)
            instance = self._defined(uuid)
            if instance.volumes.get(volume_id) != attachment.block_spec:
                instance.volumes[volume_id] = dict(attachment.block_spec)
                self._persist(instance)

    def detach_volume(self, uuid: str, volume_id: str) -> None:
        qemu_volumes.check_volume_id(volume_id)
        with self._lock:
            instance = self._instances.get(uuid)
            if instance is None:
                return
            if instance.pid is not None:  # only a running guest can hold on to its disk
                self._raise_injected("detach_volume", uuid)
            if instance.volumes.pop(volume_id, None) is not None:
                self._persist(instance)

    def _boot(self, instance: _Instance) -> None:
        for volume_id, block_spec in instance.volumes.items():  # a guest never boots without its volumes
            if qemu_volumes.is_encrypted(block_spec) and (self._volume_keys is None
                                                          or self._volume_keys(volume_id) is None):
                raise DriverError(f"no key for encrypted volume {volume_id}")
        instance.pid = instance.last_pid = self._next_pid
        self._next_pid += 1
        instance.started_at = self._clock()
        instance.live_nics = [str(nic.get("port_id", i)) for i, nic in enumerate(instance.spec.nics)]
        instance.console.extend(_boot_lines(instance.spec))

    def _raise_injected(self, operation: str, uuid: str, hostname: str | None = None) -> None:
        for key in ((operation, uuid), (operation, None)):
            pending = self._faults.get(key)
            if pending:
                message, permanent = pending.popleft()
                if not pending:
                    del self._faults[key]
                raise PermanentDriverError(message) if permanent else DriverError(message)
        if hostname is None and uuid in self._instances:
            hostname = self._instances[uuid].spec.hostname
        for rule in self._file_faults():
            if (rule.get("operation") == operation and rule.get("uuid", uuid) == uuid
                    and rule.get("hostname", hostname) == hostname):
                message = str(rule.get("message", f"injected {operation} failure"))
                raise PermanentDriverError(message) if rule.get("permanent") else DriverError(message)

    def _file_faults(self) -> list[dict]:
        if self.state_dir is None:
            return []
        try:
            rules = json.loads((self.state_dir / FAULTS_FILE).read_text())
        except (FileNotFoundError, ValueError):
            return []
        return [rule for rule in rules if isinstance(rule, dict)] if isinstance(rules, list) else []

    def _persist(self, instance: _Instance) -> None:
        if self.state_dir is None:
            return
        document = {
            "spec": spec_to_document(instance.spec),
            "pid": instance.pid,
            "started_at": instance.started_at,
            "last_pid": instance.last_pid,
            "live_nics": instance.live_nics,
            "console": list(instance.console),
            "disk_generation": instance.disk_generation,
            "volumes": instance.volumes,
        }
        # Not fsynced: a fake's files only need to survive the driver object, not the machine.
        write_text_atomically(self.state_dir / f"{instance.spec.uuid}.json", json.dumps(document), durable=False)


def _load_all(state_dir: Path) -> Iterable[tuple[str, _Instance]]:
    for path in state_dir.glob("*.json"):
        if not _CANONICAL_UUID.fullmatch(path.stem):
            continue
        document = json.loads(path.read_text())
        instance = _Instance(
            spec=spec_from_document(document["spec"]),
            pid=document["pid"],
            started_at=document["started_at"],
            last_pid=document.get("last_pid"),
            live_nics=list(document.get("live_nics", [])),
            disk_generation=int(document.get("disk_generation", 0)),
            volumes=dict(document.get("volumes", {})),
        )
        instance.console.extend(document["console"])
        yield path.stem, instance


def _check_spec(spec: InstanceSpec) -> None:
    if not _CANONICAL_UUID.fullmatch(spec.uuid):
        raise PermanentDriverError(f"invalid instance uuid {spec.uuid!r}: expected the canonical lower-case form")
    if spec.vcpus < 1 or spec.memory_mib < 16 or spec.root_gib < 0:
        raise PermanentDriverError(f"impossible flavor: {spec.vcpus} vCPUs, {spec.memory_mib} MiB, {spec.root_gib} GiB")
    if spec.base_format not in ("qcow2", "raw"):
        raise PermanentDriverError(f"unsupported base image format {spec.base_format!r}")


def _boot_lines(spec: InstanceSpec) -> list[str]:
    """What the tiny guest prints (firmware first), as if its metadata arrived: console watchers see its markers."""
    drive = spec.config_drive
    meta = drive.meta_data if drive else {}
    keys = meta.get("public_keys") or {}
    hostname = spec.hostname.split(".")[0] or f"tiny-{spec.uuid[:8]}"
    lines = [
        "SeaBIOS (version fake)",
        "Booting from Hard Disk...",
        "andromede-tiny: booting",
        "andromede-tiny: dhcp: no lease" if spec.nics else "andromede-tiny: dhcp: no network interface",
        f"andromede-tiny: metadata source={'config-drive' if drive else 'none'}",
        f"andromede-tiny: ssh keys={len(keys)}",
    ]
    user_data = drive.user_data if drive else None
    if not user_data:
        lines.append("andromede-tiny: user-data none")
    elif user_data.startswith(b"#!"):
        lines += ["andromede-tiny: user-data start", "andromede-tiny: user-data exit=0"]
    else:
        lines.append("andromede-tiny: user-data skipped (not a #! script)")
    lines.append(f"andromede-tiny: ready hostname={hostname} ip=none uptime=1.00")
    return lines


def _shutdown_lines(how: str) -> list[str]:
    return ["andromede-tiny: shutting down", f"reboot: {how}"]
