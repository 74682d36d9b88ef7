"""The master KEK in a PKCS#11 token (an HSM; SoftHSM2 in tests): a non-extractable AES-256 key that seals and
opens project KEKs inside the token, with AES-GCM. Its bytes never leave the token.

Configured with the module's path, the token's label (or slot id) and a file holding the user PIN (0600, like the
file backend's key): the PIN is never a setting's value, so it is in no environment or command line."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path
from typing import cast

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import MultipleObjectsReturned, NoSuchKey, PKCS11Error
from pkcs11.mechanisms import GCMParams
from pkcs11.types import DecryptMixin, EncryptMixin, Key

from andromede.common.config import Settings
from andromede.kms.keystore.base import MasterKeyError

_NONCE = 12


def read_pin(path: Path) -> str:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise MasterKeyError(f"The PKCS#11 PIN file {path} has mode {mode:04o}: it must be readable by its "
                                 "owner only (chmod 600).")
        return path.read_text().strip()
    except OSError as exc:
        raise MasterKeyError(f"Cannot read the PKCS#11 PIN file {path}: {exc.strerror}.") from None


class Pkcs11MasterKey:
    backend = "pkcs11"

    def __init__(self, module: str, pin: str, *, token_label: str = "", slot: int | None = None,
                 key_label: str = "andromede-master-kek") -> None:
        self._lock = threading.Lock()
        try:
            lib = pkcs11.lib(module)
            if slot is not None:
                token = next(s for s in lib.get_slots(token_present=True) if s.slot_id == slot).get_token()
            else:
                token = lib.get_token(token_label=token_label)
            self._session = token.open(user_pin=pin, rw=True)
        except StopIteration:
            raise MasterKeyError(f"No token in PKCS#11 slot {slot}.") from None
        except (PKCS11Error, RuntimeError) as exc:
            raise MasterKeyError(f"Cannot open the PKCS#11 token ({type(exc).__name__}).") from None
        self._open = True
        try:
            key = self._find_or_make(key_label)
        except BaseException:
            self.close()  # logged out, so the next open (a corrected start) is not refused as already logged in
            raise
        # The token's AES keys are both (python-pkcs11 builds their class from the key's capabilities).
        self._encrypting, self._decrypting = cast(EncryptMixin, key), cast(DecryptMixin, key)

    @classmethod
    def from_settings(cls, settings: Settings) -> Pkcs11MasterKey:
        if not settings.kms_pkcs11_module or not settings.kms_pkcs11_pin_file:
            raise MasterKeyError("kms_master_key=pkcs11 needs kms_pkcs11_module and kms_pkcs11_pin_file.")
        if not settings.kms_pkcs11_token_label and settings.kms_pkcs11_slot is None:
            raise MasterKeyError("kms_master_key=pkcs11 needs kms_pkcs11_token_label or kms_pkcs11_slot.")
        return cls(settings.kms_pkcs11_module, read_pin(Path(settings.kms_pkcs11_pin_file)),
                   token_label=settings.kms_pkcs11_token_label, slot=settings.kms_pkcs11_slot,
                   key_label=settings.kms_pkcs11_key_label)

    def _find_or_make(self, label: str) -> Key:
        """The token's key under `label`, made when there is none. A key already there is used only if the token
        keeps it in: non-extractable and sensitive, as the keys made here are (one planted by someone else, or
        imported from elsewhere, might have a copy outside the token, or be read out of it)."""
        try:
            key = self._session.get_key(object_class=ObjectClass.SECRET_KEY, key_type=KeyType.AES, label=label)
        except NoSuchKey:
            key = self._session.generate_key(KeyType.AES, 256, label=label, store=True, template={
                Attribute.EXTRACTABLE: False, Attribute.SENSITIVE: True, Attribute.ENCRYPT: True,
                Attribute.DECRYPT: True})
        except MultipleObjectsReturned:
            raise MasterKeyError(f"The PKCS#11 token holds more than one AES key labelled {label!r}: keep one, or "
                                 "set kms_pkcs11_key_label to another label.") from None
        loose = [name for name, attribute, wanted in (("extractable", Attribute.EXTRACTABLE, False),
                                                      ("not sensitive", Attribute.SENSITIVE, True))
                 if key[attribute] is not wanted]
        if loose:
            raise MasterKeyError(f"The PKCS#11 key labelled {label!r} is {' and '.join(loose)}: its value could "
                                 "leave the token, so it cannot be the master key. Use a key made with "
                                 "CKA_EXTRACTABLE false and CKA_SENSITIVE true, or a label the token does not hold "
                                 "yet (one is made so).")
        return key

    def wrap(self, key: bytes, context: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        with self._lock:
            sealed = self._encrypting.encrypt(key, mechanism=Mechanism.AES_GCM,
                                              mechanism_param=GCMParams(nonce, context))
        assert isinstance(sealed, bytes)  # one buffer in, one out (an iterable in would stream chunks)
        return nonce + sealed

    def unwrap(self, blob: bytes, context: bytes) -> bytes:
        try:
            with self._lock:
                clear = self._decrypting.decrypt(blob[_NONCE:], mechanism=Mechanism.AES_GCM,
                                                 mechanism_param=GCMParams(blob[:_NONCE], context))
        except (PKCS11Error, RuntimeError):
            raise MasterKeyError("A wrapped key did not open in the PKCS#11 token.") from None
        assert isinstance(clear, bytes)
        return clear

    def close(self) -> None:
        with self._lock:
            if self._open:
                self._open = False
                self._session.close()
