"""One conformance suite over every master-KEK backend the host allows: the fake twin and the file always, the
PKCS#11 token when SoftHSM2 is installed. Then what only one backend promises (file modes, a key that never leaves
the token)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from andromede.kms.keystore import MasterKey, MasterKeyError
from andromede.kms.keystore.fake import FakeMasterKey
from andromede.kms.keystore.file import FileMasterKey
from tests.support import softhsm

KEY = os.urandom(32)
Opener = Callable[[], MasterKey]


@pytest.fixture(scope="session")
def token(tmp_path_factory: pytest.TempPathFactory) -> softhsm.Token:
    if softhsm.module() is None:
        pytest.skip("softhsm2 is not installed (Debian package softhsm2)")
    made = softhsm.make_token(tmp_path_factory.mktemp("softhsm"))
    # SoftHSM reads its configuration when the module is first loaded: one token for this whole test process.
    os.environ["SOFTHSM2_CONF"] = str(made.conf)
    return made


@pytest.fixture(params=["fake", "file", "pkcs11"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens the same master KEK again each time it is called (a restart)."""
    opened: list[MasterKey] = []
    if request.param == "fake":
        raw = os.urandom(32)

        def open_fake() -> MasterKey:
            return FakeMasterKey(raw)
        make: Opener = open_fake
    elif request.param == "file":
        def open_file() -> MasterKey:
            return FileMasterKey(tmp_path / "kms" / "master-kek")
        make = open_file
    else:
        from andromede.kms.keystore.pkcs11 import Pkcs11MasterKey, read_pin

        token: softhsm.Token = request.getfixturevalue("token")
        label = f"kek-{os.urandom(4).hex()}"

        def open_token() -> MasterKey:
            return Pkcs11MasterKey(str(token.module), read_pin(token.pin_file), token_label=token.label,
                                   key_label=label)
        make = open_token

    def opening() -> MasterKey:
        master = make()
        opened.append(master)
        return master

    yield opening
    for master in opened:
        master.close()


def test_wraps_and_unwraps(opener: Opener) -> None:
    master = opener()
    blob = master.wrap(KEY, b"project-a")
    assert KEY not in blob
    assert master.unwrap(blob, b"project-a") == KEY
    assert master.wrap(KEY, b"project-a") != blob  # a fresh nonce each time


def test_a_wrapped_key_is_bound_to_its_context(opener: Opener) -> None:
    master = opener()
    with pytest.raises(MasterKeyError):
        master.unwrap(master.wrap(KEY, b"project-a"), b"project-b")


def test_a_tampered_blob_does_not_open(opener: Opener) -> None:
    master = opener()
    blob = bytearray(master.wrap(KEY, b"p"))
    blob[-1] ^= 1
    with pytest.raises(MasterKeyError):
        master.unwrap(bytes(blob), b"p")
    with pytest.raises(MasterKeyError):
        master.unwrap(b"short", b"p")


def test_the_same_key_after_a_restart(opener: Opener) -> None:
    first = opener()
    blob = first.wrap(KEY, b"p")
    first.close()
    assert opener().unwrap(blob, b"p") == KEY


def test_the_key_file_is_made_0600(tmp_path: Path) -> None:
    path = tmp_path / "kms" / "master-kek"
    FileMasterKey(path)
    assert path.stat().st_mode & 0o777 == 0o600 and len(path.read_bytes()) == 32


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_a_loose_key_file_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "master-kek"
    FileMasterKey(path)
    path.chmod(mode)
    with pytest.raises(MasterKeyError, match="chmod 600"):
        FileMasterKey(path)


def test_a_truncated_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "master-kek"
    path.write_bytes(b"short")
    path.chmod(0o600)
    with pytest.raises(MasterKeyError):
        FileMasterKey(path)


def test_the_token_key_cannot_leave_the_token(token: softhsm.Token) -> None:
    from pkcs11 import Attribute

    from andromede.kms.keystore.pkcs11 import Pkcs11MasterKey, read_pin

    master = Pkcs11MasterKey(str(token.module), read_pin(token.pin_file), token_label=token.label,
                             key_label="non-extractable")
    try:
        key = master._find_or_make("non-extractable")
        assert key[Attribute.EXTRACTABLE] is False and key[Attribute.SENSITIVE] is True
        with pytest.raises(Exception):  # noqa: B017  (the token refuses to reveal a sensitive value)
            key[Attribute.VALUE]
    finally:
        master.close()


@pytest.mark.parametrize(("extractable", "sensitive", "why"), [
    (True, True, "is extractable:"), (False, False, "is not sensitive:"),
    (True, False, "is extractable and not sensitive:")])
def test_a_key_the_token_would_let_out_is_refused_as_master(token: softhsm.Token, extractable: bool,
                                                              sensitive: bool, why: str) -> None:
    import pkcs11
    from pkcs11 import Attribute, KeyType

    from andromede.kms.keystore.pkcs11 import Pkcs11MasterKey, read_pin

    label = f"planted-{os.urandom(4).hex()}"
    with pkcs11.lib(str(token.module)).get_token(token_label=token.label).open(
            user_pin=read_pin(token.pin_file), rw=True) as session:
        session.generate_key(KeyType.AES, 256, label=label, store=True, template={
            Attribute.EXTRACTABLE: extractable, Attribute.SENSITIVE: sensitive, Attribute.ENCRYPT: True,
            Attribute.DECRYPT: True})
    with pytest.raises(MasterKeyError, match=why):
        Pkcs11MasterKey(str(token.module), read_pin(token.pin_file), token_label=token.label, key_label=label)


def test_a_wrong_pin_or_a_loose_pin_file_is_refused(token: softhsm.Token, tmp_path: Path) -> None:
    from andromede.kms.keystore.pkcs11 import Pkcs11MasterKey, read_pin

    with pytest.raises(MasterKeyError):
        Pkcs11MasterKey(str(token.module), "0000", token_label=token.label)
    loose = tmp_path / "pin"
    loose.write_text("1234")
    loose.chmod(0o644)
    with pytest.raises(MasterKeyError, match="chmod 600"):
        read_pin(loose)
