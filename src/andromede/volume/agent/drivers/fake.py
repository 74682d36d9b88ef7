"""FakeVolumeDriver: the file driver's twin in memory, for unit tests and control-plane benchmarks.

It keeps the real driver's contract (tests/contract/volume runs one suite against both) at a cost of
microseconds per call. Contents are kept as written, enciphered with a toy keystream (SHAKE-256 of the key and a
counter, never a cipher to use for real) so the canary and wrong-key checks mean the same against both drivers;
of a key it keeps only a digest, to refuse a wrong one. A raw image is read as its bytes; of a qcow2 image it
reads only the header (virtual size, backing file) and its contents read as zeroes. Tests reach behind its back
with `write`, `read`, `stored_bytes` and `inject_fault`.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from andromede.volume.agent.drivers.base import (
    GIB,
    ImageFormat,
    PermanentVolumeError,
    VolumeDriver,
    VolumeDriverError,
    VolumeInfo,
    VolumeNotFound,
    WrongKey,
    check_id,
    check_size,
)

CLUSTER = 64 * 1024  # allocation is counted in qcow2's default cluster size
CHUNK = 4096  # contents are kept sparse, in chunks of this size
_QCOW2_MAGIC = b"QFI\xfb"


@dataclass
class _Contents:
    key_digest: bytes | None
    chunks: dict[int, bytes] = field(default_factory=dict)  # chunk index -> CHUNK enciphered bytes, sparse

    def read(self, key: bytes | None, offset: int, length: int) -> bytes:
        _check_key(self.key_digest, key)
        first, last = offset // CHUNK, (offset + length - 1) // CHUNK
        plain = b"".join(self._plain_chunk(key, index) for index in range(first, last + 1))
        return plain[offset - first * CHUNK:offset - first * CHUNK + length]

    def write(self, key: bytes | None, offset: int, data: bytes) -> None:
        _check_key(self.key_digest, key)
        position = offset
        while position < offset + len(data):
            index, start = divmod(position, CHUNK)
            piece = data[position - offset:position - offset + CHUNK - start]
            chunk = bytearray(self._plain_chunk(key, index))
            chunk[start:start + len(piece)] = piece
            self.chunks[index] = _xor(bytes(chunk), key, index)
            position += len(piece)

    def copy(self, key: bytes | None, new_key: bytes | None) -> _Contents:
        _check_key(self.key_digest, key)
        copied = _Contents(_digest(new_key) if new_key else None)
        copied.chunks = {index: _xor(self._plain_chunk(key, index), new_key, index) for index in self.chunks}
        return copied

    def stored(self) -> bytes:
        return b"".join(self.chunks[index] for index in sorted(self.chunks))

    def clusters(self) -> set[int]:
        return {index * CHUNK // CLUSTER for index in self.chunks}

    def _plain_chunk(self, key: bytes | None, index: int) -> bytes:
        stored = self.chunks.get(index)
        return b"\0" * CHUNK if stored is None else _xor(stored, key, index)


@dataclass
class _Volume:
    size_gib: int
    contents: _Contents
    snapshots: dict[str, _Contents] = field(default_factory=dict)

    def info(self, volume_id: str) -> VolumeInfo:
        held = [self.contents, *self.snapshots.values()]
        allocated = sum(len(contents.clusters()) for contents in held) * CLUSTER
        return VolumeInfo(volume_id=volume_id, size_gib=self.size_gib, allocated_bytes=allocated + CLUSTER,
                          encrypted=self.contents.key_digest is not None, snapshots=tuple(self.snapshots))


class FakeVolumeDriver(VolumeDriver):
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._volumes: dict[str, _Volume] = {}
        self._faults: dict[str, deque[tuple[str, bool]]] = {}

    # ---- VolumeDriver ----

    def create(self, volume_id: str, size_gib: int, *, key: bytes | None) -> VolumeInfo:
        return self._made(volume_id, size_gib, key, b"", "create")

    def create_from_image(self, volume_id: str, image: Path, image_format: ImageFormat, size_gib: int, *,
                          key: bytes | None) -> VolumeInfo:
        check_size(size_gib)
        if image_format not in ("raw", "qcow2"):
            raise PermanentVolumeError(f"unsupported image format {image_format!r}: raw or qcow2")
        if not image.is_file():
            raise VolumeNotFound(f"image file {image.name} is not on this host")
        if image_format == "qcow2":
            with image.open("rb") as handle:
                data = handle.read(32)
            if data[:4] != _QCOW2_MAGIC or len(data) < 32:
                raise PermanentVolumeError("the image is not a qcow2 image")
            backing_offset, = struct.unpack(">Q", data[8:16])
            if backing_offset:
                raise PermanentVolumeError("the image refers to another file (backing or data file): refused")
            image_size, = struct.unpack(">Q", data[24:32])
            data = b""
        else:
            image_size = image.stat().st_size
        if image_size > size_gib * GIB:
            raise PermanentVolumeError(f"the image ({image_size / GIB:.2f} GiB) is larger than the volume "
                                       f"({size_gib} GiB)")
        if image_format == "raw":
            data = image.read_bytes()
        return self._made(volume_id, size_gib, key, data.rstrip(b"\0"), "create_from_image")

    def clone(self, volume_id: str, source_id: str, *, source_key: bytes | None, key: bytes | None,
              size_gib: int | None = None) -> VolumeInfo:
        with self._lock:
            source = self._opened(source_id, source_key)
            copied = source.contents.copy(source_key, key)
            return self._made(volume_id, max(size_gib or 0, source.size_gib), key, copied, "clone")

    def snapshot(self, volume_id: str, snapshot_id: str, *, key: bytes | None) -> None:
        check_id("snapshot", snapshot_id)
        with self._lock:
            self._raise_injected("snapshot")
            volume = self._opened(volume_id, key)
            if snapshot_id not in volume.snapshots:
                volume.snapshots[snapshot_id] = _Contents(volume.contents.key_digest, dict(volume.contents.chunks))

    def delete_snapshot(self, volume_id: str, snapshot_id: str, *, key: bytes | None) -> None:
        check_id("snapshot", snapshot_id)
        with self._lock:
            self._raise_injected("delete_snapshot")
            if volume_id not in self._volumes:
                return
            self._opened(volume_id, key).snapshots.pop(snapshot_id, None)

    def create_from_snapshot(self, volume_id: str, source_id: str, snapshot_id: str, *, source_key: bytes | None,
                             key: bytes | None, size_gib: int | None = None) -> VolumeInfo:
        check_id("snapshot", snapshot_id)
        with self._lock:
            source = self._opened(source_id, source_key)
            snapshot = source.snapshots.get(snapshot_id)
            if snapshot is None:
                raise VolumeNotFound(f"volume {source_id} has no snapshot {snapshot_id}")
            copied = snapshot.copy(source_key, key)
            return self._made(volume_id, max(size_gib or 0, source.size_gib), key, copied, "create_from_snapshot")

    def extend(self, volume_id: str, size_gib: int, *, key: bytes | None) -> VolumeInfo:
        check_size(size_gib)
        with self._lock:
            self._raise_injected("extend")
            volume = self._opened(volume_id, key)
            if size_gib < volume.size_gib:
                raise PermanentVolumeError(f"volume {volume_id} is {volume.size_gib} GiB: it cannot shrink to "
                                           f"{size_gib}")
            volume.size_gib = size_gib
            return volume.info(volume_id)

    def delete(self, volume_id: str) -> None:
        check_id("volume", volume_id)
        with self._lock:
            self._raise_injected("delete")
            self._volumes.pop(volume_id, None)

    def describe(self, volume_id: str) -> VolumeInfo:
        with self._lock:
            return self._volume(volume_id).info(volume_id)

    def list_volumes(self) -> list[str]:
        with self._lock:
            return sorted(self._volumes)

    def qemu_block_spec(self, volume_id: str, *, node_name: str, secret_id: str | None) -> dict[str, Any]:
        with self._lock:
            volume = self._volume(volume_id)
        spec: dict[str, Any] = {"node-name": node_name, "driver": "qcow2",
                                "file": {"driver": "file", "filename": f"/fake/volumes/{volume_id}.qcow2"},
                                "backing": None}
        if volume.contents.key_digest is not None:
            if secret_id is None:
                raise WrongKey(f"volume {volume_id} is encrypted: QEMU needs its key's secret object")
            spec["encrypt"] = {"format": "luks", "key-secret": secret_id}
        return spec

    def qemu_secret(self, secret_id: str, key: bytes) -> dict[str, Any]:
        return {"qom-type": "secret", "id": secret_id, "data": base64.b64encode(key.hex().encode()).decode(),
                "format": "base64"}

    # ---- for tests: what a guest or an attacker would do behind the driver's back ----

    def write(self, volume_id: str, offset: int, data: bytes, *, key: bytes | None) -> None:
        with self._lock:
            volume = self._volume(volume_id)
            if offset + len(data) > volume.size_gib * GIB:
                raise PermanentVolumeError("write beyond the end of the volume")
            volume.contents.write(key, offset, data)

    def read(self, volume_id: str, offset: int, length: int, *, key: bytes | None) -> bytes:
        with self._lock:
            return self._volume(volume_id).contents.read(key, offset, length)

    def stored_bytes(self, volume_id: str) -> bytes:
        """What the backend holds for the volume and its snapshots, as an attacker on the host would read it."""
        with self._lock:
            volume = self._volumes.get(volume_id)
            if volume is None:
                return b""
            return b"".join(contents.stored() for contents in [volume.contents, *volume.snapshots.values()])

    def inject_fault(self, operation: str, message: str, *, times: int = 1, permanent: bool = False) -> None:
        """Make the next `times` calls of `operation` raise VolumeDriverError(message), or a PermanentVolumeError."""
        with self._lock:
            self._faults.setdefault(operation, deque()).extend([(message, permanent)] * times)

    # ---- internals ----

    def _raise_injected(self, operation: str) -> None:
        pending = self._faults.get(operation)
        if pending:
            message, permanent = pending.popleft()
            raise PermanentVolumeError(message) if permanent else VolumeDriverError(message)

    def _volume(self, volume_id: str) -> _Volume:
        volume = self._volumes.get(check_id("volume", volume_id))
        if volume is None:
            raise VolumeNotFound(f"volume {volume_id} does not exist on this host")
        return volume

    def _opened(self, volume_id: str, key: bytes | None) -> _Volume:
        volume = self._volume(volume_id)
        encrypted = volume.contents.key_digest is not None
        if encrypted and key is None:
            raise WrongKey(f"volume {volume_id} is encrypted and no key was given")
        if not encrypted and key is not None:
            raise WrongKey(f"volume {volume_id} is not encrypted: a key was given for it")
        _check_key(volume.contents.key_digest, key)
        return volume

    def _made(self, volume_id: str, size_gib: int, key: bytes | None, contents: bytes | _Contents,
              operation: str) -> VolumeInfo:
        check_id("volume", volume_id)
        check_size(size_gib)
        with self._lock:
            self._raise_injected(operation)
            existing = self._volumes.get(volume_id)
            if existing is not None:
                if existing.size_gib != size_gib or (existing.contents.key_digest is not None) != (key is not None):
                    raise PermanentVolumeError(f"volume {volume_id} already exists with another size or encryption")
                return existing.info(volume_id)
            if isinstance(contents, bytes):
                data, contents = contents, _Contents(_digest(key) if key else None)
                if data:
                    contents.write(key, 0, data)
            self._volumes[volume_id] = volume = _Volume(size_gib, contents)
            return volume.info(volume_id)


def _digest(key: bytes) -> bytes:
    return hashlib.sha256(b"andromede-fake-volume-key" + key).digest()


def _check_key(expected: bytes | None, key: bytes | None) -> None:
    if expected is None:
        if key is not None:
            raise WrongKey("the volume is not encrypted: a key was given for it")
        return
    if key is None:
        raise WrongKey("the volume is encrypted and no key was given")
    if _digest(key) != expected:
        raise WrongKey("the key does not open the volume")


def _xor(data: bytes, key: bytes | None, index: int) -> bytes:
    """The toy cipher: data XOR a SHAKE-256 stream of the key and the chunk index; no key, no change."""
    if key is None:
        return data
    stream = hashlib.shake_256(key + index.to_bytes(8, "big")).digest(len(data))
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(data), "big")
