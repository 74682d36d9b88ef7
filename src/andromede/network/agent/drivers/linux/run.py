"""Subprocess calls: always an argument list, always a timeout, failures become DriverError."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from andromede.network.agent.drivers.base import DriverError

DEFAULT_TIMEOUT = 10.0


def in_netns(netns: str | None, argv: Sequence[str]) -> list[str]:
    return ["ip", "netns", "exec", netns, *argv] if netns else list(argv)


def run(argv: Sequence[str], *, stdin: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> str:
    try:
        done = subprocess.run(list(argv), input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DriverError(f"{argv[0]} could not run: {exc}") from exc
    if done.returncode != 0:
        raise DriverError(f"{' '.join(argv[:4])} failed ({done.returncode}): {done.stderr.strip()[:2000]}")
    return done.stdout
