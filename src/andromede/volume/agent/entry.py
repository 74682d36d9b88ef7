"""The volume service's entry in the agent's registry: the storage driver this host uses and the reconciler over it.

The real agent keeps each volume as a qcow2+LUKS file (FileDriver, qemu-img); with the "fake" agent driver (tests)
it still does, unless ANDROMEDE_FAKE_VOLUMES=1 asks for the in-memory twin: qemu-img is fast enough for tests, and
the file on disk is what the functional tests check.
"""

from __future__ import annotations

import os
from pathlib import Path

from andromede.agentlib.registry import AgentContext, Entry
from andromede.volume.agent.client import VolumeClient
from andromede.volume.agent.drivers.base import VolumeDriver
from andromede.volume.agent.reconciler import VolumeReconciler


def make_driver(name: str, data_dir: Path) -> VolumeDriver:
    if name == "fake" and os.environ.get("ANDROMEDE_FAKE_VOLUMES") == "1":
        from andromede.volume.agent.drivers.fake import FakeVolumeDriver

        return FakeVolumeDriver()
    from andromede.volume.agent.drivers.file import FileDriver

    return FileDriver(data_dir / "volumes")


def build(context: AgentContext) -> VolumeReconciler:
    return VolumeReconciler(context.host, make_driver(context.driver, context.data_dir),
                            VolumeClient(context.controller), context.data_dir / "volume-images")


ENTRY = Entry("volume", build)
