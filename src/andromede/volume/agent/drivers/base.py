"""What a storage backend must do for the volume service. One real driver (files, file.py) and one fake twin
(fake.py) implement it; tests/contract/volume runs one suite against both.

Keys come in as bytes from the caller (the volume service fetches each volume's DEK from the key manager) and
never leave the driver except towards QEMU: on an inherited pipe to qemu-img, in a QMP `secret` object to a
running QEMU. A driver never writes a key to a file, a log or a command line, and never keeps one after a call.

Every volume has its own key. A clone or a volume made from a snapshot is a full copy re-encrypted under the new
volume's key, never an overlay sharing its source's blocks: sharing would make one volume's bytes readable only
with another volume's key, so destroying a key (crypto-shredding, what a deletion certificate states) would no
longer be the deletion of exactly one volume. A snapshot lives inside its volume, under the volume's key
(copy-on-write, cheap), as RBD snapshots live inside their image: deleting a volume deletes its snapshots.

The calls are idempotent where the reconcile loop needs it: creating what exists with the same size, deleting
what is gone and snapshotting twice under one id are success. Ids are canonical UUIDs; nothing else the tenant
chose ever becomes part of a host path.
"""

from __future__ import annotations

import abc
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from andromede.agentlib.errors import PermanentError, TemporaryError

GIB = 1024**3
ImageFormat = Literal["raw", "qcow2"]
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class VolumeInfo:
    volume_id: str
    size_gib: int  # the size the guest sees
    allocated_bytes: int  # what it takes on the backend now (thin: grows as data is written)
    encrypted: bool
    snapshots: tuple[str, ...] = ()  # snapshot ids, oldest first


class VolumeDriverError(TemporaryError):
    """A storage operation failed and may succeed later (disk full, a busy file, a tool that timed out).
    The message is fit for a volume's error reason shown to its owner: it never carries a key."""


class PermanentVolumeError(VolumeDriverError, PermanentError):
    """Retrying the same request cannot succeed: an impossible size, an image QEMU must not open, a shrink."""


class VolumeNotFound(PermanentVolumeError):
    """No volume (or snapshot) with that id on this backend."""


class WrongKey(PermanentVolumeError):
    """The key given does not open the volume (or one was missing, or one was given for a plain volume)."""


def check_id(kind: str, value: str) -> str:
    if not _CANONICAL_UUID.fullmatch(value):
        raise PermanentVolumeError(f"invalid {kind} id {value!r}: expected a canonical lower-case UUID")
    return value


def check_size(size_gib: int) -> int:
    if isinstance(size_gib, bool) or not isinstance(size_gib, int) or size_gib < 1:
        raise PermanentVolumeError(f"invalid volume size {size_gib!r}: a whole number of GiB, at least 1")
    return size_gib


class VolumeDriver(abc.ABC):
    """A backend of volumes. `key` is the volume's DEK (None: a volume type without encryption)."""

    @abc.abstractmethod
    def create(self, volume_id: str, size_gib: int, *, key: bytes | None) -> VolumeInfo:
        """A blank volume that reads as zeroes; encrypted under `key` when one is given."""

    @abc.abstractmethod
    def create_from_image(self, volume_id: str, image: Path, image_format: ImageFormat, size_gib: int, *,
                          key: bytes | None) -> VolumeInfo:
        """The image's contents converted into a new volume of `size_gib` (PermanentVolumeError when the image is
        larger, or is a qcow2 that names a backing or data file)."""

    @abc.abstractmethod
    def clone(self, volume_id: str, source_id: str, *, source_key: bytes | None, key: bytes | None,
              size_gib: int | None = None) -> VolumeInfo:
        """A copy of the source's current contents under `key` (at least the source's size)."""

    @abc.abstractmethod
    def snapshot(self, volume_id: str, snapshot_id: str, *, key: bytes | None) -> None:
        """Freeze the volume's contents now under `snapshot_id` (the volume must not be in use by a QEMU: a
        running guest's volume is snapshotted over QMP)."""

    @abc.abstractmethod
    def delete_snapshot(self, volume_id: str, snapshot_id: str, *, key: bytes | None) -> None:
        """Forget the snapshot and free what only it held; nothing to do when it is gone."""

    @abc.abstractmethod
    def create_from_snapshot(self, volume_id: str, source_id: str, snapshot_id: str, *, source_key: bytes | None,
                             key: bytes | None, size_gib: int | None = None) -> VolumeInfo:
        """A new volume with the snapshot's contents, a copy under `key`."""

    @abc.abstractmethod
    def extend(self, volume_id: str, size_gib: int, *, key: bytes | None) -> VolumeInfo:
        """Grow the volume to `size_gib`; the same size is nothing to do, a smaller one a PermanentVolumeError."""

    @abc.abstractmethod
    def delete(self, volume_id: str) -> None:
        """Remove the volume and its snapshots and free their space; nothing to do when it is gone. Without its
        key (destroyed by the caller), what may remain of its bytes on the medium is unreadable."""

    @abc.abstractmethod
    def describe(self, volume_id: str) -> VolumeInfo:
        """Its size, allocation, encryption and snapshots, without needing its key; VolumeNotFound."""

    @abc.abstractmethod
    def list_volumes(self) -> list[str]:
        """The ids of every volume this backend holds (an agent's resync compares them to the desired state)."""

    @abc.abstractmethod
    def qemu_block_spec(self, volume_id: str, *, node_name: str, secret_id: str | None) -> dict[str, Any]:
        """The arguments of QMP `blockdev-add` that open the volume in a running QEMU: a node named `node_name`
        whose encryption layer reads its passphrase from the QMP secret object `secret_id` (see qemu_secret)."""

    @abc.abstractmethod
    def qemu_secret(self, secret_id: str, key: bytes) -> dict[str, Any]:
        """The arguments of QMP `object-add` that give QEMU the volume's passphrase, to send over the QMP socket
        just before blockdev-add and to delete after blockdev-del. It holds key material: never log it."""
