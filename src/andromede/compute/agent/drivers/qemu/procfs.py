"""What /proc says about a QEMU process: is it alive, is it really ours, when did it start."""

from __future__ import annotations

import os
import time
from functools import cache
from pathlib import Path


def read_pid_file(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return int(text) if text.isdigit() else None


def is_alive(pid: int) -> bool:
    """The process exists and has not exited (a zombie has)."""
    stat = _stat_fields(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def is_instance_process(pid: int, uuid: str) -> bool:
    """Alive and its command line names the instance: a recycled pid never passes.

    While a process is inside execve() its cmdline reads empty for a moment: a process being started fails this.
    """
    if not is_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    return uuid.encode() in cmdline


def started_at(pid: int) -> float | None:
    """Epoch seconds the process started; the same value on every call, from any process."""
    stat = _stat_fields(pid)
    if stat is None:
        return None
    # Field 22 of /proc/<pid>/stat (starttime, in clock ticks since boot); _stat_fields starts at field 3.
    return _boot_time() + int(stat[19]) / os.sysconf("SC_CLK_TCK")


def process_uid(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Uid:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def wait_until_gone(pid: int, uuid: str, timeout: float) -> bool:
    """Poll until the instance's process has exited (or is a zombie); True when it is gone."""
    deadline = time.monotonic() + timeout
    while True:
        if not is_instance_process(pid, uuid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name is in parentheses and may itself contain spaces or ')': split after the last one.
    return raw[raw.rindex(")") + 2 :].split()


@cache
def _boot_time() -> int:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return int(line.split()[1])
    raise RuntimeError("/proc/stat has no btime line")
