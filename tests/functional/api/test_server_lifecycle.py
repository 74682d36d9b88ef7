"""`andromede up`: first start writes the client files, restarts keep everything, one server per data dir."""

from __future__ import annotations

import stat
import subprocess

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
