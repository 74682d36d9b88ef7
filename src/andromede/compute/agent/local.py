"""The all-in-one's own host agent: a child process of `andromede up`, replaced on every start.

The agent holds agent.lock; an agent left behind by a server that was killed is stopped first, so the
running agent always matches the running server. VMs are not children of the agent: they keep running.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from andromede.common.config import Settings
from andromede.common.lockfile import stop_holder


class LocalAgent:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.process: subprocess.Popen | None = None

    @property
    def lock_path(self) -> Path:
        return self.settings.data_dir / "agent.lock"

    def start(self) -> None:
        if self.settings.agent_driver == "none":
            return
        stop_holder(self.lock_path)  # an agent left behind by a server that was killed
        logs = self.settings.data_dir / "logs"
        logs.mkdir(exist_ok=True, mode=0o700)
        command = [sys.executable, "-m", "andromede.cli.main", "agent", "--data-dir", str(self.settings.data_dir),
                   "--config", str(self.settings.data_dir / "agent.yaml"), "--driver", self.settings.agent_driver,
                   "--host", self.settings.this_host]
        with (logs / "agent.log").open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                            stdin=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
