"""The volume service's server→agent contract: the volumes a host must hold, and what its agent reports of them.

The server builds `VolumesDocument` (volume/internal.py) for `GET /internal/v1/hosts/{host}/volumes`; the volume
agent's reconciler parses it. A volume's key is never in it: the agent fetches it per operation from the key route.
"""

from __future__ import annotations

from typing import Literal

from andromede.contracts import Contract

Wanted = Literal["present", "absent"]
ObservedStatus = Literal["available", "error", "gone"]


class ImageSource(Contract):
    """The image a volume is made from; the agent downloads it through the volume's image route."""

    id: str
    disk_format: str | None = None


class CloneSource(Contract):
    """The volume (on the same host) a volume is a copy of: its contents now, or as its snapshot holds them. The
    copy is re-encrypted under the new volume's own key; the agent fetches the source's key too."""

    volume_id: str
    snapshot_id: str | None = None


class SnapshotDesired(Contract):
    """A snapshot of the volume being taken (`present`) or deleted (`absent`); one that is settled is not listed.
    The agent reports it `available`/`error` or `gone` (`error` while deleting: error_deleting)."""

    id: str
    wanted: Wanted


class VolumeDesired(Contract):
    """One volume as its host must hold it. `seq` moves with every change of its desired state."""

    id: str
    size: int  # GiB
    encrypted: bool
    wanted: Wanted
    source: ImageSource | None = None  # None: blank
    seq: int
    snapshots: tuple[SnapshotDesired, ...] = ()  # pending ones, taken or deleted once the volume exists
    clone_of: CloneSource | None = None  # made as a copy of another volume (then `source` is None)


class VolumesDocument(Contract):
    """A host's answer: the volumes whose desired state changed since the agent's generation (all if `full`)."""

    generation: int
    full: bool = False
    volumes: tuple[VolumeDesired, ...] = ()


class VolumeObserved(Contract):
    """What the agent reports of one volume: made (`available`), failed for good (`error`, with a reason the
    owner sees), or deleted from the host (`gone`)."""

    status: ObservedStatus
    reason: str | None = None
