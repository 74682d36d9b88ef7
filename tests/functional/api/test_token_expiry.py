"""Tokens expire: with a 3 s lifetime, a token works at once and is refused once its time is up."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.server import Server, free_port


def test_tokens_expire(tmp_path: Path) -> None:
    server = Server(data_dir=tmp_path / "data", port=free_port(), env={"ANDROMEDE_TOKEN_EXPIRATION_S": "3"})
    server.start()
    try:
        token = server.openstack_json("token", "issue")["id"]
        with server.http() as http:
            assert http.get("/identity/v3/auth/projects", headers={"X-Auth-Token": token}).status_code == 200
            deadline = time.monotonic() + 30
            status = 200
            while status == 200 and time.monotonic() < deadline:
                time.sleep(0.5)
                status = http.get("/identity/v3/auth/projects", headers={"X-Auth-Token": token}).status_code
            assert status == 401
            expired = http.get("/identity/v3/auth/tokens?allow_expired=1",
                               headers={"X-Auth-Token": server.admin_token(), "X-Subject-Token": token})
            assert expired.status_code == 200
    finally:
        server.stop()
