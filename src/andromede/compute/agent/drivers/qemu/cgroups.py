"""One cgroup per VM with memory, CPU and process limits, on cgroup v2 or on v1's per-controller hierarchies.

A VM's cgroup sits below the agent's own (`<agent's cgroup>/andromede-vms/<uuid>`), so whatever limits or
accounts the agent (a service manager's slice, a container) holds its VMs too. QEMU enters its cgroup before it
runs (the launcher writes its pid into each `cgroup.procs`), so it never runs a moment unbounded.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CONTROLLERS = ("memory", "cpu", "pids")
GROUP = "andromede-vms"
CPU_PERIOD_US = 100_000
PIDS_MAX = 1024  # vCPU threads, the I/O worker pool, the monitor: a few dozen; fork is refused by the sandbox
MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    memory_bytes: int
    cpu_quota_us: int
    pids: int = PIDS_MAX

    @classmethod
    def for_guest(cls, memory_mib: int, vcpus: int) -> Limits:
        """Guest RAM plus room for QEMU itself (TCG's translation cache, device state, I/O buffers); the vCPUs
        plus one CPU for the emulator's own threads."""
        overhead_mib = max(256, memory_mib // 4)
        return cls(memory_bytes=(memory_mib + overhead_mib) * MIB, cpu_quota_us=(vcpus + 1) * CPU_PERIOD_US)


@dataclass(frozen=True)
class Hierarchy:
    """Where one controller (v1) or all of them (v2) are mounted, and the agent's own cgroup in it."""

    mount: Path
    own: str  # the agent's cgroup path inside this hierarchy, e.g. "/" or "/system.slice/x"
    controllers: tuple[str, ...]
    unified: bool

    @property
    def parent(self) -> Path:
        return self.mount / self.own.lstrip("/") / GROUP


class VmCgroups:
    """Creates, fills and removes the per-VM cgroups; `available` is False where the host offers no controller
    the agent may use (the VM then runs unbounded, and the agent says so once in its log)."""

    def __init__(self, hierarchies: list[Hierarchy] | None = None) -> None:
        self.hierarchies = discover() if hierarchies is None else hierarchies
        self._warned = False
        # Cgroups `remove` found still busy. `sweep` retries only these: the parent group may be shared with another
        # installation's agent (same cgroup), whose VMs' groups are none of ours.
        self._busy: set[Path] = set()

    @property
    def available(self) -> bool:
        return bool(self.hierarchies)

    def create(self, uuid: str, limits: Limits) -> list[Path]:
        """Make (or reset the limits of) the VM's cgroups; return the `cgroup.procs` files QEMU must join."""
        procs = []
        for hierarchy in self.hierarchies:
            try:
                group = _prepare(hierarchy) / uuid
                group.mkdir(exist_ok=True)
                _write_limits(group, hierarchy, limits)
            except OSError as exc:
                self._warn(f"cannot use cgroup hierarchy {hierarchy.mount}: {exc}")
                continue
            procs.append(group / "cgroup.procs")
        if not procs:
            self._warn("no cgroup controller is usable: VMs run without memory, CPU and process limits")
        return procs

    def remove(self, uuid: str, wait: float = 2.0, also: tuple[Path, ...] = ()) -> None:
        """Once the VM's processes are gone. An exited QEMU stays in its cgroup until its parent (init, since
        QEMU is detached) reaps it, so this waits a little; what is still busy then goes in a later `sweep`.
        `also`: the groups the VM was found in (of_process), when another process than its agent stops it."""
        deadline = time.monotonic() + wait
        for group in dict.fromkeys([*(hierarchy.parent / uuid for hierarchy in self.hierarchies), *also]):
            while not _try_rmdir(group) and time.monotonic() < deadline:
                time.sleep(0.05)
            if group.exists():
                self._busy.add(group)

    def sweep(self, keep: set[str]) -> None:
        """Remove the cgroups `remove` left busy, of instances no longer on this host."""
        for group in list(self._busy):
            if group.name not in keep and _try_rmdir(group):
                self._busy.discard(group)

    @staticmethod
    def of_process(pid: int, uuid: str) -> tuple[Path, ...]:
        """The VM cgroups QEMU process `pid` of instance `uuid` runs in, wherever its agent's cgroup was: a
        command stopping it from another cgroup (andromede down) finds them so."""
        try:
            own = Path(f"/proc/{pid}/cgroup").read_text()
        except OSError:
            return ()
        suffix = f"/{GROUP}/{uuid}"
        return tuple(h.mount / h.own.lstrip("/") for h in discover(self_cgroup=own) if h.own.endswith(suffix))

    def of(self, uuid: str) -> list[Path]:
        return [hierarchy.parent / uuid for hierarchy in self.hierarchies if (hierarchy.parent / uuid).is_dir()]

    def _warn(self, message: str) -> None:
        if not self._warned:
            log.warning(message)
            self._warned = True


def _try_rmdir(group: Path) -> bool:
    """True once the cgroup is gone (rmdir of one that still holds a process fails with EBUSY)."""
    try:
        group.rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


def discover(mountinfo: str | None = None, self_cgroup: str | None = None) -> list[Hierarchy]:
    """The writable hierarchies that carry memory, cpu or pids: v1's, or else v2's when it has the controllers."""
    if os.geteuid() != 0:
        return []
    try:
        mountinfo = Path("/proc/self/mountinfo").read_text() if mountinfo is None else mountinfo
        self_cgroup = Path("/proc/self/cgroup").read_text() if self_cgroup is None else self_cgroup
    except OSError:
        return []
    own_v1, own_v2 = {}, "/"
    for line in self_cgroup.splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            own_v2 = path
        for controller in controllers.split(","):
            own_v1[controller] = path
    v1, v2 = [], []
    for line in mountinfo.splitlines():
        fields = line.split()
        separator = fields.index("-")
        fstype, mount, options = fields[separator + 1], Path(fields[4]), fields[separator + 3].split(",")
        if fstype == "cgroup":
            for controller in CONTROLLERS:
                if controller in options:
                    v1.append(Hierarchy(mount, own_v1.get(controller, "/"), (controller,), unified=False))
        elif fstype == "cgroup2":
            try:
                offered = (mount / "cgroup.controllers").read_text().split()
            except OSError:
                continue
            usable = tuple(c for c in CONTROLLERS if c in offered)
            if usable:
                v2.append(Hierarchy(mount, own_v2, usable, unified=True))
    return v1 or v2[:1]


def _prepare(hierarchy: Hierarchy) -> Path:
    parent = hierarchy.parent
    parent.mkdir(exist_ok=True)
    if hierarchy.unified:
        # v2 hands a controller to a cgroup only when its parent's subtree_control enables it, and refuses that
        # in a non-root cgroup that holds processes itself (then this raises, and limits are not available).
        wanted = " ".join(f"+{c}" for c in hierarchy.controllers)
        for group in (parent.parent, parent):
            if not set(hierarchy.controllers) <= set((group / "cgroup.subtree_control").read_text().split()):
                (group / "cgroup.subtree_control").write_text(wanted)
    return parent


def _write_limits(group: Path, hierarchy: Hierarchy, limits: Limits) -> None:
    if hierarchy.unified:
        values = {"memory": {"memory.max": str(limits.memory_bytes), "memory.swap.max": "0"},
                  "cpu": {"cpu.max": f"{limits.cpu_quota_us} {CPU_PERIOD_US}"},
                  "pids": {"pids.max": str(limits.pids)}}
    else:
        values = {"memory": {"memory.limit_in_bytes": str(limits.memory_bytes)},
                  "cpu": {"cpu.cfs_period_us": str(CPU_PERIOD_US), "cpu.cfs_quota_us": str(limits.cpu_quota_us)},
                  "pids": {"pids.max": str(limits.pids)}}
    for controller in hierarchy.controllers:
        for name, value in values[controller].items():
            path = group / name
            if path.exists():  # memory.swap.max exists only with swap accounting
                path.write_text(value)
