"""Plugging volumes into this host's instances: the block spec from the host's storage driver (the volume agent's
own code, over the same files), the key of an encrypted one from the key route, fetched per attach and never kept.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from andromede.agentlib.errors import PermanentError
from andromede.compute.agent.drivers.base import DriverError, HypervisorDriver, VolumeAttachment
from andromede.contracts.compute import VolumeRef
from andromede.volume.agent.drivers.base import VolumeDriver
from andromede.volume.agent.reconciler import on_disk

log = logging.getLogger("andromede.agent")
KeyFetcher = Callable[[str], bytes]  # the volume's key from the key route; PermanentError when it cannot be had
# The driver renames the nodes and the secret: these only tell the storage driver the volume needs a secret.
NODE_NAME, SECRET_ID = "volume", "volume-key"


def api_id(on_host: str) -> str:
    """A volume's id as the API spells it (a UUID without dashes) from the drivers' canonical form."""
    return uuid.UUID(on_host).hex


class VolumesNotReleased(DriverError):
    """A guest has not let go of a volume yet: the detach is tried again, the instance itself is fine."""


class VolumePlugger:
    def __init__(self, storage: VolumeDriver, keys: KeyFetcher) -> None:
        self.storage = storage
        self.keys = keys

    def key_source(self, on_host: str) -> bytes | None:
        """For the hypervisor driver, at each start of an instance with an encrypted volume."""
        try:
            return self.keys(api_id(on_host))
        except (PermanentError, ValueError):
            return None

    def attachment(self, ref: VolumeRef) -> VolumeAttachment:
        name = on_disk(ref.id)
        spec = self.storage.qemu_block_spec(name, node_name=NODE_NAME, secret_id=SECRET_ID if ref.encrypted else None)
        return VolumeAttachment(volume_id=name, block_spec=spec, key=self.keys(ref.id) if ref.encrypted else None)

    def converge(self, driver: HypervisorDriver, uuid: str,
                 wanted: tuple[VolumeRef, ...]) -> tuple[dict[str, object], list[str]]:
        """Plug what is wanted and unplug the rest, against what the driver says is plugged (the truth after any
        restart, so each volume is plugged once). The report (plugged volumes, and why those that failed did) and
        the volumes a guest has not released yet."""
        have = set(driver.volumes(uuid))  # the drivers' names: canonical UUIDs
        want = {on_disk(ref.id): ref for ref in wanted}
        faults: dict[str, str] = {}
        stuck: list[str] = []
        for volume_id in sorted(have - set(want)):
            try:
                driver.detach_volume(uuid, volume_id)
            except DriverError as exc:
                log.warning("instance %s: volume %s not detached yet: %s", uuid, volume_id, exc)
                stuck.append(volume_id)
        for volume_id, ref in want.items():
            if volume_id in have:
                continue
            try:
                driver.attach_volume(uuid, self.attachment(ref))
            except Exception as exc:  # the volume goes back to available with the reason; never left attaching
                log.warning("instance %s: volume %s could not be attached: %s", uuid, volume_id, exc)
                faults[ref.id] = str(exc) or type(exc).__name__
        report: dict[str, object] = {"volumes": sorted(api_id(name) for name in driver.volumes(uuid))}
        if faults:
            report["volume_faults"] = faults
        return report, stuck
