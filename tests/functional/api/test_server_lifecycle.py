"""`andromede up`: first start writes the client files, restarts keep everything, one server per data dir."""

from __future__ import annotations

import stat
import subprocess

import yaml

from tests.support.server import Server, free_port


def test_first_start_files_are_private_and_secrets_hashed(fresh_server: Server) -> None:
    data = fresh_server.data_dir
    for name in ("clouds.yaml", "admin-credentials"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    clouds = fresh_server.clouds()
    assert set(clouds) == {"andromede", "andromede-admin"}
    assert clouds["andromede"]["cacert"] == fresh_server.cacert
    assert clouds["andromede-admin"]["auth_type"] == "v3applicationcredential"
    assert fresh_server.admin_credentials()["totp_uri"].startswith("otpauth://totp/")

    secrets = [fresh_server.admin_credentials()["password"], clouds["andromede"]["auth"]["password"],
               clouds["andromede-admin"]["auth"]["application_credential_secret"]]
    stored = b"".join(path.read_bytes() for path in data.glob("andromede.db*"))
    for secret in secrets:
        assert secret.encode() not in stored
    assert b"$argon2id$" in stored


def test_restart_keeps_records_and_tokens(fresh_server: Server) -> None:
    token = fresh_server.openstack_json("token", "issue")["id"]
    fresh_server.openstack("project", "create", "survivor", cloud="andromede-admin")
    fresh_server.stop()
    fresh_server.start()
    names = {p["Name"] for p in fresh_server.openstack_json("project", "list", cloud="andromede-admin")}
    assert "survivor" in names
    with fresh_server.http() as http:
        response = http.get("/identity/v3/auth/tokens", headers={"X-Auth-Token": token, "X-Subject-Token": token})
    assert response.status_code == 200


def test_the_admin_cloud_is_system_scoped_and_older_clouds_are_rebound(fresh_server: Server) -> None:
    """andromede-admin answers a system-scoped token; a cloud whose andromede-admin was still bound to the admin
    project (before system scope) gets a system-bound one on its next start, and the old secret stops working."""
    token = fresh_server.openstack_json("token", "issue", cloud="andromede-admin")
    assert isinstance(token, dict) and not token.get("project_id")
    admin_token = fresh_server.admin_token(project_scoped=True)
    with fresh_server.http() as http:
        me = http.get("/identity/v3/auth/tokens", headers={"X-Auth-Token": admin_token,
                                                            "X-Subject-Token": admin_token}).json()["token"]
        created = http.post(f"/identity/v3/users/{me['user']['id']}/application_credentials",
                            headers={"X-Auth-Token": admin_token},
                            json={"application_credential": {"name": "old-admin-cloud"}})
    assert created.status_code == 201, created.text
    old = created.json()["application_credential"]
    assert old["project_id"] == me["project"]["id"] and old.get("system") is None
    path = fresh_server.data_dir / "clouds.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["clouds"]["andromede-admin"]["auth"].update(application_credential_id=old["id"],
                                                    application_credential_secret=old["secret"])
    path.write_text(yaml.safe_dump(doc))
    fresh_server.stop()
    fresh_server.start()
    auth = fresh_server.clouds()["andromede-admin"]["auth"]
    assert auth["application_credential_id"] != old["id"]
    token = fresh_server.openstack_json("token", "issue", cloud="andromede-admin")
    assert isinstance(token, dict) and not token.get("project_id")
    with fresh_server.http() as http:
        refused = http.post("/identity/v3/auth/tokens", json={"auth": {"identity": {
            "methods": ["application_credential"],
            "application_credential": {"id": old["id"], "secret": old["secret"]}}}})
    assert refused.status_code == 401


def test_second_server_on_the_same_data_dir_refuses(fresh_server: Server) -> None:
    other = Server(data_dir=fresh_server.data_dir, port=free_port())
    result = subprocess.run(other.command(), capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "already running" in result.stderr
    with fresh_server.http() as http:  # and the first one is unharmed
        assert http.get("/identity/v3").status_code == 200


def test_insecure_http_is_loopback_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = Server(data_dir=tmp_path / "d", port=free_port())
    cmd = [*server.command(), "--insecure-http"]
    cmd[cmd.index("--listen") + 1] = f"0.0.0.0:{server.port}"
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2 and "loopback" in result.stderr
