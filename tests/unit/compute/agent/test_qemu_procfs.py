from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from andromede.compute.agent.drivers.qemu import procfs


def test_a_process_is_the_instances_only_if_its_command_line_names_it() -> None:
    marker = "7f1c2a3b-0000-4000-8000-00000000abcd"
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", marker]) as child:
        try:
            deadline = time.monotonic() + 10  # until the child is past fork and execve()
            while not procfs.is_instance_process(child.pid, marker) and time.monotonic() < deadline:
                time.sleep(0.01)
            assert procfs.is_instance_process(child.pid, marker)
            assert not procfs.is_instance_process(child.pid, "00000000-0000-4000-8000-000000000000")
        finally:
            child.kill()


def test_a_zombie_is_gone() -> None:
    marker = "zombie-marker"
    child = subprocess.Popen([sys.executable, "-c", "pass", marker])
    while procfs.is_alive(child.pid):  # exits, but nobody has reaped it yet
        time.sleep(0.01)

    assert Path(f"/proc/{child.pid}").exists()
    assert not procfs.is_instance_process(child.pid, marker)
    assert procfs.wait_until_gone(child.pid, marker, timeout=0)
    child.wait()


def test_start_time_is_stable_and_recent() -> None:
    before = time.time()
    child = subprocess.Popen(["sleep", "30"])  # a process whose start we know (the test run may be hours old)
    try:
        first = procfs.started_at(child.pid)
        assert first is not None and first == procfs.started_at(child.pid)
        assert before - 2 <= first <= time.time() + 2  # clock ticks: /proc counts in 1/100 s since boot
    finally:
        child.kill()
        child.wait()


def test_pid_files(tmp_path: Path) -> None:
    pid_file = tmp_path / "qemu.pid"
    assert procfs.read_pid_file(pid_file) is None
    pid_file.write_text("1234\n")
    assert procfs.read_pid_file(pid_file) == 1234
    pid_file.write_text("garbage")
    assert procfs.read_pid_file(pid_file) is None


def test_unknown_pids() -> None:
    unused = 2**22 + 1  # above the kernel's pid_max ceiling
    assert not procfs.is_alive(unused)
    assert procfs.started_at(unused) is None
    assert procfs.process_uid(unused) is None
