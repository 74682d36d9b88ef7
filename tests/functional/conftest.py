"""Fixtures every functional test shares: an admin client and a plain HTTP client on the session server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.accounts import Admin
from tests.support.server import Server


@pytest.fixture(scope="session")
def admin(server: Server) -> Iterator[Admin]:
    helper = Admin(server)
    yield helper
    helper.client.close()


@pytest.fixture()
def http(server: Server) -> Iterator[httpx.Client]:
    with server.http() as client:
        yield client
