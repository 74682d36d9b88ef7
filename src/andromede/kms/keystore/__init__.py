"""Where the master KEK lives, behind one small interface (base.py): a 0600 file in the data dir by default
(file.py), a PKCS#11 token (pkcs11.py), or memory for tests (fake.py). `open_master_key` picks one from the
settings."""

from __future__ import annotations

from andromede.common.config import Settings
from andromede.kms.keystore.base import MasterKey, MasterKeyError


def open_master_key(settings: Settings) -> MasterKey:
    if settings.kms_master_key == "pkcs11":
        from andromede.kms.keystore.pkcs11 import Pkcs11MasterKey

        return Pkcs11MasterKey.from_settings(settings)
    if settings.kms_master_key == "file":
        from andromede.kms.keystore.file import FileMasterKey

        return FileMasterKey(settings.data_dir / "kms" / "master-kek")
    raise MasterKeyError(f"Unknown kms_master_key {settings.kms_master_key!r}: expected 'file' or 'pkcs11'.")


__all__ = ["MasterKey", "MasterKeyError", "open_master_key"]
