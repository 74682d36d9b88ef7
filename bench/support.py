"""What every benchmark here needs: free ports, CPU accounting, and servers started and stopped cleanly."""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

from andromede.common.lockfile import stop_holder

HOST = "127.0.0.1"
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def proc_cpu(pid: int | None) -> float:
    """CPU seconds a process has used so far (0 when it is gone)."""
    with suppress(OSError, TypeError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    return 0.0


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def self_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextmanager
def launched(argv: list[str], ready_url: str, log: Path, *, timeout: float = 90) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server in its own process group, wait until `ready_url` answers 200, stop it afterwards."""
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            with suppress(httpx.HTTPError):
                if httpx.get(ready_url, timeout=2).status_code == 200:
                    break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"{argv[0]} did not become ready; see log:\n{log.read_text()[-2000:]}")
        yield proc
    finally:
        stop_group(proc)


def agent_pid(data: Path) -> int | None:
    """The host agent of the cloud in `data`, if it runs (it holds agent.lock)."""
    with suppress(OSError, ValueError):
        pid = int((data / "agent.lock").read_text().strip())
        if str(data).encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
    return None


def stop_agent(data: Path) -> None:
    """The agent runs in its own session, so stopping the server's process group does not reach it."""
    stop_holder(data / "agent.lock", timeout=15)
