"""The host's uptime line, as uptime(1) prints it (Nova shows that line at os-hypervisors/{id}/uptime)."""

from __future__ import annotations

import re
import struct
from pathlib import Path

from andromede.compute.agent.uptime import uptime_line


def _proc(tmp_path: Path, seconds: str) -> Path:
    (tmp_path / "uptime").write_text(f"{seconds} 1234.00\n")
    (tmp_path / "loadavg").write_text("0.20 0.12 0.14 1/234 5678\n")
    return tmp_path


def test_days_hours_minutes_and_load(tmp_path: Path) -> None:
    utmp = tmp_path / "utmp"
    utmp.write_bytes(b"".join(struct.pack("<i", kind) + bytes(380) for kind in (2, 7, 8, 7)))
    line = uptime_line(_proc(tmp_path, str(3 * 86400 + 4 * 3600 + 5 * 60 + 7.5)), utmp=utmp)
    assert line is not None
    assert re.fullmatch(r" \d\d:\d\d:\d\d up 3 days,  4:05,  2 users,  load average: 0\.20, 0\.12, 0\.14", line)
    # What OSC's `hypervisor show` reads out of it.
    parsed = re.match(r"\s*(.+)\sup\s+(.+),\s+(.+)\susers?,\s+load average:\s(.+)", line)
    assert parsed is not None and parsed.group(2, 3, 4) == ("3 days,  4:05", "2", "0.20, 0.12, 0.14")


def test_under_a_day(tmp_path: Path) -> None:
    line = uptime_line(_proc(tmp_path, "3900.1"), utmp=tmp_path / "none")
    assert (line or "").endswith(" up  1:05,  0 users,  load average: 0.20, 0.12, 0.14")


def test_no_proc_says_nothing(tmp_path: Path) -> None:
    assert uptime_line(tmp_path) is None
