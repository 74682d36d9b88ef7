"""Login abuse the first pass missed: password-change guessing, a user-name oracle in the throttle, TOTP replay
across duplicate enrolments."""

from __future__ import annotations

import secrets

import httpx

from tests.support.accounts import Admin, auth_headers
from tests.support.server import Server

V3 = "/identity/v3"


def _login(http: httpx.Client, name: str, password: str, project_id: str) -> str:
    response = http.post(f"{V3}/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"],
                     "password": {"user": {"name": name, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"id": project_id}}}})
    assert response.status_code == 201, response.text
    return response.headers["X-Subject-Token"]


def test_a_totp_passcode_is_good_once_per_user_not_once_per_credential(server: Server, admin: Admin,
                                                                        http: httpx.Client) -> None:
    """claim_totp_step (identity/credentials.py) records the last time step per credential row, and
    Authenticator._check_totp tries every TOTP credential of the user: a user who enrolled the same seed twice
    (an enrolment script run again, a phone re-added) accepts each observed passcode once per copy, so an
    attacker holding the password replays the passcode the user just typed."""
    import pyotp

    account = admin.account("member")
    token = _login(http, account.name, account.password, account.project_id)
    seed = pyotp.random_base32()
    for _ in range(2):
        enrolled = http.post(f"{V3}/credentials", headers=auth_headers(token), json={"credential": {
            "type": "totp", "user_id": account.user_id, "blob": seed}})
        assert enrolled.status_code == 201, enrolled.text
    user = {"name": account.name, "domain": {"id": "default"}}
    passcode = pyotp.TOTP(seed).now()
    body = {"auth": {"identity": {"methods": ["password", "totp"],
                                  "password": {"user": {**user, "password": account.password}},
                                  "totp": {"user": {**user, "passcode": passcode}}}}}
    first = http.post(f"{V3}/auth/tokens", json=body)
    assert first.status_code == 201, first.text
    replayed = http.post(f"{V3}/auth/tokens", json=body)
    assert replayed.status_code == 401, "the same passcode logged in twice"


def test_guessing_the_original_password_is_throttled(server: Server, admin: Admin, http: httpx.Client) -> None:
    """POST /v3/users/{id}/password checks `original_password` (identity/users.py change_own_password) outside the
    login throttle and outside the hash gate: whoever holds a user's token (an hour's worth, a leaked clouds.yaml
    token, an XSS in a dashboard) guesses that user's password with no 429, and floods argon2 hashes past the
    per-process bound that /v3/auth/tokens keeps."""
    account = admin.account("member")
    token = _login(http, account.name, account.password, account.project_id)
    answers = []
    for attempt in range(6):
        response = http.post(f"{V3}/users/{account.user_id}/password", headers=auth_headers(token), json={
            "user": {"original_password": f"guess-{attempt}-{secrets.token_hex(4)}",
                     "password": secrets.token_urlsafe(16)}})
        answers.append(response.status_code)
    assert 429 in answers, f"six wrong original passwords in a row, none throttled: {answers}"


def test_the_throttle_does_not_tell_which_user_names_exist(server: Server, admin: Admin, http: httpx.Client) -> None:
    """identity/auth.py _account_key: a known user is throttled under its id however it is named, an unknown
    name under the spelling given. Fail three times naming the domain by id, then once naming it by name: for a
    real user the fourth is already a 429 (same account), for a made-up one a 401 (a new key). Every login failure
    is meant to answer alike whatever went wrong; this one says whether the name is an account."""
    def answers(name: str) -> list[int]:
        codes = []
        for domain in ({"id": "default"},) * 3 + ({"name": "Default"},):
            response = http.post(f"{V3}/auth/tokens", json={"auth": {"identity": {
                "methods": ["password"],
                "password": {"user": {"name": name, "domain": domain, "password": "wrong-" + secrets.token_hex(4)}}}}})
            codes.append(response.status_code)
        return codes

    real = answers(admin.account("member").name)
    made_up = answers(f"u-{secrets.token_hex(4)}")
    assert real == made_up, f"a real user's name answers {real}, a made-up one {made_up}"


