from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from andromede.common.keyring import InvalidSealedData, Keyring


def test_seal_open_roundtrip_and_associated_data(tmp_path: Path) -> None:
    ring = Keyring(tmp_path)
    sealed = ring.seal_text("secret", b"ctx")
    assert "secret" not in sealed
    assert ring.open_text(sealed, b"ctx") == "secret"
    with pytest.raises(InvalidSealedData):
        ring.open_text(sealed, b"other-ctx")


@pytest.mark.parametrize("mangle", [lambda s: s[:-2], lambda s: s[:10] + ("A" if s[10] != "A" else "B") + s[11:],
                                    lambda s: "", lambda s: "!!!"])
def test_tampered_data_is_refused(tmp_path: Path, mangle) -> None:  # type: ignore[no-untyped-def]
    ring = Keyring(tmp_path)
    with pytest.raises(InvalidSealedData):
        ring.open_text(mangle(ring.seal_text("payload")))


def test_rotation_keeps_old_keys_readable(tmp_path: Path) -> None:
    ring = Keyring(tmp_path, rotate_after_s=60, keep=2)
    old = ring.seal_text("before")
    assert ring.rotate_if_due() is False
    past = time.time() - 3600
    for key in tmp_path.iterdir():
        os.utime(key, (past, past))
    assert ring.rotate_if_due() is True
    assert ring.open_text(old) == "before"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.isdigit()) == ["1", "2"]
    other_process = Keyring(tmp_path)  # another server process picks up the same keys
    assert other_process.open_text(ring.seal_text("after")) == "after"


def test_key_files_are_private(tmp_path: Path) -> None:
    Keyring(tmp_path / "keys")
    (key,) = (tmp_path / "keys").iterdir()
    assert key.stat().st_mode & 0o077 == 0
