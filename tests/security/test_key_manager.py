"""Issue 16, deliverable 1: the key manager as a hostile tenant sees it, and what is left on disk.

Another project's member cannot list, read, fill, delete or re-ACL a secret (404, and the owner's view is as it
was); a reader cannot create; bad bodies are refused in Barbican's format with nothing created; a payload never
lies in clear in the database or anywhere under the data dir; the master KEK file must be 0600; with the master
KEK in a SoftHSM2 token the cloud restarts and reads its secrets back; a project KEK rotation keeps them readable.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.support import softhsm
from tests.support.accounts import Account, Admin, auth_headers, cli_as
from tests.support.polling import poll
from tests.support.server import VENV_BIN, Server, free_port

KM = "/key-manager/v1"


def _client(server: Server, account: Account) -> httpx.Client:
    client = server.http()
    client.headers.update(auth_headers(account.token(server)))
    client.headers["OpenStack-API-Version"] = "key-manager 1.1"
    return client


def _store(client: httpx.Client, payload: str, **extra: object) -> str:
    response = client.post(f"{KM}/secrets", json={"payload": payload, "payload_content_type": "text/plain",
                                                   **extra})
    assert response.status_code == 201, response.text
    return response.json()["secret_ref"].rsplit("/", 1)[1]


def _state(client: httpx.Client, secret_id: str) -> tuple[dict, dict, bytes]:
    meta = client.get(f"{KM}/secrets/{secret_id}")
    acl = client.get(f"{KM}/secrets/{secret_id}/acl")
    payload = client.get(f"{KM}/secrets/{secret_id}/payload", headers={"Accept": "text/plain"})
    assert meta.status_code == acl.status_code == payload.status_code == 200
    return meta.json(), acl.json(), payload.content


def _barbican_404(response: httpx.Response) -> None:
    assert response.status_code == 404, response.text
    body = response.json()
    assert set(body) == {"code", "title", "description"} and body["code"] == 404


def test_another_project_cannot_touch_a_secret(server: Server, admin: Admin, tmp_path: Path) -> None:
    owner, intruder = admin.account("member"), admin.account("member")
    with _client(server, owner) as mine, _client(server, intruder) as theirs:
        secret_id = _store(mine, "owner-only", name="theirs")
        mine.put(f"{KM}/secrets/{secret_id}/acl", json={"read": {"users": [owner.user_id]}})
        empty_id = mine.post(f"{KM}/secrets", json={"name": "empty"}).json()["secret_ref"].rsplit("/", 1)[1]
        before = _state(mine, secret_id)

        listed = theirs.get(f"{KM}/secrets")
        assert listed.status_code == 200 and listed.json()["total"] == 0
        _barbican_404(theirs.get(f"{KM}/secrets/{secret_id}"))
        _barbican_404(theirs.get(f"{KM}/secrets/{secret_id}/payload", headers={"Accept": "text/plain"}))
        _barbican_404(theirs.get(f"{KM}/secrets/{secret_id}", headers={"Accept": "text/plain"}))
        _barbican_404(theirs.delete(f"{KM}/secrets/{secret_id}"))
        _barbican_404(theirs.get(f"{KM}/secrets/{secret_id}/acl"))
        _barbican_404(theirs.put(f"{KM}/secrets/{secret_id}/acl", json={"read": {"users": [intruder.user_id]}}))
        _barbican_404(theirs.patch(f"{KM}/secrets/{secret_id}/acl",
                                   json={"read": {"users": [intruder.user_id], "project-access": True}}))
        _barbican_404(theirs.delete(f"{KM}/secrets/{secret_id}/acl"))
        _barbican_404(theirs.put(f"{KM}/secrets/{empty_id}", content=b"planted",
                                 headers={"Content-Type": "text/plain"}))
        # The same with the real CLI.
        cli = cli_as(server, intruder, tmp_path)
        ref = f"{server.base_url}{KM}/secrets/{secret_id}"
        for args in (("secret", "get", ref), ("secret", "get", ref, "--payload"), ("secret", "delete", ref),
                     ("acl", "user", "add", "--user", intruder.user_id, ref), ("acl", "delete", ref)):
            result = cli(*args, check=False)
            assert result.returncode != 0 and "Not Found" in result.stderr, (args, result.stderr)

        assert _state(mine, secret_id) == before
        assert mine.get(f"{KM}/secrets/{empty_id}").json().get("content_types") is None


def test_an_order_of_another_project_is_404(server: Server, admin: Admin) -> None:
    owner, intruder = admin.account("member"), admin.account("member")
    with _client(server, owner) as mine, _client(server, intruder) as theirs:
        order = mine.post(f"{KM}/orders", json={"type": "key", "meta": {"algorithm": "aes", "bit_length": 128}})
        assert order.status_code == 202, order.text
        order_id = order.json()["order_ref"].rsplit("/", 1)[1]
        _barbican_404(theirs.get(f"{KM}/orders/{order_id}"))
        _barbican_404(theirs.delete(f"{KM}/orders/{order_id}"))
        assert theirs.get(f"{KM}/orders").json()["total"] == 0
        assert mine.get(f"{KM}/orders/{order_id}").json()["status"] == "ACTIVE"


def test_a_reader_reads_but_cannot_create_or_delete(server: Server, admin: Admin) -> None:
    member = admin.account("member")
    project = (member.project_id, member.project_name)
    reader = admin.account("reader", project)
    with _client(server, member) as mine, _client(server, reader) as readers:
        secret_id = _store(mine, "readable-metadata")
        refused = readers.post(f"{KM}/secrets", json={"payload": "x", "payload_content_type": "text/plain"})
        assert refused.status_code == 403 and refused.json()["code"] == 403
        assert readers.post(f"{KM}/orders", json={"type": "key", "meta": {"algorithm": "aes",
                                                                          "bit_length": 256}}).status_code == 403
        assert readers.get(f"{KM}/secrets").json()["total"] == 1
        assert readers.get(f"{KM}/secrets/{secret_id}").status_code == 200
        assert readers.get(f"{KM}/secrets/{secret_id}/payload").status_code == 403
        assert readers.delete(f"{KM}/secrets/{secret_id}").status_code == 403
        assert mine.get(f"{KM}/secrets").json()["total"] == 1


def test_a_private_secret_is_its_creators(server: Server, admin: Admin) -> None:
    creator = admin.account("member")
    colleague = admin.account("member", (creator.project_id, creator.project_name))
    with _client(server, creator) as mine, _client(server, colleague) as theirs:
        secret_id = _store(mine, "private")
        assert mine.put(f"{KM}/secrets/{secret_id}/acl", json={"read": {"project-access": False}}).status_code == 200
        assert theirs.get(f"{KM}/secrets/{secret_id}/payload").status_code == 403
        assert theirs.delete(f"{KM}/secrets/{secret_id}").status_code == 403
        assert mine.get(f"{KM}/secrets/{secret_id}/payload").content == b"private"


@pytest.mark.parametrize(("body", "status"), [
    ({"payload": "x" * 10001, "payload_content_type": "text/plain"}, 413),
    ({"payload": "not base64!", "payload_content_type": "application/octet-stream",
      "payload_content_encoding": "base64"}, 400),
    ({"payload": "x", "payload_content_type": "application/x-unknown"}, 400),
    ({"payload": "x", "payload_content_type": "text/plain", "expiration": "2000-01-01T00:00:00Z"}, 400),
    ({"payload": "x", "payload_content_type": "text/plain", "secret_type": "weapon"}, 400),
    ({"payload": "", "payload_content_type": "text/plain"}, 400),
])
def test_bad_secrets_are_refused_and_nothing_is_made(server: Server, admin: Admin, body: dict, status: int) -> None:
    with _client(server, admin.account("member")) as client:
        response = client.post(f"{KM}/secrets", json=body)
        assert response.status_code == status, response.text
        error = response.json()
        assert set(error) == {"code", "title", "description"} and error["code"] == status
        assert "x" * 50 not in response.text  # the payload is not echoed back
        assert client.get(f"{KM}/secrets").json()["total"] == 0


@pytest.mark.parametrize("meta", [
    {"algorithm": "aes", "bit_length": 100}, {"algorithm": "aes", "bit_length": 1024},
    {"algorithm": "aes", "bit_length": "256"}, {"algorithm": "rsa", "bit_length": 2048},
    {"algorithm": "aes", "bit_length": 256, "expiration": "2001-01-01T00:00:00"},
])
def test_bad_orders_are_refused_and_nothing_is_made(server: Server, admin: Admin, meta: dict) -> None:
    with _client(server, admin.account("member")) as client:
        response = client.post(f"{KM}/orders", json={"type": "key", "meta": meta})
        assert response.status_code == 400 and response.json()["code"] == 400, response.text
        assert client.get(f"{KM}/orders").json()["total"] == 0
        assert client.get(f"{KM}/secrets").json()["total"] == 0


def test_bad_payload_puts(server: Server, admin: Admin) -> None:
    with _client(server, admin.account("member")) as client:
        empty = client.post(f"{KM}/secrets", json={"name": "later"}).json()["secret_ref"].rsplit("/", 1)[1]
        assert client.put(f"{KM}/secrets/{empty}", content=b"x", headers={"Content-Type": "application/json"}
                          ).status_code == 415
        assert client.put(f"{KM}/secrets/{empty}", content=b"x" * 10001, headers={"Content-Type": "text/plain"}
                          ).status_code == 413
        assert client.put(f"{KM}/secrets/{empty}", content=b"%%%", headers={
            "Content-Type": "application/octet-stream", "Content-Encoding": "base64"}).status_code == 400
        assert client.get(f"{KM}/secrets/{empty}").json().get("content_types") is None
        assert client.put(f"{KM}/secrets/{empty}", content=b"filled", headers={"Content-Type": "text/plain"}
                          ).status_code == 204
        assert client.put(f"{KM}/secrets/{empty}", content=b"again", headers={"Content-Type": "text/plain"}
                          ).status_code == 409
        assert client.get(f"{KM}/secrets/{empty}/payload").content == b"filled"


def _files_holding(root: Path, needle: bytes) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and needle in path.read_bytes()]


def test_no_payload_in_clear_on_disk(server: Server, admin: Admin) -> None:
    canary = f"kms-canary-{secrets.token_hex(12)}"
    binary = os.urandom(24)
    with _client(server, admin.account("member")) as client:
        text_id = _store(client, canary)
        client.post(f"{KM}/secrets", json={"payload": base64.b64encode(binary).decode(),
                                           "payload_content_type": "application/octet-stream",
                                           "payload_content_encoding": "base64"})
        assert client.get(f"{KM}/secrets/{text_id}/payload").content == canary.encode()
    # Every file under the data dir: the SQLite database and its journal, keys, logs of the agent...
    for needle in (canary.encode(), base64.b64encode(canary.encode()), binary, base64.b64encode(binary)):
        assert _files_holding(server.data_dir, needle) == []
    assert server.log_path is not None and canary.encode() not in server.log_path.read_bytes()
    master = server.data_dir / "kms" / "master-kek"
    assert master.stat().st_mode & 0o777 == 0o600


def test_rotation_keeps_every_secret_readable(fresh_server: Server, tmp_path: Path) -> None:
    helper = Admin(fresh_server)
    account = helper.account("member")
    with _client(fresh_server, account) as client:
        ids = [_store(client, f"value-{n}") for n in range(3)]
        env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
        rotated = subprocess.run([str(VENV_BIN / "andromede"), "kms", "rotate-project-kek", account.project_id,
                                  "--data-dir", str(fresh_server.data_dir)], capture_output=True, text=True,
                                 env=env, timeout=60, check=False)
        assert rotated.returncode == 0, rotated.stderr
        assert "3 DEK(s) re-wrapped" in rotated.stdout
        assert [client.get(f"{KM}/secrets/{i}/payload").content for i in ids] == [b"value-0", b"value-1",
                                                                                 b"value-2"]
    helper.client.close()


def test_a_loose_master_key_file_stops_the_start(fresh_server: Server) -> None:
    fresh_server.stop()
    (fresh_server.data_dir / "kms" / "master-kek").chmod(0o644)
    with pytest.raises(RuntimeError, match="chmod 600"):
        fresh_server.start(timeout=30)


def test_master_kek_in_softhsm_survives_a_restart(tmp_path: Path) -> None:
    if softhsm.module() is None:
        pytest.skip("softhsm2 is not installed (Debian package softhsm2; `make` installs it)")
    token = softhsm.make_token(tmp_path / "hsm")
    cloud = Server(data_dir=tmp_path / "data", port=free_port(), env=token.settings_env())
    cloud.start()
    try:
        account = Admin(cloud).account("member")
        with _client(cloud, account) as client:
            secret_id = _store(client, "sealed-in-the-token")
        assert not (cloud.data_dir / "kms" / "master-kek").exists()
        cloud.stop()
        cloud.start()
        with _client(cloud, account) as client:
            payload = client.get(f"{KM}/secrets/{secret_id}/payload")
            assert payload.status_code == 200 and payload.content == b"sealed-in-the-token"
        assert _files_holding(cloud.data_dir, b"sealed-in-the-token") == []
    finally:
        cloud.stop()
    # Without the token, the same data dir does not start: nothing on disk opens the secrets.
    broken = {**token.settings_env(), "ANDROMEDE_KMS_PKCS11_TOKEN_LABEL": "no-such-token"}
    cloud.env = broken
    with pytest.raises(RuntimeError):
        cloud.start(timeout=30)


def test_deleting_a_secret_gives_a_certificate_that_verifies_offline(server: Server, admin: Admin,
                                                                     tmp_path: Path) -> None:
    owner, intruder = admin.account("member"), admin.account("member")
    cli = cli_as(server, owner, tmp_path)
    canary = f"shred-me-{secrets.token_hex(8)}"
    ref = json.loads(cli("secret", "store", "--payload", canary, "-f", "json").stdout)["Secret href"]
    secret_id = ref.rsplit("/", 1)[1]
    with _client(server, owner) as mine, _client(server, intruder) as theirs:
        assert mine.get(f"{KM}/deletion-certificates/{secret_id}").status_code == 404
        cli("secret", "delete", ref)
        _barbican_404(theirs.get(f"{KM}/deletion-certificates/{secret_id}"))
        response = mine.get(f"{KM}/deletion-certificates/{secret_id}")
        assert response.status_code == 200, response.text
    certificate = response.json()
    assert certificate["statement"]["resource"] == {"type": "secret", "id": secret_id,
                                                    "project_id": owner.project_id}
    assert canary not in response.text
    path = tmp_path / "certificate.json"
    path.write_text(response.text)

    def check(file: Path) -> subprocess.CompletedProcess:
        return subprocess.run([str(VENV_BIN / "andromede"), "verify-certificate", str(file), "--public-key",
                               str(server.data_dir / "kms" / "certificate-signing-key.pub.pem")],
                              capture_output=True, text=True, timeout=60, check=False)

    verified = check(path)
    assert verified.returncode == 0 and verified.stdout.startswith("VALID") and secret_id in verified.stdout
    certificate["statement"]["resource"]["project_id"] = intruder.project_id
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(certificate))
    refused = check(forged)
    assert refused.returncode == 1 and "INVALID" in refused.stderr


def test_metadata_of_another_projects_secret_is_404(server: Server, admin: Admin) -> None:
    owner, intruder = admin.account("member"), admin.account("member")
    with _client(server, owner) as mine, _client(server, intruder) as theirs:
        secret_id = _store(mine, "with-metadata")
        meta = f"{KM}/secrets/{secret_id}/metadata"
        assert mine.put(meta, json={"metadata": {"Env": "prod"}}).status_code == 201
        _barbican_404(theirs.get(meta))
        _barbican_404(theirs.put(meta, json={"metadata": {"env": "planted"}}))
        _barbican_404(theirs.post(meta, json={"key": "x", "value": "y"}))
        _barbican_404(theirs.get(f"{meta}/env"))
        _barbican_404(theirs.put(f"{meta}/env", json={"key": "env", "value": "planted"}))
        _barbican_404(theirs.delete(f"{meta}/env"))
        assert mine.get(meta).json() == {"metadata": {"env": "prod"}}
        assert mine.put(meta, json={"metadata": {"env": 5}}).status_code == 400
        assert mine.get(meta).json() == {"metadata": {"env": "prod"}}


def test_an_expired_secret_is_gone_to_reads_but_its_owner_can_still_shred_it(server: Server, admin: Admin) -> None:
    owner = admin.account("member")
    with _client(server, owner) as mine:
        soon = (datetime.now(UTC) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S")
        secret_id = _store(mine, "expiring", expiration=soon)
        poll(lambda: mine.get(f"{KM}/secrets/{secret_id}").status_code == 404, what="the secret to expire")
        _barbican_404(mine.get(f"{KM}/secrets/{secret_id}/payload", headers={"Accept": "text/plain"}))
        assert mine.delete(f"{KM}/secrets/{secret_id}").status_code == 204
        assert mine.get(f"{KM}/deletion-certificates/{secret_id}").status_code == 200
        _barbican_404(mine.delete(f"{KM}/secrets/{secret_id}"))


def test_paging_far_past_the_end_is_an_empty_page(server: Server, admin: Admin) -> None:
    with _client(server, admin.account("member")) as mine:
        for collection in ("secrets", "orders"):
            for offset in ("99999999999999999999999", str(2**63)):
                response = mine.get(f"{KM}/{collection}?offset={offset}&limit=5")
                assert response.status_code == 200, response.text
                assert response.json()[collection] == []
