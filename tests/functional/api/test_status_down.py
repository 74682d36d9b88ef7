"""`andromede status` and `andromede down` against real all-in-one clouds (fake hypervisor): what runs, stopping it,
and a second installation on the same host left alone."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from andromede.common.lockfile import holder_pid
from tests.support.server import VENV_BIN, Server, free_port


def andromede(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VENV_BIN / "andromede"), *args], capture_output=True, text=True, input=stdin,
                          timeout=120, check=False)


def status(server: Server) -> tuple[int, dict]:
    done = andromede("status", "--data-dir", str(server.data_dir), "-f", "json")
    return done.returncode, json.loads(done.stdout)


@pytest.fixture()
def neighbour(tmp_path: Path) -> Iterator[Server]:
    """Another installation on the same host."""
    srv = Server(data_dir=tmp_path / "neighbour" / "data", port=free_port())
    srv.data_dir.parent.mkdir()
    srv.start()
    yield srv
    srv.stop()


def test_status_shows_the_running_cloud(fresh_server: Server) -> None:
    code, doc = status(fresh_server)

    assert code == 0 and doc["state"] == "running"
    assert doc["server"]["pid"] == holder_pid(fresh_server.data_dir / "andromede.lock")
    assert f"127.0.0.1:{fresh_server.port}" in doc["server"]["listening"]
    assert doc["server"]["healthy"] and doc["server"]["url"] == fresh_server.base_url
    assert doc["agent"]["running"] and doc["agent"]["pid"] == holder_pid(fresh_server.data_dir / "agent.lock")
    assert doc["agent"]["state"] == "up" and doc["agent"]["last_heartbeat"]
    human = andromede("status", "--data-dir", str(fresh_server.data_dir))
    assert human.returncode == 0 and "running" in human.stdout and str(doc["server"]["pid"]) in human.stdout


def test_status_says_what_does_not_run(fresh_server: Server) -> None:
    fresh_server.stop_agent()

    code, doc = status(fresh_server)

    assert code == 1 and doc["state"] == "degraded"
    assert doc["server"]["healthy"] and not doc["agent"]["running"]


def test_down_stops_this_installation_only(fresh_server: Server, neighbour: Server) -> None:
    agent_pid = holder_pid(fresh_server.data_dir / "agent.lock")

    done = andromede("down", "--data-dir", str(fresh_server.data_dir))

    assert done.returncode == 0, done.stderr
    assert f"agent (pid {agent_pid})" in done.stdout and "API server" in done.stdout
    assert fresh_server.process is not None and fresh_server.process.wait(timeout=5) == 0
    assert holder_pid(fresh_server.data_dir / "agent.lock") is None
    code, doc = status(fresh_server)
    assert code == 3 and doc["state"] == "stopped"
    code, doc = status(neighbour)
    assert code == 0 and doc["state"] == "running"  # the other installation runs on
    again = andromede("down", "--data-dir", str(fresh_server.data_dir))
    assert again.returncode == 0 and "Nothing was running" in again.stdout

    fresh_server.start()  # `up` again on the same data dir
    assert status(fresh_server)[0] == 0


def test_purge_asks_before_removing_the_data_dir(fresh_server: Server) -> None:
    data = fresh_server.data_dir

    declined = andromede("down", "--purge", "--data-dir", str(data), stdin="n\n")

    assert declined.returncode == 0 and "kept data dir" in declined.stdout
    assert (data / "clouds.yaml").exists()
    done = andromede("down", "--purge", "--yes", "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    assert not data.exists()


def test_purge_refuses_a_directory_that_holds_no_installation(tmp_path: Path) -> None:
    (tmp_path / "precious").write_text("not a cloud")

    done = andromede("down", "--purge", "--yes", "--data-dir", str(tmp_path))

    assert done.returncode == 1 and "holds no installation" in done.stderr
    assert (tmp_path / "precious").exists()
