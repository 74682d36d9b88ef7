"""Deleting a project (`openstack project delete`) destroys its KEK: its secrets and its volumes' keys open no more,
a cloud admin fetches the project's deletion certificate, and its orphaned volumes are in error, listable and
deletable by the admin."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path

import httpx

from tests.support.accounts import Account, Admin, auth_headers
from tests.support.server import VENV_BIN, Server

KM = "/key-manager/v1"


def _client(server: Server, account: Account) -> httpx.Client:
    client = server.http()
    client.headers.update(auth_headers(account.token(server)))
    return client


def _kms_rows(server: Server, project_id: str) -> tuple[int, int] | None:
    """(KEK rows, secret rows) of the project, read from the SQLite file; None on PostgreSQL."""
    path = server.data_dir / "andromede.db"
    if server.database_url or not path.exists():
        return None
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        keks = db.execute("SELECT count(*) FROM kms_project_keks WHERE project_id = ?", (project_id,)).fetchone()
        stored = db.execute("SELECT count(*) FROM kms_secrets WHERE project_id = ?", (project_id,)).fetchone()
    return keks[0], stored[0]


def test_deleting_a_project_destroys_its_kek_and_certifies_it(server: Server, admin: Admin, tmp_path: Path) -> None:
    project = admin.project("doomed")
    owner, bystander = admin.account("member", project), admin.account("member")
    with _client(server, owner) as mine:
        stored = mine.post(f"{KM}/secrets", json={"payload": "gone-soon", "payload_content_type": "text/plain"})
        assert stored.status_code == 201, stored.text
        volume = mine.post(f"/volume/v3/{owner.project_id}/volumes", json={"volume": {"size": 1, "name": "orphan"}})
        assert volume.status_code == 202, volume.text
    volume_id = volume.json()["volume"]["id"]
    assert _kms_rows(server, owner.project_id) in (None, (1, 2))

    assert admin.client.get(f"{KM}/deletion-certificates/{owner.project_id}").status_code == 404
    assert admin.client.delete(f"/identity/v3/projects/{owner.project_id}").status_code == 204

    assert _kms_rows(server, owner.project_id) in (None, (0, 0))
    response = admin.client.get(f"{KM}/deletion-certificates/{owner.project_id}")
    assert response.status_code == 200, response.text
    statement = response.json()["statement"]
    assert statement["resource"] == {"type": "project", "id": owner.project_id, "project_id": owner.project_id}
    assert statement["key"]["kind"] == "project-kek" and statement["key"]["id_digest"].startswith("sha256:")
    assert "key-encryption key" in statement["method"]
    with _client(server, bystander) as theirs:
        assert theirs.get(f"{KM}/deletion-certificates/{owner.project_id}").status_code == 404

    path = tmp_path / "project-certificate.json"
    path.write_text(response.text)
    verified = subprocess.run([str(VENV_BIN / "andromede"), "verify-certificate", str(path), "--public-key",
                               str(server.data_dir / "kms" / "certificate-signing-key.pub.pem")],
                              capture_output=True, text=True, timeout=60, check=False)
    assert verified.returncode == 0 and verified.stdout.startswith("VALID: project"), verified.stderr

    listed = admin.client.get(f"/volume/v3/{admin.project_id}/volumes/detail", params={"all_tenants": "1"})
    assert listed.status_code == 200, listed.text
    orphan = next(v for v in listed.json()["volumes"] if v["id"] == volume_id)
    assert orphan["status"] == "error"
    shown = admin.client.get(f"/volume/v3/{owner.project_id}/volumes/{volume_id}")
    assert shown.status_code == 200 and shown.json()["volume"]["status"] == "error"
    assert admin.client.delete(f"/volume/v3/{owner.project_id}/volumes/{volume_id}").status_code == 202
    deadline = time.monotonic() + 120  # its host removes the file, then the row goes
    while admin.client.get(f"/volume/v3/{owner.project_id}/volumes/{volume_id}").status_code != 404:
        assert time.monotonic() < deadline, "the orphaned volume was never deleted"
        time.sleep(0.5)


def test_deleting_a_project_that_never_stored_a_key_certifies_nothing(server: Server, admin: Admin) -> None:
    project_id, _name = admin.project("keyless")
    assert admin.client.delete(f"/identity/v3/projects/{project_id}").status_code == 204
    assert admin.client.get(f"{KM}/deletion-certificates/{project_id}").status_code == 404
