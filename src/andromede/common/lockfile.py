"""One server per data dir: an exclusive flock held for the life of the process."""

from __future__ import annotations

import fcntl
import os
import signal
import time
from pathlib import Path


class AlreadyRunning(Exception):
    pass


class DataDirLock:
    def __init__(self, data_dir: Path, name: str = "andromede.lock") -> None:
        self.path = data_dir / name
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise AlreadyRunning(
                f"Another Andromède process (pid {holder}) already holds {self.path}: it is already running.") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def holder_pid(path: Path) -> int | None:
    """The pid written in a lock file, if a live process still holds the lock."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.read(fd, 32).decode(errors="replace").strip()
            return int(text) if text.isdigit() else None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def stop_holder(path: Path, *, timeout: float = 20.0) -> None:
    """SIGTERM the process holding the lock at `path`, SIGKILL it if it still holds it after `timeout`."""
    pid = holder_pid(path)
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and holder_pid(path) is not None:
        time.sleep(0.1)
    if holder_pid(path) is not None:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
