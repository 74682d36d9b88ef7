"""QemuDriver: one detached QEMU process per running instance, everything about it in `state_dir/<uuid>/`.

The files are the truth, so any driver object (a restarted agent) adopts what an earlier one started:
spec.json (the full spec), disk.qcow2 (overlay on the shared base), config.iso, console.log (serial console),
qemu.pid, qmp.sock, qemu.log (QEMU's stderr from the last start), volumes.json (attached volumes, without keys).

Attached volumes come back at every start by the same road as a hot-plug: QEMU starts paused (-S), the agent plugs
each volume in over QMP (its file as a passed descriptor, its key as a QMP secret), then lets the CPUs run, so the
guest finds them from its first instruction. Not the command line: QEMU, running as the instance's uid, could not
open the files itself, and the keys would need a second road (descriptors inherited through the launcher) that
hot-plug does not use. One road means one set of names and one cleanup, and keys never touch argv or a file; the
agent asks its key source (the key route) for them at each start.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import threading
import time
import weakref
from pathlib import Path

from andromede.compute.agent.configdrive import build_config_drive
from andromede.compute.agent.drivers.base import (
    DriverError,
    HostResources,
    HypervisorDriver,
    InstanceSpec,
    InstanceState,
    PermanentDriverError,
    VolumeAttachment,
    VolumeKeySource,
)
from andromede.compute.agent.drivers.qemu import console, procfs, qmp, volumes
from andromede.compute.agent.drivers.qemu.accel import Requested, choose_accelerator, kvm_allowed_by_environment
from andromede.compute.agent.drivers.qemu.cgroups import Limits, VmCgroups
from andromede.compute.agent.drivers.qemu.commandline import Accel, build_argv, nic_ids
from andromede.compute.agent.drivers.qemu.images import GIB, create_overlay
from andromede.compute.agent.drivers.qemu.launcher import launch_detached
from andromede.compute.agent.drivers.qemu.layout import InstancePaths, check_state_dir, is_instance_uuid
from andromede.compute.agent.drivers.qemu.specfile import (
    read_spec,
    spec_to_document,
    write_spec,
    write_text_atomically,
)
from andromede.compute.agent.drivers.qemu.tap import open_tap
from andromede.compute.agent.drivers.qemu.uids import UidPool

log = logging.getLogger(__name__)

KILL_GRACE = 5.0  # after SIGTERM, before SIGKILL
QUIT_GRACE = 5.0  # destroy: after QMP quit, before signals
REBUILD_STOP_TIMEOUT = 10.0  # rebuild: the guest's time to power down before it is killed (its disk goes anyway)


class QemuDriver(HypervisorDriver):
    def __init__(
        self,
        state_dir: Path,
        *,
        qemu_binary: str = "qemu-system-x86_64",
        qemu_img: str = "qemu-img",
        isolate: bool = True,
        accel: Requested = "auto",
        allow_kvm: bool | None = None,
        boot_timeout: float = 30.0,
        soft_reboot_timeout: float = 60.0,
        volume_keys: VolumeKeySource | None = None,
        unplug_timeout: float = 20.0,
    ) -> None:
        """`isolate` (only when the agent runs as root: QEMU's -runas needs root) runs each VM under a uid of its
        own and in a cgroup of its own with memory, CPU and process limits; `allow_kvm` defaults to
        the ANDROMEDE_ALLOW_KVM environment variable; `soft_reboot_timeout` is how long a soft reboot waits for
        the guest before resetting it; `volume_keys` gives the key of an attached encrypted volume when the instance
        starts again; `unplug_timeout` is how long a detach waits for the guest to release the disk."""
        self.state_dir = Path(state_dir).absolute()
        check_state_dir(self.state_dir, is_root=os.geteuid() == 0)
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.qemu_binary = qemu_binary
        self.qemu_img = qemu_img
        isolate = isolate and os.geteuid() == 0
        self.uids = UidPool(self.state_dir) if isolate else None
        self.cgroups = VmCgroups() if isolate else VmCgroups([])
        self.boot_timeout = boot_timeout
        self.soft_reboot_timeout = soft_reboot_timeout
        self.unplug_timeout = unplug_timeout
        self._volume_keys = volume_keys
        self._requested_accel: Requested = accel
        self._allow_kvm = kvm_allowed_by_environment() if allow_kvm is None else allow_kvm
        self._accelerator: Accel | None = None
        self._accelerator_lock = threading.Lock()  # its own: a KVM probe takes seconds and must not block instances
        self._guard = threading.Lock()
        # One lock per instance, alive while some call holds it: no bookkeeping when instances go away.
        self._instance_locks: weakref.WeakValueDictionary[str, threading.RLock] = weakref.WeakValueDictionary()

    # ---- host ----

    @property
    def accelerator(self) -> Accel:
        with self._accelerator_lock:
            if self._accelerator is None:
                self._accelerator = choose_accelerator(
                    self._requested_accel,
                    state_dir=self.state_dir,
                    qemu_binary=self.qemu_binary,
                    allow_kvm=self._allow_kvm,
                )
            return self._accelerator

    def resources(self) -> HostResources:
        return HostResources(
            vcpus=os.cpu_count() or 1,
            memory_mib=_total_memory_mib(),
            disk_gib=shutil.disk_usage(self.state_dir).total // GIB,
            accelerator=self.accelerator,
        )

    # ---- observing ----

    def list_instances(self) -> dict[str, InstanceState]:
        found = {}
        with os.scandir(self.state_dir) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False) and is_instance_uuid(entry.name):
                    state = self._observe(InstancePaths(Path(entry.path)))
                    if state.power != "missing":
                        found[entry.name] = state
        self.cgroups.sweep(keep=set(found))  # what destroy could not remove while QEMU awaited its reaping
        return found

    def state(self, uuid: str) -> InstanceState:
        if not is_instance_uuid(uuid):
            return InstanceState(uuid=uuid, power="missing")
        return self._observe(self._paths(uuid))

    def console_output(self, uuid: str, length: int | None = None) -> str:
        paths = self._paths(uuid)
        if not paths.spec.exists():
            raise DriverError(f"instance {uuid} is not defined on this host")
        console.trim(paths.console_log)
        return console.last_lines(console.read_tail(paths.console_log), length)

    # ---- changing ----

    def ensure_defined(self, spec: InstanceSpec) -> None:
        paths = self._paths(spec.uuid)
        _check_spec(spec)
        build_argv(spec, paths)  # rejects bad NIC entries before anything is written
        with self._lock(spec.uuid):
            if not spec.base_image.is_file():
                raise DriverError(f"base image {spec.base_image} does not exist on this host")
            fresh = not paths.directory.exists()
            paths.directory.mkdir(mode=0o700, exist_ok=True)
            try:
                previous = _read_spec_document(paths.spec)
                if not paths.disk.exists():
                    create_overlay(
                        paths.disk,
                        base=spec.base_image,
                        base_format=spec.base_format,
                        size_gib=spec.root_gib,
                        qemu_img=self.qemu_img,
                    )
                self._converge_config_drive(spec, paths, previous)
                if self.uids is not None:
                    self.uids.assign(paths)
                write_spec(spec, paths.spec)  # last: an instance is listed only once it is complete
            except BaseException:
                if fresh:
                    shutil.rmtree(paths.directory, ignore_errors=True)
                raise

    def rebuild(self, spec: InstanceSpec) -> None:
        paths = self._paths(spec.uuid)
        _check_spec(spec)
        with self._lock(spec.uuid):
            if not paths.spec.exists():
                raise DriverError(f"instance {spec.uuid} is not defined on this host")
            self.stop(spec.uuid, timeout=REBUILD_STOP_TIMEOUT)
            paths.disk.unlink(missing_ok=True)
            paths.config_drive.unlink(missing_ok=True)
            self.ensure_defined(spec)

    def start(self, uuid: str) -> None:
        with self._lock(uuid):
            self._start_locked(self._paths(uuid))

    def stop(self, uuid: str, *, timeout: float = 10.0) -> None:
        if not is_instance_uuid(uuid):
            return
        paths = self._paths(uuid)
        with self._lock(uuid):
            state = self._observe(paths)
            if state.power != "running" or state.pid is None:
                return
            groups = self.cgroups.of_process(state.pid, uuid)
            try:
                qmp.system_powerdown(paths.qmp_socket)
            except qmp.QmpError as exc:
                log.warning("instance %s: ACPI power-down failed, killing instead: %s", uuid, exc)
            else:
                if timeout > 0 and procfs.wait_until_gone(state.pid, uuid, timeout):
                    self._stopped(paths, groups)
                    return
            self._kill(state.pid, uuid)
            self._stopped(paths, groups)

    def reboot(self, uuid: str, *, hard: bool) -> None:
        paths = self._paths(uuid)
        with self._lock(uuid):
            state = self._observe(paths)
            if state.power != "running" or state.pid is None:
                self._start_locked(paths)
                return
            if not hard:
                try:
                    if qmp.request_guest_reboot(paths.qmp_socket, timeout=self.soft_reboot_timeout):
                        return
                except qmp.QmpError as exc:
                    log.warning("instance %s: soft reboot request failed: %s", uuid, exc)
                if self._observe(paths).power != "running":  # the guest powered off instead of rebooting
                    self._start_locked(paths)
                    return
                log.info("instance %s: guest ignored the reboot request, resetting it", uuid)
            try:
                qmp.system_reset(paths.qmp_socket)
            except qmp.QmpError as exc:
                log.warning("instance %s: reset failed, restarting the process: %s", uuid, exc)
                self._kill(state.pid, uuid)
                self._start_locked(paths)

    def destroy(self, uuid: str) -> None:
        if not is_instance_uuid(uuid):
            return
        paths = self._paths(uuid)
        with self._lock(uuid):
            state = self._observe(paths)
            groups = self.cgroups.of_process(state.pid, uuid) if state.pid is not None else ()
            if state.power == "running" and state.pid is not None:
                # The monitor may hang up before answering `quit`; the process check below decides.
                with contextlib.suppress(qmp.QmpError):
                    qmp.quit_qemu(paths.qmp_socket)
                if not procfs.wait_until_gone(state.pid, uuid, QUIT_GRACE):
                    self._kill(state.pid, uuid)
            self._stopped(paths, groups)
            if paths.directory.exists():
                shutil.rmtree(paths.directory)

    # ---- internals ----

    def nics(self, uuid: str) -> list[str]:
        paths = self._paths(uuid)
        if self._observe(paths).power != "running":
            return []
        return [name[4:] for name in qmp.peripherals(paths.qmp_socket) if name.startswith("nic-")]

    def attach_nic(self, uuid: str, nic: dict) -> None:
        paths = self._paths(uuid)
        netdev, device = nic_ids(nic, 0)
        with self._lock(uuid):
            slots = sorted(name for name in qmp.peripherals(paths.qmp_socket) if name.startswith("slot"))
            fd = open_tap(str(nic["tap"]))
            try:
                qmp.hotplug_nic(paths.qmp_socket, tap_fd=fd, netdev_id=netdev, device_id=device,
                                mac=str(nic["mac"]), buses=slots)
            finally:
                os.close(fd)  # QEMU holds its own copy

    def detach_nic(self, uuid: str, port_id: str) -> None:
        paths = self._paths(uuid)
        netdev, device = nic_ids({"port_id": port_id}, 0)
        with self._lock(uuid):
            if not qmp.unplug_nic(paths.qmp_socket, netdev_id=netdev, device_id=device):
                raise DriverError(f"the guest did not release the NIC of port {port_id}")

    def volumes(self, uuid: str) -> list[str]:
        paths = self._paths(uuid)
        if self._observe(paths).power == "running":
            return volumes.attached(paths.qmp_socket)
        return sorted(_read_attachments(paths))

    def attach_volume(self, uuid: str, attachment: VolumeAttachment) -> None:
        volume_id = volumes.check_volume_id(attachment.volume_id)
        volumes.volume_file(attachment.block_spec)
        if volumes.is_encrypted(attachment.block_spec) != (attachment.key is not None):
            raise DriverError(f"volume {volume_id}: a key comes with an encrypted volume, and only with one")
        paths = self._paths(uuid)
        with self._lock(uuid):
            if not paths.spec.exists():
                raise DriverError(f"instance {uuid} is not defined on this host")
            if self._observe(paths).power == "running" and volume_id not in volumes.attached(paths.qmp_socket):
                self._plug(paths, volume_id, attachment.block_spec, attachment.key)
            records = _read_attachments(paths)
            if records.get(volume_id) != attachment.block_spec:
                records[volume_id] = attachment.block_spec
                _write_attachments(paths, records)

    def detach_volume(self, uuid: str, volume_id: str) -> None:
        volumes.check_volume_id(volume_id)
        paths = self._paths(uuid)
        with self._lock(uuid):
            if self._observe(paths).power == "running" and not volumes.unplug(
                    paths.qmp_socket, volume_id, timeout=self.unplug_timeout):
                raise DriverError(f"the guest did not release volume {volume_id}")
            records = _read_attachments(paths)
            if records.pop(volume_id, None) is not None:
                _write_attachments(paths, records)

    def _plug(self, paths: InstancePaths, volume_id: str, block_spec: dict, key: bytes | None) -> None:
        slots = sorted(name for name in qmp.peripherals(paths.qmp_socket) if name.startswith("slot"))
        fd = volumes.open_volume_file(volumes.volume_file(block_spec))
        try:
            volumes.plug(paths.qmp_socket, volume_id, block_spec, key, file_fd=fd, buses=slots)
        finally:
            os.close(fd)  # QEMU holds its own copy

    def _volume_key(self, volume_id: str, block_spec: dict) -> bytes | None:
        if not volumes.is_encrypted(block_spec):
            return None
        if self._volume_keys is None:
            raise DriverError(f"volume {volume_id} is encrypted and this host has no source for its key")
        key = self._volume_keys(volume_id)
        if key is None:
            raise DriverError(f"no key for encrypted volume {volume_id}")
        return key

    def _stopped(self, paths: InstancePaths, groups: tuple[Path, ...]) -> None:
        """What a stopped QEMU leaves behind: its monitor socket (under /run when the path is long) and cgroups."""
        paths.qmp_socket.unlink(missing_ok=True)
        self.cgroups.remove(paths.uuid, also=groups)

    def _paths(self, uuid: str) -> InstancePaths:
        return InstancePaths.of(self.state_dir, uuid)

    def _lock(self, uuid: str) -> threading.RLock:
        with self._guard:
            lock = self._instance_locks.get(uuid)
            if lock is None:
                lock = self._instance_locks[uuid] = threading.RLock()
            return lock

    def _observe(self, paths: InstancePaths) -> InstanceState:
        uuid = paths.uuid
        pid = procfs.read_pid_file(paths.pid_file)
        if pid is not None and procfs.is_instance_process(pid, uuid):
            console.trim(paths.console_log)
            return InstanceState(uuid=uuid, power="running", pid=pid, started_at=procfs.started_at(pid))
        if paths.spec.exists():
            return InstanceState(uuid=uuid, power="shutoff")
        return InstanceState(uuid=uuid, power="missing")

    def _converge_config_drive(self, spec: InstanceSpec, paths: InstancePaths, previous: dict | None) -> None:
        """Build the ISO when it is missing or its content changed; a running guest keeps the one it opened."""
        if spec.config_drive is None:
            paths.config_drive.unlink(missing_ok=True)
            return
        unchanged = previous is not None and previous.get("config_drive") == spec_to_document(spec)["config_drive"]
        if unchanged and paths.config_drive.exists():
            return
        build_config_drive(spec.config_drive, paths.config_drive)

    def _start_locked(self, paths: InstancePaths) -> None:
        uuid = paths.uuid
        if self._observe(paths).power == "running":
            return
        try:
            spec = read_spec(paths.spec)
        except FileNotFoundError:
            raise DriverError(f"instance {uuid} is not defined on this host") from None
        if not paths.disk.exists():
            raise DriverError(f"instance {uuid} has lost its root disk")
        if spec.config_drive is not None and not paths.config_drive.exists():
            build_config_drive(spec.config_drive, paths.config_drive)
        run_as = None
        if self.uids is not None:
            uid = self.uids.assign(paths)
            run_as = f"{uid}:{uid}"
        attachments = _read_attachments(paths)
        keys = {volume_id: self._volume_key(volume_id, block_spec) for volume_id, block_spec in attachments.items()}
        argv = build_argv(spec, paths, qemu_binary=self.qemu_binary, accel=self.accelerator, run_as=run_as,
                          volumes=len(attachments))
        # Left by the previous process: QEMU cannot remove them itself once it runs as an unprivileged user.
        paths.pid_file.unlink(missing_ok=True)
        paths.qmp_socket.unlink(missing_ok=True)
        paths.qmp_socket.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        console.trim(paths.console_log)
        cgroup_procs = self.cgroups.create(uuid, Limits.for_guest(spec.memory_mib, spec.vcpus))
        pid = launch_detached(argv, log_path=paths.qemu_log, cgroup_procs=cgroup_procs)
        self._wait_until_up(paths, pid)
        if attachments:
            try:
                for volume_id, block_spec in attachments.items():
                    self._plug(paths, volume_id, block_spec, keys[volume_id])
                qmp.execute(paths.qmp_socket, "cont")
            except BaseException:
                # A guest never boots without its volumes, nor stays paused: the next start tries again.
                groups = self.cgroups.of_process(pid, uuid)
                self._kill(pid, uuid)
                self._stopped(paths, groups)
                raise

    def _wait_until_up(self, paths: InstancePaths, pid: int) -> None:
        """Until QMP answers (QEMU reached its main loop), QEMU exits, or boot_timeout passes."""
        uuid = paths.uuid
        deadline = time.monotonic() + self.boot_timeout
        while True:
            if not procfs.is_alive(pid):  # not is_instance_process: our own child may still be inside execve()
                raise DriverError(f"QEMU failed to start: {_last_lines(paths.qemu_log) or 'no error message'}")
            if qmp.accepts_connections(paths.qmp_socket):
                try:
                    qmp.query_status(paths.qmp_socket)
                except qmp.QmpError:
                    pass
                else:
                    return
            if time.monotonic() > deadline:
                self._kill(pid, uuid)
                raise DriverError(f"QEMU did not come up within {self.boot_timeout:.0f} s")
            time.sleep(0.02)

    def _kill(self, pid: int, uuid: str) -> None:
        """SIGTERM (QEMU exits cleanly on it), then SIGKILL; a pidfd makes sure a recycled pid is never hit."""
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            return
        try:
            if not procfs.is_instance_process(pid, uuid):
                return
            for signum in (signal.SIGTERM, signal.SIGKILL):
                try:
                    signal.pidfd_send_signal(pidfd, signum)
                except ProcessLookupError:
                    return
                if procfs.wait_until_gone(pid, uuid, KILL_GRACE):
                    return
        finally:
            os.close(pidfd)
        raise DriverError(f"QEMU (pid {pid}) of instance {uuid} survives SIGKILL")


def _check_spec(spec: InstanceSpec) -> None:
    if spec.vcpus < 1:
        raise PermanentDriverError(f"vcpus must be at least 1, not {spec.vcpus}")
    if spec.memory_mib < 16:
        raise PermanentDriverError(f"memory must be at least 16 MiB, not {spec.memory_mib}")
    if spec.root_gib < 0:
        raise PermanentDriverError(f"root disk size cannot be negative ({spec.root_gib} GiB)")
    if spec.base_format not in ("qcow2", "raw"):
        raise PermanentDriverError(f"unsupported base image format {spec.base_format!r}")


def _read_spec_document(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


def _read_attachments(paths: InstancePaths) -> dict[str, dict]:
    document = _read_spec_document(paths.volumes)
    return dict(document.get("volumes", {})) if document else {}


def _write_attachments(paths: InstancePaths, records: dict[str, dict]) -> None:
    write_text_atomically(paths.volumes, json.dumps({"format_version": 1, "volumes": records}))


def _last_lines(path: Path, count: int = 3) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except FileNotFoundError:
        return ""
    return " / ".join(lines[-count:])


def _total_memory_mib() -> int:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    raise DriverError("/proc/meminfo has no MemTotal")
