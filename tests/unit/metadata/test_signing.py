"""The instance signature: HMAC-SHA256 over the id, checked in constant time; the secret made once, 0600."""

from __future__ import annotations

import hashlib
import hmac
import stat
from pathlib import Path

import pytest

from andromede.contracts import metadata as signing

SECRET = bytes(range(32))
INSTANCE = "6d6c2b8e-4a7b-4a53-9a1e-0b6f7d1f0a11"


def test_signature_is_hex_hmac_sha256_of_the_instance_id() -> None:
    expected = hmac.new(SECRET, INSTANCE.encode(), hashlib.sha256).hexdigest()
    assert signing.sign(SECRET, INSTANCE) == expected
    assert signing.verify(SECRET, INSTANCE, expected)


@pytest.mark.parametrize("instance, signature", [
    (INSTANCE, None), (INSTANCE, ""), (None, "00"), ("", "00"),
    (INSTANCE, "0" * 64), (INSTANCE, signing.sign(SECRET, INSTANCE).upper()),
    (INSTANCE, signing.sign(SECRET, INSTANCE)[:-1]), (INSTANCE, signing.sign(b"x" * 32, INSTANCE)),
    ("another-instance", signing.sign(SECRET, INSTANCE)), (INSTANCE, "é" * 64),
])
def test_anything_but_the_exact_signature_is_refused(instance: str | None, signature: str | None) -> None:
    assert not signing.verify(SECRET, instance, signature)


def test_no_secret_verifies_nothing() -> None:
    assert not signing.verify(None, INSTANCE, signing.sign(SECRET, INSTANCE))
    assert not signing.verify(b"", INSTANCE, signing.sign(b"", INSTANCE))


def test_the_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(signing.hmac, "compare_digest", recording)
    assert signing.verify(SECRET, INSTANCE, signing.sign(SECRET, INSTANCE))
    assert not signing.verify(SECRET, INSTANCE, "f" * 64)
    assert len(calls) == 2


def test_secret_is_made_once_private_and_kept(tmp_path: Path) -> None:
    first = signing.ensure_secret(tmp_path)
    path = tmp_path / signing.SECRET_FILE
    assert len(first) == signing.SECRET_BYTES and path.read_bytes() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert signing.ensure_secret(tmp_path) == first
    assert [p.name for p in tmp_path.iterdir()] == [signing.SECRET_FILE]  # no temporary left behind


def test_agent_config_carries_the_secret_as_hex() -> None:
    assert signing.secret_from_config({signing.AGENT_CONFIG_KEY: SECRET.hex()}) == SECRET
    assert signing.secret_from_config({}) is None
    with pytest.raises(ValueError):
        signing.secret_from_config({signing.AGENT_CONFIG_KEY: "abcd"})
