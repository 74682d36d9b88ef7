"""Item 6: an administrator's login needs two factors whatever methods it names, a TOTP passcode is good once,
and no TOTP seed is ever read back.

Attacks by raw HTTP on /identity/v3/auth/tokens and /identity/v3/credentials, and the openstack CLI.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pyotp

from tests.support.accounts import Admin, auth_headers
from tests.support.server import Server

TOKENS = "/identity/v3/auth/tokens"


def _user(name: str) -> dict:
    return {"name": name, "domain": {"id": "default"}}


def _auth(name: str, *, password: str | None = None, passcode: str | None = None, scope: dict | None = None) -> dict:
    identity: dict = {"methods": []}
    if password is not None:
        identity["methods"].append("password")
        identity["password"] = {"user": {**_user(name), "password": password}}
    if passcode is not None:
        identity["methods"].append("totp")
        identity["totp"] = {"user": {**_user(name), "passcode": passcode}}
    return {"auth": {"identity": identity, **({"scope": scope} if scope else {})}}


def _insufficient(response: httpx.Response, methods: list[str]) -> None:
    """Keystone's InsufficientAuthMethods: 401, a receipt for what was proven, the rules still to meet."""
    assert response.status_code == 401, response.text
    assert "X-Subject-Token" not in response.headers
    assert response.headers["Openstack-Auth-Receipt"]
    body = response.json()
    assert body["error"]["code"] == 401 and "Insufficient auth methods" in body["error"]["message"]
    assert body["receipt"]["methods"] == methods
    assert any(set(rule) >= {"password", "totp"} for rule in body["required_auth_methods"])


def test_totp_alone_does_not_make_an_admin_token(server: Server, http: httpx.Client) -> None:
    admin_scope = {"project": {"name": "admin", "domain": {"id": "default"}}}
    alone = http.post(TOKENS, json=_auth("admin", passcode=server.admin_passcode(), scope=admin_scope))
    _insufficient(alone, ["totp"])
    # The receipt flow still completes the login with the missing factor.
    finished = http.post(TOKENS, json=_auth("admin", password=server.admin_credentials()["password"],
                                            scope=admin_scope),
                         headers={"Openstack-Auth-Receipt": alone.headers["Openstack-Auth-Receipt"]})
    assert finished.status_code == 201, finished.text
    assert set(finished.json()["token"]["methods"]) == {"password", "totp"}


def test_password_alone_does_not_make_an_admin_token(server: Server, http: httpx.Client) -> None:
    _insufficient(http.post(TOKENS, json=_auth("admin", password=server.admin_credentials()["password"])),
                  ["password"])


def _mfa_account(admin: Admin):  # type: ignore[no-untyped-def]
    """A throwaway user whose rules need password and TOTP, and its TOTP seed."""
    account, seed = admin.account(), pyotp.random_base32()
    assert admin.client.post("/identity/v3/credentials", json={"credential": {
        "type": "totp", "user_id": account.user_id, "blob": seed}}).status_code == 201
    assert admin.client.patch(f"/identity/v3/users/{account.user_id}", json={"user": {"options": {
        "multi_factor_auth_enabled": True, "multi_factor_auth_rules": [["password", "totp"]]}}}).status_code == 200
    return account, pyotp.TOTP(seed)


def test_one_factor_for_a_user_whose_rules_need_two(server: Server, admin: Admin, http: httpx.Client) -> None:
    account, totp = _mfa_account(admin)
    _insufficient(http.post(TOKENS, json=_auth(account.name, passcode=totp.now())), ["totp"])
    _insufficient(http.post(TOKENS, json=_auth(account.name, password=account.password)), ["password"])


def test_a_one_factor_token_cannot_be_rescoped_once_its_user_is_admin(server: Server, admin: Admin,
                                                                       http: httpx.Client) -> None:
    account = admin.account()
    unscoped = account.token(server, scoped=False)  # password only: fine for a member
    granted = admin.client.put(f"/identity/v3/projects/{account.project_id}/users/{account.user_id}"
                               f"/roles/{admin.role_id('admin')}")
    assert granted.status_code == 204
    rescope = http.post(TOKENS, json={"auth": {"identity": {"methods": ["token"], "token": {"id": unscoped}},
                                               "scope": {"project": {"id": account.project_id}}}})
    assert rescope.status_code == 401 and "X-Subject-Token" not in rescope.headers
    assert "Insufficient auth methods" in rescope.json()["error"]["message"]


def test_a_totp_passcode_is_accepted_once(server: Server, admin: Admin, http: httpx.Client) -> None:
    account, totp = _mfa_account(admin)
    passcode = totp.now()
    first = http.post(TOKENS, json=_auth(account.name, password=account.password, passcode=passcode))
    assert first.status_code == 201, first.text
    replayed = http.post(TOKENS, json=_auth(account.name, password=account.password, passcode=passcode))
    assert replayed.status_code == 401 and "X-Subject-Token" not in replayed.headers
    # Nor as the second step of a receipt.
    receipt = http.post(TOKENS, json=_auth(account.name, password=account.password))
    again = http.post(TOKENS, json=_auth(account.name, passcode=passcode),
                      headers={"Openstack-Auth-Receipt": receipt.headers["Openstack-Auth-Receipt"]})
    assert again.status_code == 401 and "X-Subject-Token" not in again.headers
    # The administrator's passcodes too.
    credentials = server.admin_credentials()
    admin_passcode = server.admin_passcode()
    assert http.post(TOKENS, json=_auth("admin", password=credentials["password"],
                                        passcode=admin_passcode)).status_code == 201
    replayed = http.post(TOKENS, json=_auth("admin", password=credentials["password"], passcode=admin_passcode))
    assert replayed.status_code == 401 and "X-Subject-Token" not in replayed.headers


def test_racing_one_passcode_wins_once(server: Server, admin: Admin) -> None:
    account, totp = _mfa_account(admin)
    body = _auth(account.name, password=account.password, passcode=totp.now())

    def login(_: int) -> int:
        with server.http() as client:
            return client.post(TOKENS, json=body).status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(login, range(4)))
    assert sorted(statuses) == [201, 401, 401, 401], statuses


def test_listing_credentials_never_shows_a_totp_seed(server: Server, admin: Admin) -> None:
    admin_seed = pyotp.parse_uri(server.admin_credentials()["totp_uri"]).secret
    account, seed = admin.account(), pyotp.random_base32()
    created = admin.client.post("/identity/v3/credentials", json={"credential": {
        "type": "totp", "user_id": account.user_id, "blob": seed}})
    assert created.status_code == 201 and created.json()["credential"]["blob"] == seed  # shown once, at creation
    credential_id = created.json()["credential"]["id"]

    listed = admin.client.get("/identity/v3/credentials", params={"type": "totp"})
    assert listed.status_code == 200 and listed.json()["credentials"]
    shown = admin.client.get(f"/identity/v3/credentials/{credential_id}")
    updated = admin.client.patch(f"/identity/v3/credentials/{credential_id}",
                                 json={"credential": {"project_id": None}})
    for response in (listed, shown, updated):
        assert response.status_code == 200, response.text
        assert seed not in response.text and admin_seed not in response.text
    assert "blob" not in shown.json()["credential"]
    # The owner cannot read it back either.
    own = httpx.Client(base_url=server.base_url, verify=server.tls(), timeout=30,
                       headers=auth_headers(account.token(server)))
    with own:
        mine = own.get("/identity/v3/credentials")
        assert mine.status_code == 200 and seed not in mine.text and mine.json()["credentials"]

    cli = server.openstack("credential", "list", "-f", "json", cloud="andromede-admin")
    assert admin_seed not in cli.stdout and seed not in cli.stdout
    assert credential_id in cli.stdout


def test_machine_credentials_still_work_without_a_passcode(server: Server) -> None:
    """The admin's application credential (clouds.yaml) and the host agent's need no second factor."""
    token = server.openstack_json("token", "issue", cloud="andromede-admin")
    assert token["id"]
    services = server.openstack_json("compute", "service", "list", cloud="andromede-admin")
    assert any(service["State"] == "up" for service in services)  # the host agent authenticated and reports
