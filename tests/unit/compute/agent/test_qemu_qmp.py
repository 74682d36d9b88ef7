"""The synchronous QMP wrapper, against a stand-in monitor speaking just enough QMP."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from andromede.compute.agent.drivers.qemu import qmp

GREETING = {"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}}


class StandInMonitor:
    """Accepts QMP sessions one after another; replies from `replies`, emits RESET on Ctrl-Alt-Del."""

    def __init__(self, path: Path, replies: dict[str, dict]) -> None:
        self.path, self.replies, self.commands = path, replies, []
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                self._session(connection)

    def _session(self, connection: socket.socket) -> None:
        def send(message: dict) -> None:
            connection.sendall(json.dumps(message).encode() + b"\r\n")

        send(GREETING)
        buffer, decoder = "", json.JSONDecoder()
        while chunk := connection.recv(65536):
            buffer += chunk.decode()
            while buffer.strip():  # QMP is a stream of JSON objects, not lines
                try:
                    request, end = decoder.raw_decode(buffer.lstrip())
                except ValueError:
                    break
                buffer = buffer.lstrip()[end:]
                command = request["execute"]
                self.commands.append(command)
                send({**self.replies.get(command, {"return": {}}), "id": request.get("id")})
                if command == "send-key":
                    reset = {"guest": True, "reason": "guest-reset"}
                    send({"event": "RESET", "data": reset, "timestamp": {"seconds": 0, "microseconds": 0}})

    def close(self) -> None:
        self.listener.close()


@pytest.fixture()
def monitor(tmp_path: Path) -> Iterator[StandInMonitor]:
    stand_in = StandInMonitor(
        tmp_path / "qmp.sock", {"query-status": {"return": {"status": "running", "running": True}}}
    )
    yield stand_in
    stand_in.close()


def test_commands_run_synchronously(monitor: StandInMonitor) -> None:
    assert qmp.query_status(monitor.path) == "running"
    qmp.system_powerdown(monitor.path)
    qmp.system_reset(monitor.path)

    assert monitor.commands == [
        "qmp_capabilities", "query-status", "qmp_capabilities", "system_powerdown", "qmp_capabilities", "system_reset"
    ]  # fmt: skip


def test_commands_work_from_inside_a_running_event_loop(monitor: StandInMonitor) -> None:
    async def agent_code() -> str:
        return qmp.query_status(monitor.path)  # a sync driver called from async code

    assert asyncio.run(agent_code()) == "running"


def test_a_guest_reboot_is_seen_as_its_reset_event(monitor: StandInMonitor) -> None:
    assert qmp.request_guest_reboot(monitor.path, timeout=5)
    assert "send-key" in monitor.commands


def test_a_refused_command_is_a_qmp_error(tmp_path: Path) -> None:
    stand_in = StandInMonitor(tmp_path / "q.sock", {"system_reset": {"error": {"class": "GenericError", "desc": "no"}}})
    try:
        with pytest.raises(qmp.QmpError, match="no"):
            qmp.system_reset(stand_in.path)
    finally:
        stand_in.close()


def test_no_monitor_is_a_qmp_error(tmp_path: Path) -> None:
    assert not qmp.accepts_connections(tmp_path / "absent.sock")
    with pytest.raises(qmp.QmpError):
        qmp.query_status(tmp_path / "absent.sock", timeout=2)
