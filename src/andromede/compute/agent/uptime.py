"""The host's uptime line, in the shape of uptime(1), which Nova's os-hypervisors/{id}/uptime shows as it is."""

from __future__ import annotations

import struct
import time
from pathlib import Path

UTMP = Path("/run/utmp")
_UTMP_RECORD = 384  # glibc's struct utmp on Linux
_USER_PROCESS = 7


def logged_in_users(utmp: Path = UTMP) -> int:
    """What uptime(1) counts as users: the USER_PROCESS records of utmp (0 when there is no utmp)."""
    try:
        data = utmp.read_bytes()
    except OSError:
        return 0
    return sum(1 for offset in range(0, len(data) - _UTMP_RECORD + 1, _UTMP_RECORD)
               if struct.unpack_from("<i", data, offset)[0] == _USER_PROCESS)


def uptime_line(proc: Path = Path("/proc"), now: float | None = None, utmp: Path = UTMP) -> str | None:
    """' 19:52:01 up 3 days,  4:05,  2 users,  load average: 0.20, 0.12, 0.14' (OSC's `hypervisor show` parses
    it); None where /proc does not say."""
    try:
        seconds = int(float((proc / "uptime").read_text().split()[0]))
        loads = (proc / "loadavg").read_text().split()[:3]
    except (OSError, ValueError, IndexError):
        return None
    days, rest = divmod(seconds, 86400)
    hours, minutes = rest // 3600, rest % 3600 // 60
    since = f"{days} day{'s' if days != 1 else ''}, {hours:2d}:{minutes:02d}" if days else f"{hours:2d}:{minutes:02d}"
    clock = time.strftime("%H:%M:%S", time.localtime(now))
    users = logged_in_users(utmp)
    return f" {clock} up {since},  {users} user{'s' if users != 1 else ''},  load average: {', '.join(loads)}"
