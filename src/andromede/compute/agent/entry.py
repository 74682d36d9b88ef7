"""Compute's entry in the agent's registry: the hypervisor driver this host uses and the reconciler over it."""

from __future__ import annotations

import os
from pathlib import Path

from andromede.agentlib.registry import AgentContext, Entry
from andromede.compute.agent.client import ComputeClient
from andromede.compute.agent.drivers.base import HypervisorDriver, VolumeKeySource
from andromede.compute.agent.image_cache import ImageCache
from andromede.compute.agent.reconciler import ComputeReconciler, PortWaiter
from andromede.compute.agent.volumes import VolumePlugger
from andromede.volume.agent import entry as volume_entry
from andromede.volume.agent.client import VolumeClient
from andromede.volume.agent.reconciler import VolumeReconciler


def make_driver(name: str, state_dir: Path, volume_keys: VolumeKeySource | None = None) -> HypervisorDriver:
    if name == "fake":
        from andromede.compute.agent.drivers.base import HostResources
        from andromede.compute.agent.drivers.fake import DEFAULT_RESOURCES, FakeDriver

        # Tests size the fake host to exercise the scheduler (ANDROMEDE_FAKE_MEMORY_MIB and friends).
        resources = HostResources(
            vcpus=int(os.environ.get("ANDROMEDE_FAKE_VCPUS", DEFAULT_RESOURCES.vcpus)),
            memory_mib=int(os.environ.get("ANDROMEDE_FAKE_MEMORY_MIB", DEFAULT_RESOURCES.memory_mib)),
            disk_gib=int(os.environ.get("ANDROMEDE_FAKE_DISK_GIB", DEFAULT_RESOURCES.disk_gib)), accelerator="fake")
        return FakeDriver(state_dir / "fake-instances", resources=resources, volume_keys=volume_keys)
    from andromede.compute.agent.drivers.qemu import QemuDriver

    return QemuDriver(state_dir / "instances", volume_keys=volume_keys)


def make_plugger(context: AgentContext) -> VolumePlugger:
    """Volumes are plugged with the storage driver of this host's volume agent (built before compute), or, in
    an agent that runs no volume agent, one over the same directory."""
    volume = context.built.get("volume")
    storage = volume.driver if isinstance(volume, VolumeReconciler) else \
        volume_entry.make_driver(context.driver, context.data_dir)
    return VolumePlugger(storage, VolumeClient(context.controller).key)


def build(context: AgentContext) -> ComputeReconciler:
    client = ComputeClient(context.controller)
    cache = ImageCache(context.data_dir / "image-cache", client.download_image)
    network = context.built.get("network")  # a VM boots once the network reconciler has wired its ports
    plugger = make_plugger(context)
    return ComputeReconciler(context.host, make_driver(context.driver, context.data_dir, plugger.key_source), client,
                             cache, context.data_dir / "agent-state.json", availability_zone=context.availability_zone,
                             network=network if isinstance(network, PortWaiter) else None, volumes=plugger)


ENTRY = Entry("compute", build)
