"""Volumes plugged into a running QEMU over QMP: the agent opens the file, QEMU gets the descriptor and the key.

QEMU runs as the instance's own uid and cannot open a volume's file (root's, mode 0600) by name, so the agent opens
it and passes the descriptor over the QMP socket into an fd set (`add-fd`, its `opaque` naming the volume); the
protocol node then opens `/dev/fdset/N`. The key goes the same way, as a `secret` object whose data travels in the
QMP message: never on a command line, in a file or in a log. Everything an attachment adds is named after the volume
(device, node, secret, the fd set's opaque), so detaching or cleaning up after a half-done attach needs nothing but
the volume id, and `attached` reads the answer back from QEMU.

All of one attachment happens in a single QMP session: QEMU closes an fd set nobody uses once no monitor is
connected, so the descriptor must be in use (by the node) before the session that passed it ends.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import os
import re
import stat
from pathlib import Path
from typing import Any

from qemu.qmp import QMPClient, QMPError

from andromede.compute.agent.drivers.base import DriverError
from andromede.compute.agent.drivers.qemu.qmp import DEFAULT_TIMEOUT, QmpError, event_data, execute, run_session
from andromede.contracts.volume_keys import luks_passphrase

SERIAL_LENGTH = 20  # what Nova gives virtio-blk: the guest sees /dev/disk/by-id/virtio-<serial>
_VOLUME_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DEVICE_PREFIX = "volume-"
_ATTACHED_DEVICE = re.compile(r"(?:^|/)volume-([0-9a-f-]{36})(?:/|$)")


def check_volume_id(volume_id: str) -> str:
    if not _VOLUME_ID.fullmatch(volume_id):
        raise DriverError(f"invalid volume id {volume_id!r}: expected a canonical lower-case UUID")
    return volume_id


def device_id(volume_id: str) -> str:
    return _DEVICE_PREFIX + volume_id


def node_name(volume_id: str) -> str:
    # QEMU caps node names at 31 characters: 'vol' and 28 of the uuid's 32 hex digits.
    return "vol" + volume_id.replace("-", "")[:28]


def secret_id(volume_id: str) -> str:
    return f"volume-key-{volume_id}"


def fdset_opaque(volume_id: str) -> str:
    return _DEVICE_PREFIX + volume_id


def volume_file(block_spec: dict) -> Path:
    """The file the spec's protocol node names: an absolute path, or the spec is refused."""
    protocol = block_spec.get("file")
    if not isinstance(protocol, dict) or protocol.get("driver") != "file":
        raise DriverError("a volume's block spec must have a 'file' protocol node")
    filename = protocol.get("filename")
    if not isinstance(filename, str) or not filename.startswith("/"):
        raise DriverError("a volume's block spec must name its file by an absolute path")
    return Path(filename)


def is_encrypted(block_spec: dict) -> bool:
    return "encrypt" in block_spec


def prepared_spec(volume_id: str, block_spec: dict, fdset_id: int) -> dict[str, Any]:
    """The storage driver's spec with this driver's names, reading the file through the fd set."""
    spec = copy.deepcopy(block_spec)
    spec["node-name"] = node_name(volume_id)
    spec["file"] = {**spec["file"], "filename": f"/dev/fdset/{fdset_id}"}
    if is_encrypted(spec):
        spec["encrypt"] = {**spec["encrypt"], "key-secret": secret_id(volume_id)}
    return spec


def secret_object(volume_id: str, key: bytes) -> dict[str, Any]:
    data = base64.b64encode(luks_passphrase(key)).decode("ascii")
    return {"qom-type": "secret", "id": secret_id(volume_id), "data": data, "format": "base64"}


def open_volume_file(path: Path) -> int:
    """Open the volume for QEMU: read-write, never through a symlink, and only a regular file."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise DriverError(f"cannot open volume file {path.name}: {exc.strerror}") from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise DriverError(f"volume file {path.name} is not a regular file")
    return fd


def attached(qmp_socket: Path, *, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """Ids of the volumes whose device QEMU has, read from query-block (the device id names the volume)."""
    found = set()
    for entry in execute(qmp_socket, "query-block", timeout=timeout):
        match = _ATTACHED_DEVICE.search(str(entry.get("qdev", "")))
        if match:
            found.add(match.group(1))
    return sorted(found)


def plug(qmp_socket: Path, volume_id: str, block_spec: dict, key: bytes | None, *, file_fd: int,
         buses: list[str], timeout: float = DEFAULT_TIMEOUT) -> None:
    """Secret, fd set, nodes and a virtio-blk device on the first free bus; on failure, whatever was added goes."""

    async def session(client: QMPClient) -> None:
        await _remove_backend(client, volume_id)  # what an attach that died half-way may have left
        try:
            if key is not None:
                await client.execute("object-add", secret_object(volume_id, key))
            client.send_fd_scm(file_fd)
            added: Any = await client.execute("add-fd", {"opaque": fdset_opaque(volume_id)})
            await client.execute("blockdev-add", prepared_spec(volume_id, block_spec, int(added["fdset-id"])))
            await _add_device(client, volume_id, buses)
        except BaseException:
            await _remove_backend(client, volume_id)
            raise

    run_session(qmp_socket, session, timeout)


async def _add_device(client: QMPClient, volume_id: str, buses: list[str]) -> None:
    errors = []
    for bus in buses:  # a PCIe root port holds one device: the first free one takes it
        try:
            await client.execute("device_add", {
                "driver": "virtio-blk-pci", "drive": node_name(volume_id), "id": device_id(volume_id),
                "serial": volume_id[:SERIAL_LENGTH], "bus": bus, "addr": "0",
            })
            return
        except QMPError as exc:
            errors.append(str(exc))
    raise QmpError(f"no free PCIe slot for another disk: {errors[-1] if errors else 'none configured'}")


def unplug(qmp_socket: Path, volume_id: str, *, timeout: float) -> bool:
    """Ask the guest to release the disk (PCIe hotplug), then remove the nodes, the secret and the fd set; False,
    with everything left in place, when the guest did not release it within `timeout`."""

    async def session(client: QMPClient) -> bool:
        with client.listener("DEVICE_DELETED") as deleted:
            try:
                await client.execute("device_del", {"id": device_id(volume_id)})
            except QMPError as exc:
                if "not found" not in str(exc).lower():
                    raise
            else:
                try:
                    async with asyncio.timeout(timeout):
                        while event_data(await deleted.get()).get("device") != device_id(volume_id):
                            pass
                except TimeoutError:
                    return False
        await _remove_backend(client, volume_id)
        return True

    return run_session(qmp_socket, session, timeout + DEFAULT_TIMEOUT)


async def _remove_backend(client: QMPClient, volume_id: str) -> None:
    """Node, secret and fd set of the volume, each only if it is there."""
    for command, arguments in (("blockdev-del", {"node-name": node_name(volume_id)}),
                               ("object-del", {"id": secret_id(volume_id)})):
        try:
            await client.execute(command, arguments)
        except QMPError as exc:
            if not _is_absent(exc):
                raise
    fdsets: Any = await client.execute("query-fdsets")
    for fdset in fdsets:
        if any(fd.get("opaque") == fdset_opaque(volume_id) for fd in fdset.get("fds", [])):
            await client.execute("remove-fd", {"fdset-id": fdset["fdset-id"]})


def _is_absent(exc: QMPError) -> bool:
    text = str(exc).lower()
    return "not found" in text or "failed to find" in text or "cannot find" in text or "no such" in text
