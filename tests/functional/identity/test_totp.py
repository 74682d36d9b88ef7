"""TOTP as a second factor: Keystone's auth-receipt dance, per-user rules and the admin-wide rule."""

from __future__ import annotations

import pyotp
import yaml

from tests.support.accounts import Admin, auth_headers
from tests.support.server import Server


def _password_auth(name: str, password: str) -> dict:
    return {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": name, "domain": {"id": "default"}, "password": password}}}}}


def _totp_auth(name: str, passcode: str) -> dict:
    return {"auth": {"identity": {"methods": ["totp"], "totp": {
        "user": {"name": name, "domain": {"id": "default"}, "passcode": passcode}}}}}


def test_admin_password_alone_gets_a_receipt_not_a_token(server: Server) -> None:
    password = server.admin_credentials()["password"]
    with server.http() as http:
        response = http.post("/identity/v3/auth/tokens", json=_password_auth("admin", password))
        assert response.status_code == 401
        assert "X-Subject-Token" not in response.headers
        receipt = response.headers["Openstack-Auth-Receipt"]
        body = response.json()
        assert body["receipt"]["methods"] == ["password"]
        assert body["receipt"]["user"]["name"] == "admin"
        assert ["password", "totp"] in body["required_auth_methods"]
        assert body["error"]["code"] == 401

        wrong = http.post("/identity/v3/auth/tokens", json=_totp_auth("admin", "000000"),
                          headers={"Openstack-Auth-Receipt": receipt})
        assert wrong.status_code == 401 and "X-Subject-Token" not in wrong.headers
        finished = http.post("/identity/v3/auth/tokens", json=_totp_auth("admin", server.admin_passcode()),
                             headers={"Openstack-Auth-Receipt": receipt})
        assert finished.status_code == 201, finished.text
        assert set(finished.json()["token"]["methods"]) == {"password", "totp"}


def test_admin_password_and_totp_in_one_request(server: Server) -> None:
    assert server.admin_token()


def test_openstack_cli_refuses_admin_without_passcode(server: Server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    clouds = {"clouds": {"pw": {"auth": {"auth_url": server.identity_url, "username": "admin",
                                         "password": server.admin_credentials()["password"],
                                         "project_name": "admin", "user_domain_name": "Default",
                                         "project_domain_name": "Default"},
                                "cacert": server.cacert, "identity_api_version": 3}}}
    path = tmp_path / "clouds.yaml"
    path.write_text(yaml.safe_dump(clouds))
    result = server.openstack("token", "issue", cloud="pw", check=False, env={"OS_CLIENT_CONFIG_FILE": str(path)})
    assert result.returncode != 0
    assert "totp" in (result.stderr + result.stdout).lower()


def test_per_user_mfa_rule(server: Server, admin: Admin) -> None:
    account = admin.account()
    secret = pyotp.random_base32()
    made = admin.client.post("/identity/v3/credentials", json={"credential": {
        "type": "totp", "user_id": account.user_id, "blob": secret}})
    assert made.status_code == 201, made.text
    rules = admin.client.patch(f"/identity/v3/users/{account.user_id}", json={"user": {"options": {
        "multi_factor_auth_enabled": True, "multi_factor_auth_rules": [["password", "totp"]]}}})
    assert rules.status_code == 200, rules.text
    assert rules.json()["user"]["options"]["multi_factor_auth_rules"] == [["password", "totp"]]
    with server.http() as http:
        first = http.post("/identity/v3/auth/tokens", json=_password_auth(account.name, account.password))
        assert first.status_code == 401 and "Openstack-Auth-Receipt" in first.headers
        second = http.post("/identity/v3/auth/tokens", json=_totp_auth(account.name, pyotp.TOTP(secret).now()),
                           headers={"Openstack-Auth-Receipt": first.headers["Openstack-Auth-Receipt"]})
        assert second.status_code == 201, second.text
        token = second.headers["X-Subject-Token"]
        assert http.get("/identity/v3/auth/projects", headers=auth_headers(token)).status_code == 200


def test_admin_application_credential_needs_no_passcode(server: Server) -> None:
    token = server.openstack_json("token", "issue", cloud="andromede-admin")
    assert token["id"]
