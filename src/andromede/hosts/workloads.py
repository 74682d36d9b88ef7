"""What runs on the hosts, as each service that places work there counts it (compute: its servers; volume: its
volumes).

`andromede host list` shows the count; `andromede host remove` keeps a host any workload ever named (its history
does), disabled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Workloads:
    name: str  # what `andromede host list` calls them: "servers", "volumes"
    running: Callable[[Session], Mapping[str, int]]  # host name -> workloads live there
    ever_placed_on: Callable[[Session, str], bool]  # whether any workload, a deleted one included, names the host
