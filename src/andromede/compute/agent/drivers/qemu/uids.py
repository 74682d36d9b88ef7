"""One unprivileged uid per VM: a QEMU that a guest escapes into cannot signal, ptrace or read another VM.

The uids come from a pool no account uses (ANDROMEDE_VM_UID_RANGE=first:count, by default 900000000:65536;
the gid is the uid's number). The record of which instance holds which uid is the owner of its root disk:
nothing else to keep consistent, and a restarted agent reads it back. Instance directories stay root's, so a
QEMU can never plant a link where the agent, as root, reads or truncates (the console log, the pid file).
"""

from __future__ import annotations

import fcntl
import grp
import os
import pwd
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from andromede.compute.agent.drivers.base import DriverError
from andromede.compute.agent.drivers.qemu.layout import InstancePaths, is_instance_uuid

RANGE_ENV = "ANDROMEDE_VM_UID_RANGE"
DEFAULT_FIRST, DEFAULT_COUNT = 900_000_000, 65_536


@dataclass(frozen=True)
class UidRange:
    first: int
    count: int

    def __contains__(self, uid: object) -> bool:
        return isinstance(uid, int) and self.first <= uid < self.first + self.count

    @classmethod
    def from_environment(cls) -> UidRange:
        text = os.environ.get(RANGE_ENV, "")
        if not text:
            return cls(DEFAULT_FIRST, DEFAULT_COUNT)
        first, _, count = text.partition(":")
        if not (first.isdigit() and count.isdigit()) or int(first) < 1000 or int(count) < 1:
            raise DriverError(f"{RANGE_ENV} must be FIRST:COUNT with FIRST >= 1000, not {text!r}")
        if int(first) + int(count) > 2**31:
            raise DriverError(f"{RANGE_ENV} must end below 2^31 (tools read uids as signed 32-bit numbers)")
        return cls(int(first), int(count))


class UidPool:
    def __init__(self, state_dir: Path, uid_range: UidRange | None = None) -> None:
        self.state_dir = state_dir
        self.range = uid_range or UidRange.from_environment()

    def owner(self, paths: InstancePaths) -> int | None:
        try:
            uid = paths.disk.stat().st_uid
        except FileNotFoundError:
            return None
        return uid if uid in self.range else None

    def assign(self, paths: InstancePaths) -> int:
        """The instance's uid: the one its disk already has, or the lowest free one, given to its files now."""
        with self._locked():
            uid = self.owner(paths)
            if uid is None:
                uid = self._free_uid()
            give_files(paths, uid)
            return uid

    def _free_uid(self) -> int:
        taken = set()
        with os.scandir(self.state_dir) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False) and is_instance_uuid(entry.name):
                    uid = self.owner(InstancePaths(Path(entry.path)))
                    if uid is not None:
                        taken.add(uid)
        for uid in range(self.range.first, self.range.first + self.range.count):
            if uid not in taken and not _has_account(uid):
                return uid
        raise DriverError(f"every uid of the VM pool ({self.range.count}) is in use on this host")

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.state_dir / ".uid-pool.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield


def give_files(paths: InstancePaths, uid: int) -> None:
    """The files QEMU opens belong to the VM's uid alone; the console log is made here so it is never root's."""
    paths.console_log.touch(mode=0o600, exist_ok=True)
    for path, mode in ((paths.disk, 0o600), (paths.console_log, 0o600), (paths.config_drive, 0o400)):
        try:
            os.chown(path, uid, uid)
            os.chmod(path, mode)
        except FileNotFoundError:
            continue


def _has_account(uid: int) -> bool:
    for lookup in (pwd.getpwuid, grp.getgrgid):
        try:
            lookup(uid)
        except KeyError:
            continue
        return True
    return False
