"""The key hierarchy on a real (temporary) database with the fake master KEK: nothing stored opens without the
level above it, and a project KEK rotation leaves every secret readable."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

import andromede.registry  # noqa: F401  (every service's tables, for create_all)
from andromede.common.config import Settings
from andromede.db.base import Base
from andromede.db.engine import Database
from andromede.kms import for_services, keys
from andromede.kms.component import KeyManager
from andromede.kms.keystore import MasterKeyError
from andromede.kms.keystore.fake import FakeMasterKey
from andromede.kms.models import ProjectKek, Secret

CANARY = b"canary-payload-0123456789"


@pytest.fixture()
def km(tmp_path: Path) -> KeyManager:
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    Base.metadata.create_all(db.engine)
    return KeyManager(Settings(data_dir=tmp_path), db, FakeMasterKey())


def _store(km: KeyManager, project: str, payload: bytes = CANARY) -> str:
    with km.db.session() as session:
        sealed_id = f"00000000-0000-4000-8000-{len(session.scalars(select(Secret)).all()):012d}"
        sealed = keys.seal_payload(session, km.master, project, sealed_id, payload)
        session.add(Secret(id=sealed_id, project_id=project, creator_id="u", wrapped_dek=sealed.wrapped_dek,
                           ciphertext=sealed.ciphertext, content_type="application/octet-stream"))
    return sealed_id


def _read(km: KeyManager, secret_id: str) -> bytes:
    with km.db.session() as session:
        secret = session.get(Secret, secret_id)
        assert secret is not None
        return keys.open_payload(session, km.master, secret)


def test_a_project_kek_is_made_once_and_stored_wrapped(km: KeyManager) -> None:
    with km.db.session() as session:
        kek, generation = keys.project_kek(session, km.master, "p1")
        again, _ = keys.project_kek(session, km.master, "p1")
        other, _ = keys.project_kek(session, km.master, "p2")
    assert kek == again and kek != other and generation == 1
    with km.db.session() as session:
        row = session.get(ProjectKek, "p1")
        assert row is not None and kek not in row.wrapped_key and row.backend == "fake"


def test_payloads_are_sealed_and_read_back(km: KeyManager) -> None:
    secret_id = _store(km, "p1")
    with km.db.session() as session:
        row = session.get(Secret, secret_id)
        assert row is not None and row.ciphertext is not None and row.wrapped_dek is not None
        assert CANARY not in row.ciphertext
    assert _read(km, secret_id) == CANARY


def test_a_sealed_payload_moved_to_another_project_does_not_open(km: KeyManager) -> None:
    secret_id = _store(km, "p1")
    with km.db.session() as session:
        row = session.get(Secret, secret_id)
        assert row is not None
        row.project_id = "p2"
    with pytest.raises(keys.KeyUnavailable):
        _read(km, secret_id)


def test_another_master_key_opens_nothing(km: KeyManager) -> None:
    secret_id = _store(km, "p1")
    stranger = KeyManager(km.settings, km.db, FakeMasterKey())
    with stranger.db.session() as session, pytest.raises(MasterKeyError):
        secret = session.get(Secret, secret_id)
        assert secret is not None
        keys.open_payload(session, stranger.master, secret)


def test_rotation_rewraps_the_project_deks_only(km: KeyManager) -> None:
    mine = [_store(km, "p1", b"one"), _store(km, "p1", b"two")]
    theirs = _store(km, "p2", b"three")
    with km.db.session() as session:
        before = {s.id: (s.wrapped_dek, s.ciphertext) for s in session.scalars(select(Secret))}
        old_kek, _ = keys.project_kek(session, km.master, "p1")
    with km.db.session() as session:
        assert keys.rotate_project_kek(session, km.master, "p1") == 2
    with km.db.session() as session:
        after = {s.id: (s.wrapped_dek, s.ciphertext) for s in session.scalars(select(Secret))}
        new_kek, generation = keys.project_kek(session, km.master, "p1")
    assert new_kek != old_kek and generation == 2
    for secret_id in mine:
        assert after[secret_id][0] != before[secret_id][0]  # DEK re-wrapped
        assert after[secret_id][1] == before[secret_id][1]  # payload untouched
    assert after[theirs] == before[theirs]
    assert [_read(km, s) for s in [*mine, theirs]] == [b"one", b"two", b"three"]


def test_the_volume_service_api(km: KeyManager) -> None:
    with km.db.session() as session:
        key_id = for_services.create_key(session, km, "p1", "u", bit_length=512)
    with km.db.session() as session:
        key = for_services.key_bytes(session, km, "p1", key_id)
        assert len(key) == 64
        with pytest.raises(Exception, match="not found"):
            for_services.key_bytes(session, km, "p2", key_id)
    with km.db.session() as session:
        keys.rotate_project_kek(session, km.master, "p1")
    with km.db.session() as session:
        assert for_services.key_bytes(session, km, "p1", key_id) == key
        assert for_services.destroy_key(session, km, "p1", key_id) is None
    with km.db.session() as session:
        assert session.get(Secret, key_id) is None


def test_a_transferred_key_opens_under_the_new_project_only(km: KeyManager) -> None:
    with km.db.session() as session:
        key_id = for_services.create_key(session, km, "giver", "u", bit_length=512)
    with km.db.session() as session:
        key = for_services.key_bytes(session, km, "giver", key_id)
        wrapped_before = session.get(Secret, key_id).wrapped_dek  # type: ignore[union-attr]
    with km.db.session() as session:
        for_services.transfer_key(session, km, "someone-else", key_id, "thief")  # not theirs to give: no-op
    with km.db.session() as session:
        assert session.get(Secret, key_id).project_id == "giver"  # type: ignore[union-attr]
        for_services.transfer_key(session, km, "giver", key_id, "taker")
    with km.db.session() as session:
        secret = session.get(Secret, key_id)
        assert secret is not None and secret.project_id == "taker" and secret.wrapped_dek != wrapped_before
        assert for_services.key_bytes(session, km, "taker", key_id) == key
        with pytest.raises(Exception, match="not found"):
            for_services.key_bytes(session, km, "giver", key_id)
        # The giver's KEK no longer opens the DEK: rotating or destroying it cannot reach the taker's volume.
        giver_kek, _ = keys.project_kek(session, km.master, "giver")
        with pytest.raises(keys.KeyUnavailable):
            keys._open(giver_kek, secret.wrapped_dek, keys._secret_context(key_id))  # type: ignore[arg-type]
