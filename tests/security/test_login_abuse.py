"""Item 5: nobody can lock an account by failing its password, and a login flood cannot pile up hashes.

Unauthenticated attacks on POST /identity/v3/auth/tokens. The server listens on 127.0.0.1; a client bound to
127.0.0.2 is another address to it (the whole of 127/8 is loopback).
"""

from __future__ import annotations

import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.support.accounts import Admin, auth_headers
from tests.support.server import Server

TOKENS = "/identity/v3/auth/tokens"


def _password_auth(name: str, password: str, passcode: str | None = None) -> dict:
    identity: dict = {"methods": ["password"], "password": {
        "user": {"name": name, "domain": {"id": "default"}, "password": password}}}
    if passcode is not None:
        identity["methods"].append("totp")
        identity["totp"] = {"user": {"name": name, "domain": {"id": "default"}, "passcode": passcode}}
    return {"auth": {"identity": identity}}


def _refused_for_now(response: httpx.Response) -> bool:
    """429 in Keystone's error format with a Retry-After, and no token."""
    return (response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
            and response.json()["error"]["code"] == 429 and "X-Subject-Token" not in response.headers)


def test_wrong_passwords_from_one_address_do_not_lock_the_account(server: Server, admin: Admin,
                                                                   http: httpx.Client) -> None:
    account = admin.account()
    attempts = [http.post(TOKENS, json=_password_auth(account.name, f"guess-{n}-xxxxxx")) for n in range(8)]
    assert [r.status_code for r in attempts[:3]] == [401, 401, 401]
    assert all(_refused_for_now(r) for r in attempts[3:]), [r.status_code for r in attempts]

    # The throttled address is refused even with the right password while its delay runs...
    assert _refused_for_now(http.post(TOKENS, json=_password_auth(account.name, account.password)))
    # ...and saying it is someone else does not help: X-Forwarded-For is not believed from a client.
    spoofed = http.post(TOKENS, json=_password_auth(account.name, account.password),
                        headers={"X-Forwarded-For": "198.51.100.7"})
    assert _refused_for_now(spoofed)

    # The owner, from another address, logs in with the right password, and the token works.
    with server.http(local_address="127.0.0.2") as owner:
        response = owner.post(TOKENS, json=_password_auth(account.name, account.password))
        assert response.status_code == 201, response.text
        token = response.headers["X-Subject-Token"]
        assert owner.get("/identity/v3/auth/projects", headers=auth_headers(token)).status_code == 200


def test_the_admin_cannot_be_locked_out_by_anyone(server: Server, http: httpx.Client) -> None:
    credentials = server.admin_credentials()
    attempts = [http.post(TOKENS, json=_password_auth("admin", f"guess-{n}-xxxxxx")) for n in range(8)]
    assert {r.status_code for r in attempts} <= {401, 429} and _refused_for_now(attempts[-1])

    with server.http(local_address="127.0.0.2") as operator:
        response = operator.post(TOKENS, json=_password_auth("admin", credentials["password"],
                                                             server.admin_passcode()))
        assert response.status_code == 201, response.text

    # Leave the session's server as it was: once the delay has run, a success from 127.0.0.1 clears it.
    time.sleep(int(attempts[-1].headers["Retry-After"]) + 0.2)
    response = http.post(TOKENS, json=_password_auth("admin", credentials["password"], server.admin_passcode()))
    assert response.status_code == 201, response.text


def test_unknown_names_cost_a_hash_and_are_throttled_alike(server: Server, admin: Admin,
                                                          http: httpx.Client) -> None:
    account, nobody = admin.account(), f"nobody-{secrets.token_hex(4)}"
    known = [http.post(TOKENS, json=_password_auth(account.name, "wrong-password-1")) for _ in range(5)]
    unknown = [http.post(TOKENS, json=_password_auth(nobody, "wrong-password-1")) for _ in range(5)]
    assert [(r.status_code, r.text) for r in known] == [(r.status_code, r.text) for r in unknown]
    assert _refused_for_now(unknown[-1])


def test_a_login_flood_gets_429s_not_a_pile_up(fresh_server: Server) -> None:
    """Dozens of simultaneous password logins (each an argon2 hash): most are turned away at once, none waits
    behind a pile of hashes, no error; and once the flood is over the next login goes straight through."""
    admin = Admin(fresh_server)
    try:
        account = admin.account()
    finally:
        admin.client.close()
    body = _password_auth(account.name, account.password)
    flood = 48
    clients = [fresh_server.http() for _ in range(flood)]
    try:
        for client in clients:  # connect (TLS) first, so that the logins themselves arrive together
            client.get("/identity/v3")
        start = threading.Barrier(flood)

        def login(client: httpx.Client) -> tuple[httpx.Response, float]:
            start.wait()
            began = time.monotonic()
            response = client.post(TOKENS, json=body)
            return response, time.monotonic() - began

        with ThreadPoolExecutor(flood) as pool:
            results = list(pool.map(login, clients))
    finally:
        for client in clients:
            client.close()
    statuses = [response.status_code for response, _ in results]
    assert set(statuses) <= {201, 429}, statuses
    turned_away = [response for response, _ in results if response.status_code == 429]
    assert turned_away and all(_refused_for_now(r) for r in turned_away)
    assert statuses.count(201) >= 1
    # At most a short queue of hashes ever waits: nobody's answer took long, however many asked at once.
    assert max(elapsed for _, elapsed in results) < 10
    with fresh_server.http() as http:
        assert http.post(TOKENS, json=body).status_code == 201


def test_a_short_application_credential_secret_is_refused(server: Server, admin: Admin,
                                                          http: httpx.Client) -> None:
    account = admin.account()
    headers = auth_headers(account.token(server))
    base = f"/identity/v3/users/{account.user_id}/application_credentials"
    short = http.post(base, json={"application_credential": {"name": "weak", "secret": "123456"}}, headers=headers)
    assert short.status_code == 400, short.text
    assert short.json()["error"]["code"] == 400 and "16" in short.json()["error"]["message"]
    assert http.get(base, headers=headers).json()["application_credentials"] == []  # nothing was made

    made = http.post(base, json={"application_credential": {"name": "robot"}}, headers=headers)
    assert made.status_code == 201, made.text
    assert len(made.json()["application_credential"]["secret"]) >= 32  # a generated secret is long
