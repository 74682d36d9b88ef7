"""Failed logins slow down the address that fails, not the account; alike for known and unknown users.

The account-wide lockout (Keystone's lockout_failure_attempts) is an opt-in policy.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx

from tests.support.accounts import Admin
from tests.support.server import Server, free_port


def _attempt(http: httpx.Client, name: str, password: str) -> httpx.Response:
    return http.post("/identity/v3/auth/tokens", json={"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": name, "domain": {"id": "default"}, "password": password}}}}})


def _shape(response: httpx.Response) -> tuple:
    return response.status_code, response.text, response.headers.get("WWW-Authenticate")


def test_failures_throttle_the_address_not_the_account(server: Server, admin: Admin, http: httpx.Client) -> None:
    account = admin.account()
    failed = [_attempt(http, account.name, "wrong-password-1") for _ in range(4)]
    assert [r.status_code for r in failed] == [401, 401, 401, 429]
    assert int(failed[-1].headers["Retry-After"]) >= 1
    assert failed[-1].json()["error"]["code"] == 429
    # While the delay runs this address is refused, even with the right password...
    assert _attempt(http, account.name, account.password).status_code == 429
    # ...but the account is not locked: its owner, from elsewhere, logs in.
    with server.http(local_address="127.0.0.2") as elsewhere:
        assert _attempt(elsewhere, account.name, account.password).status_code == 201


def test_unknown_users_answer_like_known_ones(server: Server, admin: Admin, http: httpx.Client) -> None:
    account = admin.account()
    known = [_attempt(http, account.name, "wrong-password-1") for _ in range(4)]
    nobody = f"nobody-{secrets.token_hex(4)}"
    unknown = [_attempt(http, nobody, "wrong-password-1") for _ in range(4)]
    assert [_shape(r) for r in known] == [_shape(r) for r in unknown]
    assert [r.status_code for r in unknown] == [401, 401, 401, 429]  # unknown names are throttled too


def test_account_lockout_is_opt_in(tmp_path: Path) -> None:
    srv = Server(data_dir=tmp_path / "data", port=free_port(),
                 env={"ANDROMEDE_LOCKOUT_FAILURE_ATTEMPTS": "3", "ANDROMEDE_LOGIN_THROTTLE_FREE_FAILURES": "50"})
    srv.start()
    admin = Admin(srv)
    try:
        account = admin.account()
        with srv.http(local_address="127.0.0.3") as attacker:
            wrong = [_attempt(attacker, account.name, "wrong-password-1") for _ in range(3)]
        assert {r.status_code for r in wrong} == {401}
        with srv.http(local_address="127.0.0.4") as owner:
            locked = _attempt(owner, account.name, account.password)
            assert _shape(locked) == _shape(wrong[0])  # the right password, refused alike while locked
            admin.client.patch(f"/identity/v3/users/{account.user_id}", json={"user": {"enabled": True}})
            assert _attempt(owner, account.name, account.password).status_code == 201  # an admin unlocks
    finally:
        admin.client.close()
        srv.stop()
