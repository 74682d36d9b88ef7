"""Where an installation keeps what tells its processes and host objects apart from another installation's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from andromede.network.agent.entry import network_state_dir


@dataclass(frozen=True)
class Installation:
    data_dir: Path

    @property
    def server_lock(self) -> Path:
        return self.data_dir / "andromede.lock"  # held by `andromede up`, with its pid (common/lockfile.py)

    @property
    def agent_lock(self) -> Path:
        return self.data_dir / "agent.lock"

    @property
    def instances(self) -> Path:
        return self.data_dir / "instances"  # the QEMU driver's state dir: one directory per VM

    @property
    def fake_instances(self) -> Path:
        return self.data_dir / "fake-instances"

    @property
    def network_state(self) -> Path:
        """The network driver's state under /run, named after the data dir; its inventory says what is ours."""
        return network_state_dir(self.data_dir, create=False)

    @property
    def clouds_yaml(self) -> Path:
        return self.data_dir / "clouds.yaml"

    @property
    def agent_yaml(self) -> Path:
        return self.data_dir / "agent.yaml"

    def looks_like_one(self) -> bool:
        """The directory holds an installation (a guard before removing it)."""
        return any((self.data_dir / name).exists() for name in ("andromede.lock", "clouds.yaml", "andromede.db"))
