"""The volume agent across failures. A kill -9 of the agent while a volume is `creating`: once the agent is back,
the volume ends `available`, made exactly once, and what the crash left on the host (a half-made file, a file no
volume names) is gone. No host to hold a volume: it is `error` at once, and its delete needs no agent."""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

from tests.support.accounts import Admin, cli_as
from tests.support.hosts import host_command, local_agent
from tests.support.server import Server

from .test_volume_agent import _json, volume_file, wait_status


def test_a_volume_creating_when_the_agent_died_is_made_once_after_restart(fresh_server: Server,
                                                                          tmp_path: Path) -> None:
    server = fresh_server
    admin = Admin(server)
    try:
        cli = cli_as(server, admin.account("member"), tmp_path)
        first = _json(cli("volume", "create", "--size", "1", "before", "-f", "json"))
        wait_status(cli, first["id"], "available")  # the agent has read its volumes: the host takes volumes

        server.stop_agent(signal.SIGKILL)
        made = _json(cli("volume", "create", "--size", "1", "during", "-f", "json"))
        assert made["status"] == "creating"
        path = volume_file(server, made["id"])
        half_made = path.parent / f".{path.stem}.{uuid.uuid4().hex}.tmp"  # what a create cut short leaves
        half_made.write_bytes(b"\0" * 4096)
        orphan = path.parent / f"{uuid.uuid4()}.qcow2"  # a file whose volume row is gone
        orphan.write_bytes(b"\0" * 4096)

        assert server.process is not None
        os.killpg(server.process.pid, signal.SIGTERM)
        server.process.wait(timeout=30)
        server.process = None
        server.start()

        wait_status(cli, made["id"], "available")
        assert path.is_file() and not half_made.exists() and not orphan.exists()
        assert volume_file(server, first["id"]).is_file()  # a volume it made before is kept, not made again
        log = (server.data_dir / "logs" / "agent.log").read_text()
        assert log.count(f"volume {made['id']} made") == 1
        assert log.count(f"volume {first['id']} made") == 1
    finally:
        admin.client.close()


def test_without_a_live_host_a_volume_is_in_error_and_deletes_at_once(fresh_server: Server, tmp_path: Path) -> None:
    server = fresh_server
    admin = Admin(server)
    try:
        host_command(server, "remove", local_agent(server).name)  # no host left to hold a volume
        cli = cli_as(server, admin.account("member"), tmp_path)
        made = _json(cli("volume", "create", "--size", "1", "nowhere", "-f", "json"))
        assert made["status"] == "error"
        assert _json(cli("volume", "show", made["id"], "-f", "json"))["status"] == "error"
        cli("volume", "delete", made["id"])
        assert cli("volume", "show", made["id"], check=False).returncode != 0  # type: ignore[attr-defined]
        token = cli("token", "issue", "-f", "value", "-c", "id").stdout.strip()  # type: ignore[attr-defined]
        with server.http() as client:
            certificate = client.get(f"/key-manager/v1/deletion-certificates/{made['id']}",
                                     headers={"X-Auth-Token": token})
        assert certificate.status_code == 200 and certificate.json()["statement"]["resource"]["id"] == made["id"]
    finally:
        admin.client.close()
