"""Start QEMU detached from the agent: never the agent's child, in its own session, outliving whoever started it.

QEMU's own -daemonize forks after the seccomp sandbox is installed, and `spawn=deny` forbids that fork (SIGSYS),
so a tiny interpreter does the double fork instead and reports the QEMU pid. The agent then never owns a QEMU
zombie, and dropping the driver object (or the agent) leaves every guest running.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from andromede.compute.agent.drivers.base import DriverError

LAUNCH_TIMEOUT = 10.0

# Runs as `python -I -S -c LAUNCHER CGROUPS qemu args...`: fork; the child starts a session, joins the cgroups
# (CGROUPS: `cgroup.procs` paths, one per line, or empty), sends its stdout to the same log as stderr (closing the
# pipe the parent reports on) and becomes QEMU; the parent prints the child's pid.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.setsid()
    try:
        for procs in filter(None, sys.argv[1].split("\\n")):
            with open(procs, "w") as cgroup:
                cgroup.write(str(os.getpid()))
    except OSError as exc:
        os.write(2, f"cannot join cgroup {procs}: {exc.strerror}\\n".encode())
        os._exit(126)
    os.dup2(2, 1)
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    except OSError as exc:
        os.write(2, f"cannot run {sys.argv[2]}: {exc.strerror}\\n".encode())
    os._exit(127)
print(pid, flush=True)
"""


def launch_detached(argv: list[str], *, log_path: Path, cgroup_procs: Sequence[Path] = ()) -> int:
    """Start `argv` detached, in the given cgroups, stdout and stderr to `log_path` (truncated); return its pid."""
    with log_path.open("wb") as log:
        try:
            result = subprocess.run(
                [sys.executable, "-I", "-S", "-c", _LAUNCHER, "\n".join(map(str, cgroup_procs)), *argv],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                cwd="/",
                timeout=LAUNCH_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise DriverError(f"starting {argv[0]} timed out") from exc
    reported = result.stdout.decode().strip()
    if result.returncode != 0 or not reported.isdigit():
        raise DriverError(f"could not start {argv[0]}: launcher exited with {result.returncode}")
    return int(reported)
