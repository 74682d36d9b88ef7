"""Running the host's build tools: argument lists only, always a timeout, errors that say what failed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


class BuildError(Exception):
    pass


def run(args: list[str], timeout: float, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """stdout of `args`; BuildError when the tool is missing, fails or runs past `timeout` seconds.
    `env` adds to (not replaces) this process's environment."""
    full_env = {**os.environ, **env} if env else None
    try:
        done = subprocess.run(args, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout,
                              check=False)
    except FileNotFoundError:
        raise BuildError(f"{args[0]} not found (see andromede.guest.build.HOST_PACKAGES)") from None
    except subprocess.TimeoutExpired:
        raise BuildError(f"{' '.join(args)} timed out after {timeout} s") from None
    if done.returncode != 0:
        raise BuildError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout
