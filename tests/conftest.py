"""Shared fixtures: a real server per database backend, started once per test session."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.accounts import Admin
from tests.support.postgres import PostgresCluster, PostgresUnavailable
from tests.support.server import Server, free_port


def pytest_report_header(config: pytest.Config) -> str:
    return f"andromede tests: uid={os.geteuid()}"


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = Path(tempfile.mkdtemp(prefix="andromede-pg-"))
    cluster = None
    try:
        cluster = PostgresCluster(root, free_port())
        url = cluster.start()
    except PostgresUnavailable as exc:
        if cluster is not None:
            cluster.stop()
        if os.environ.get("CI") and os.geteuid() == 0:
            pytest.fail(f"PostgreSQL should be available in CI as root: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    yield url
    cluster.stop()


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One running cloud per backend; tests create their own users/projects and never share names."""
    database_url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else ""
    data_dir = tmp_path_factory.mktemp(f"cloud-{request.param}") / "data"
    # A small fake hypervisor: 8 m1.tiny servers fit, so scheduling limits are reachable in tests.
    srv = Server(data_dir=data_dir, port=free_port(), database_url=database_url,
                 env={"ANDROMEDE_FAKE_MEMORY_MIB": "2048", "ANDROMEDE_FAKE_VCPUS": "4"})
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture()
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    """A private SQLite cloud for tests that restart or lock things."""
    srv = Server(data_dir=tmp_path / "data", port=free_port())
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def admin(server: Server) -> Iterator[Admin]:
    helper = Admin(server)
    yield helper
    helper.client.close()


@pytest.fixture()
def http(server: Server) -> Iterator[httpx.Client]:
    with server.http() as client:
        yield client
