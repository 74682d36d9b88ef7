"""QMP, synchronously: one short connection per operation over the instance's unix socket (qemu.qmp underneath).

Each call runs its own event loop; when the caller is itself inside a running loop (an async agent calling the
sync driver), the call runs on a helper thread rather than nesting loops.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from qemu.qmp import Message, QMPClient, QMPError

from andromede.compute.agent.drivers.base import DriverError

T = TypeVar("T")
DEFAULT_TIMEOUT = 5.0
_CTRL_ALT_DELETE = [{"type": "qcode", "data": key} for key in ("ctrl", "alt", "delete")]


class QmpError(DriverError):
    """QEMU's monitor could not be reached or refused the command."""


class _Client(QMPClient):
    """qemu.qmp logs every message it sends at DEBUG: a secret object's data (a volume's key) must not be."""

    def _cb_outbound(self, msg: Message) -> Message:
        self.logger.debug("--> %s", _redacted(msg))
        return msg


def _redacted(msg: Message) -> str:
    arguments = msg.get("arguments")
    if isinstance(arguments, dict) and "data" in arguments:
        return str({**dict(msg), "arguments": {**arguments, "data": "<redacted>"}})
    return str(msg)


def event_data(event: Message) -> dict:
    data = event.get("data")
    return data if isinstance(data, dict) else {}


def accepts_connections(qmp_socket: Path) -> bool:
    """Whether QEMU listens on the socket yet; a plain connect, so no QMP session (or error log) is wasted."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(qmp_socket))
        except OSError:
            return False
    return True


def execute(qmp_socket: Path, command: str, arguments: dict | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> Any:
    async def session(client: QMPClient) -> Any:
        return await client.execute(command, arguments)

    return run_session(qmp_socket, session, timeout)


def query_status(qmp_socket: Path, *, timeout: float = DEFAULT_TIMEOUT) -> str:
    """QEMU's run state: 'running', 'paused', 'internal-error', 'guest-panicked', ..."""
    return execute(qmp_socket, "query-status", timeout=timeout)["status"]


def system_powerdown(qmp_socket: Path, *, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Press the ACPI power button; the guest decides what to do about it."""
    execute(qmp_socket, "system_powerdown", timeout=timeout)


def system_reset(qmp_socket: Path, *, timeout: float = DEFAULT_TIMEOUT) -> None:
    execute(qmp_socket, "system_reset", timeout=timeout)


def quit_qemu(qmp_socket: Path, *, timeout: float = DEFAULT_TIMEOUT) -> None:
    execute(qmp_socket, "quit", timeout=timeout)


def request_guest_reboot(qmp_socket: Path, *, timeout: float) -> bool:
    """Press Ctrl-Alt-Del and wait for the guest to reset itself; True when it did within `timeout`.

    ACPI has no reboot button. Ctrl-Alt-Del is the in-band request guests honour: Linux init systems map it to a
    reboot (busybox ::ctrlaltdel, systemd ctrl-alt-del.target), SeaBIOS resets on it.
    """

    async def session(client: QMPClient) -> bool:
        with client.listener("RESET") as resets:
            await client.execute("send-key", {"keys": _CTRL_ALT_DELETE})
            try:
                async with asyncio.timeout(timeout):
                    while True:
                        event = await resets.get()
                        if event_data(event).get("guest"):
                            return True
            except TimeoutError:
                return False

    # The session outlives its own wait by the connection set-up; give that its usual allowance on top.
    return run_session(qmp_socket, session, timeout + DEFAULT_TIMEOUT)


def run_session(qmp_socket: Path, session: Callable[[QMPClient], Awaitable[T]], timeout: float) -> T:
    """Run `session` on one connection; QMP and connection failures become QmpError, a session past `timeout` too."""
    async def connect_and_run() -> T:
        client = _Client(f"andromede:{qmp_socket.parent.name}")
        try:
            await client.connect(str(qmp_socket))
            return await session(client)
        finally:
            await client.disconnect()

    async def bounded() -> T:
        return await asyncio.wait_for(connect_and_run(), timeout)

    try:
        return _run_coroutine(bounded)
    except (QMPError, OSError, EOFError) as exc:
        raise QmpError(f"QEMU monitor at {qmp_socket}: {exc or type(exc).__name__}") from exc
    except TimeoutError as exc:
        raise QmpError(f"QEMU monitor at {qmp_socket} did not answer within {timeout:.0f} s") from exc


def _run_coroutine(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="qmp") as helper:
        return helper.submit(lambda: asyncio.run(factory())).result()


def peripherals(qmp_socket: Path, *, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """The ids of the devices given an id (-device ...,id=X or device_add), e.g. nic-<port id>."""
    return [entry["name"] for entry in execute(qmp_socket, "qom-list", {"path": "/machine/peripheral"},
                                               timeout=timeout)]


def hotplug_nic(qmp_socket: Path, *, tap_fd: int, netdev_id: str, device_id: str, mac: str,
                buses: list[str], timeout: float = DEFAULT_TIMEOUT) -> None:
    """Hand QEMU an open tap (it runs unprivileged and could not open one) and plug a virtio NIC on it."""

    async def session(client: QMPClient) -> None:
        client.send_fd_scm(tap_fd)
        await client.execute("getfd", {"fdname": netdev_id})
        await client.execute("netdev_add", {"type": "tap", "id": netdev_id, "fd": netdev_id})
        errors = []
        for bus in buses:  # a PCIe root port holds one device: the first free one takes it
            try:
                # addr 0: a PCIe link has one device; QEMU would otherwise pick another (invisible) address
                await client.execute("device_add", {"driver": "virtio-net-pci", "netdev": netdev_id, "mac": mac,
                                                    "id": device_id, "bus": bus, "addr": "0"})
                return
            except QMPError as exc:
                errors.append(str(exc))
        await client.execute("netdev_del", {"id": netdev_id})
        raise QmpError(f"no free PCIe slot for another NIC: {errors[-1] if errors else 'none configured'}")

    run_session(qmp_socket, session, timeout)


def unplug_nic(qmp_socket: Path, *, netdev_id: str, device_id: str, timeout: float = 20.0) -> bool:
    """Ask the guest to release the NIC (PCIe hotplug); True once it did and the backend is gone."""

    async def session(client: QMPClient) -> bool:
        with client.listener("DEVICE_DELETED") as deleted:
            try:
                await client.execute("device_del", {"id": device_id})
            except QMPError as exc:
                if "not found" not in str(exc).lower():
                    raise
            else:
                try:
                    async with asyncio.timeout(timeout):
                        while event_data(await deleted.get()).get("device") != device_id:
                            pass
                except TimeoutError:
                    return False
        try:
            await client.execute("netdev_del", {"id": netdev_id})
        except QMPError as exc:
            if "not found" not in str(exc).lower():
                raise
        return True

    return run_session(qmp_socket, session, timeout + DEFAULT_TIMEOUT)
