from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from andromede.common.clock import utcnow
from andromede.common.keyring import Keyring
from andromede.identity.tokens import InvalidToken, ReceiptPayload, TokenCodec, TokenPayload


def _payload(**overrides) -> TokenPayload:  # type: ignore[no-untyped-def]
    now = utcnow()
    fields = {"user_id": "u1", "methods": ("password",), "issued_at": now,
              "expires_at": now + timedelta(hours=1), "audit_ids": ("a" * 22,), "project_id": "p1"}
    return TokenPayload(**{**fields, **overrides})


def test_roundtrip_keeps_every_field_to_the_microsecond(tmp_path: Path) -> None:
    codec = TokenCodec(Keyring(tmp_path))
    payload = _payload(app_cred_id="c1", audit_ids=("a" * 22, "b" * 22))
    decoded = codec.decode(codec.encode(payload))
    assert decoded == payload
    assert decoded.audit_chain_id == "b" * 22


def test_scopes(tmp_path: Path) -> None:
    codec = TokenCodec(Keyring(tmp_path))
    assert codec.decode(codec.encode(_payload(project_id=None, system=True))).system
    assert codec.decode(codec.encode(_payload(project_id=None, domain_id="d"))).domain_id == "d"
    assert not codec.decode(codec.encode(_payload(project_id=None))).scoped


def test_receipts_and_tokens_are_not_interchangeable(tmp_path: Path) -> None:
    codec = TokenCodec(Keyring(tmp_path))
    now = utcnow()
    receipt = codec.encode_receipt(ReceiptPayload("u1", ("password",), now, now + timedelta(minutes=5)))
    with pytest.raises(InvalidToken):
        codec.decode(receipt)
    with pytest.raises(InvalidToken):
        codec.decode_receipt(codec.encode(_payload()))


def test_other_installations_tokens_are_refused(tmp_path: Path) -> None:
    ours, theirs = TokenCodec(Keyring(tmp_path / "a")), TokenCodec(Keyring(tmp_path / "b"))
    with pytest.raises(InvalidToken):
        ours.decode(theirs.encode(_payload()))
    with pytest.raises(InvalidToken):
        ours.decode("x" * 10_000)
