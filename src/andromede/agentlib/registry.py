"""The entries `andromede agent` builds its reconcilers from: one per service that acts on hosts.

An entry builds its reconciler from what every agent knows (its host, data directory, driver choice, controller
client), or returns None when the service does not run on this host. Entries are built in order, so one may use a
reconciler built before it (compute waits for network's ports): list dependencies first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from andromede.agentlib.client import ControllerClient
from andromede.agentlib.runner import Reconciler


@dataclass
class AgentContext:
    host: str
    data_dir: Path
    config: Path  # agent.yaml
    driver: str  # "qemu" (the real host) or "fake" (tests)
    availability_zone: str
    controller: ControllerClient
    built: dict[str, Reconciler[Any]] = field(default_factory=dict)  # the entries built so far, by name


@dataclass(frozen=True)
class Entry:
    name: str
    build: Callable[[AgentContext], Reconciler[Any] | None]


def build(entries: Sequence[Entry], context: AgentContext) -> list[Reconciler[Any]]:
    names = [entry.name for entry in entries]
    if len(set(names)) != len(names):
        raise ValueError(f"two agent entries share a name: {names}")
    for entry in entries:
        reconciler = entry.build(context)
        if reconciler is not None:
            context.built[entry.name] = reconciler
    return list(context.built.values())
