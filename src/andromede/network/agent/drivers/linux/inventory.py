"""What this installation made on the host: one empty file per object, `<state_dir>/owned/<kind>/<id>`.

The kernel's names (bridges, namespaces, nftables chains) carry object ids but nothing of the installation, and
several installations may share a host (`make run` next to the test suite): listing the host would hand garbage
collection, and `andromede down --all`, another installation's networks. The driver lists only what its inventory
holds. A record is written before its object is made and removed once the object is gone, so a crash leaves at
worst a record of nothing, which the next delete clears. It lives in the driver's state dir under /run, like the
objects it lists, and like them it does not survive a reboot.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from andromede.network.agent.drivers.base import check_id

Kind = Literal["network", "port", "router", "external", "group"]
KINDS: tuple[Kind, ...] = ("network", "port", "router", "external", "group")


class Inventory:
    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir / "owned"

    def add(self, kind: Kind, object_id: str) -> None:
        path = self._path(kind, object_id)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.touch(mode=0o600)

    def discard(self, kind: Kind, object_id: str) -> None:
        self._path(kind, object_id).unlink(missing_ok=True)

    def ids(self, kind: Kind) -> set[str]:
        try:
            return set(os.listdir(self.root / kind))
        except FileNotFoundError:
            return set()

    def __contains__(self, item: tuple[Kind, str]) -> bool:
        return self._path(*item).exists()

    def _path(self, kind: Kind, object_id: str) -> Path:
        if kind not in KINDS:
            raise ValueError(f"unknown inventory kind {kind!r}")
        return self.root / kind / check_id(object_id, f"{kind} id")
