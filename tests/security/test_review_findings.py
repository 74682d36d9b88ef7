"""Holes a review of the issue 13 fixes found, each attack refused now: minting a credential past one's own
roles, JSON nested inside a credential's blob, image ids that no route reaches, immutable identity attributes
and flavor filters past 64 bits answering 500."""

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


def test_ec2_credential_blob_nesting_is_bounded(server: Server, admin: Admin, http: httpx.Client) -> None:
    """The JSON depth check covers request bodies, not the JSON text an ec2 credential's blob carries: the
    blob (8 KiB) is json.loads()-ed by identity/credentials.py _ec2_access, so any member gets a 500
    (RecursionError) on POST /v3/credentials and PATCH /v3/credentials/{id}."""
    account = admin.account("member")
    token = _login(http, account.name, account.password, account.project_id)
    blob = "[" * 5000 + "]" * 3000  # 8000 characters, within the blob's limit
    created = http.post(f"{V3}/credentials", headers=auth_headers(token), json={"credential": {
        "type": "ec2", "user_id": account.user_id, "project_id": account.project_id, "blob": blob}})
    assert created.status_code == 400, (created.status_code, created.text[:300])


def test_app_credential_from_app_credential_keeps_its_roles(server: Server, admin: Admin,
                                                            http: httpx.Client) -> None:
    """A reader-only (unrestricted) application credential mints a new one holding every role of its user
    (member here): identity/credentials.py create_application_credential takes the user's roles on the project,
    not the roles of the token asking. Keystone limits a new application credential to the token's roles."""
    account = admin.account("member")
    token = _login(http, account.name, account.password, account.project_id)
    made = http.post(f"{V3}/users/{account.user_id}/application_credentials", headers=auth_headers(token), json={
        "application_credential": {"name": f"ro-{secrets.token_hex(3)}", "roles": [{"name": "reader"}],
                                   "unrestricted": True}})
    assert made.status_code == 201, made.text
    ro = made.json()["application_credential"]
    issued = http.post(f"{V3}/auth/tokens", json={"auth": {"identity": {
        "methods": ["application_credential"],
        "application_credential": {"id": ro["id"], "secret": ro["secret"]}}}})
    assert issued.status_code == 201, issued.text
    ro_token = issued.headers["X-Subject-Token"]
    assert {r["name"] for r in issued.json()["token"]["roles"]} == {"reader"}
    # The reader-only credential cannot create a network...
    refused = http.post("/network/v2.0/networks", headers=auth_headers(ro_token), json={"network": {"name": "x"}})
    assert refused.status_code == 403, refused.text
    # ...but it mints a credential with more roles than it holds.
    minted = http.post(f"{V3}/users/{account.user_id}/application_credentials", headers=auth_headers(ro_token),
                       json={"application_credential": {"name": f"esc-{secrets.token_hex(3)}"}})
    if minted.status_code == 201:
        names = {r["name"] for r in minted.json()["application_credential"]["roles"]}
        assert names <= {"reader"}, f"a reader-only application credential minted one with {sorted(names)}"
    else:
        assert minted.status_code in (400, 403), minted.text
    explicit = http.post(f"{V3}/users/{account.user_id}/application_credentials", headers=auth_headers(ro_token),
                         json={"application_credential": {"name": f"esc2-{secrets.token_hex(3)}",
                                                          "roles": [{"name": "member"}]}})
    assert explicit.status_code in (400, 403, 404), explicit.text


def test_image_ids_are_canonical_uuids(server: Server, admin: Admin, http: httpx.Client) -> None:
    """image/schemas.py accepts any 36 characters of hex digits and dashes as an image id (Glance: only the
    canonical 8-4-4-4-12 form). An id such as 36 zeros is stored, counts against the project's image quota, and
    is then unreachable by every route (get_visible's uuid.UUID() check refuses it): nobody, an admin included,
    can show or delete it. A member fills its project's image_count_total with such images for good."""
    account = admin.account("member")
    token = _login(http, account.name, account.password, account.project_id)
    odd_id = secrets.token_hex(18)  # 36 hex digits, no dashes
    created = http.post("/image/v2/images", headers=auth_headers(token), json={
        "id": odd_id, "name": "immortal", "disk_format": "raw", "container_format": "bare"})
    if created.status_code == 201:
        deleted = admin.client.delete(f"/image/v2/images/{odd_id}")
        assert deleted.status_code == 204, f"image {odd_id} was created and cannot be deleted: {deleted.status_code}"
    else:
        assert created.status_code == 400, created.text


def _domain_manager_token(admin: Admin, http: httpx.Client) -> tuple[str, str]:
    """A customer's domain and a domain-scoped token of its manager: (domain id, token)."""
    name = f"cust-{secrets.token_hex(3)}"
    domain_id = admin.client.post(f"{V3}/domains", json={"domain": {"name": name}}).json()["domain"]["id"]
    username, password = f"mgr-{secrets.token_hex(3)}", secrets.token_urlsafe(16)
    user = admin.client.post(f"{V3}/users", json={"user": {"name": username, "password": password,
                                                           "domain_id": domain_id}})
    assert user.status_code == 201, user.text
    granted = admin.client.put(f"{V3}/domains/{domain_id}/users/{user.json()['user']['id']}/roles/"
                               f"{admin.role_id('manager')}")
    assert granted.status_code == 204, granted.text
    response = http.post(f"{V3}/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"],
                     "password": {"user": {"name": username, "domain": {"id": domain_id}, "password": password}}},
        "scope": {"domain": {"id": domain_id}}}})
    assert response.status_code == 201, response.text
    return domain_id, response.headers["X-Subject-Token"]


def test_patching_domain_id_or_parent_id_is_a_400(server: Server, admin: Admin, http: httpx.Client) -> None:
    """ProjectUpdate/UserUpdate/GroupUpdate accept extra attributes, and identity/schemas.py RESERVED does not
    hold `domain_id` or `parent_id`: PATCH takes them as extras and views.py then calls ProjectView(**extra,
    domain_id=...) with the key twice, a TypeError: 500 (the transaction rolls back, so nothing sticks). Any
    domain manager (or admin) gets it; Keystone answers 400 (domain_id is immutable). The fuzz pass missed it."""
    _domain_id, token = _domain_manager_token(admin, http)
    headers = auth_headers(token)
    project = http.post(f"{V3}/projects", headers=headers, json={"project": {"name": f"t-{secrets.token_hex(3)}"}})
    assert project.status_code == 201, project.text
    user = http.post(f"{V3}/users", headers=headers, json={"user": {"name": f"u-{secrets.token_hex(3)}"}})
    assert user.status_code == 201, user.text
    group = http.post(f"{V3}/groups", headers=headers, json={"group": {"name": f"g-{secrets.token_hex(3)}"}})
    assert group.status_code == 201, group.text
    patches = (("projects", project.json()["project"]["id"], "project", {"parent_id": "x"}),
               ("users", user.json()["user"]["id"], "user", {"domain_id": "x"}),
               ("groups", group.json()["group"]["id"], "group", {"domain_id": "x"}))
    seen = []
    for collection, ident, key, change in patches:
        patched = http.patch(f"{V3}/{collection}/{ident}", headers=headers, json={key: change})
        listing = admin.client.get(f"{V3}/{collection}")
        seen.append((collection, patched.status_code, listing.status_code))
    assert all(patch < 500 and listing == 200 for _, patch, listing in seen), seen


def test_flavor_size_filters_past_64_bits_are_a_400(server: Server, admin: Admin, http: httpx.Client) -> None:
    """compute/api/resources.py _int_param takes any integer; past 64 bits the database refuses it
    (OverflowError): `GET /flavors/detail?minRam=99999999999999999999999` is a 500 for any user."""
    account = admin.account("member")
    token = _login(http, account.name, account.password, account.project_id)
    for name in ("minRam", "minDisk"):
        for path in ("/compute/v2.1/flavors", "/compute/v2.1/flavors/detail"):
            response = http.get(path, params={name: "9" * 23}, headers=auth_headers(token))
            assert response.status_code == 400, (path, name, response.status_code)
