"""Deletion certificates: signed by the installation's Ed25519 key, checked offline, any change detected."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from andromede.kms.certificates import Signer, key_id_digest, load_public_key, verify
from andromede.kms.keystore import MasterKeyError


def test_a_certificate_verifies_and_any_change_breaks_it(tmp_path: Path) -> None:
    signer = Signer.load_or_create(tmp_path, "https://cloud.example")
    document = signer.issue("secret", "s-1", "p-1", "dek", "s-1")
    assert document["statement"]["key"]["id_digest"] == key_id_digest("dek", "s-1")
    assert "s-1" not in document["statement"]["key"]["id_digest"]
    public = load_public_key(tmp_path / "certificate-signing-key.pub.pem")
    assert verify(document, public) is None
    for path, value in ((("resource", "id"), "s-2"), (("deleted_at",), "2000-01-01T00:00:00Z"),
                        (("method",), "overwritten")):
        forged = copy.deepcopy(document)
        target = forged["statement"]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        assert verify(forged, public) is not None
    assert verify(document, Ed25519PrivateKey.generate().public_key()) is not None
    assert verify({"statement": "x"}, public) is not None


def test_the_signing_key_is_kept_and_must_be_0600(tmp_path: Path) -> None:
    first = Signer.load_or_create(tmp_path, "x")
    again = Signer.load_or_create(tmp_path, "x")
    assert verify(first.issue("secret", "a", "p", "dek", "a"), again.private.public_key()) is None
    key = tmp_path / "certificate-signing-key.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    key.chmod(0o644)
    with pytest.raises(MasterKeyError):
        Signer.load_or_create(tmp_path, "x")
