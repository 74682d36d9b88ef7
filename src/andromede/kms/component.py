"""The key manager as the server holds it: the master KEK (opened once at start) and the settings its rules read.
Provided to the other services through the assembly's components (the volume service asks for it by type)."""

from __future__ import annotations

from dataclasses import dataclass

from andromede.common.config import Settings
from andromede.db.engine import Database
from andromede.kms.certificates import Signer
from andromede.kms.keystore import MasterKey


@dataclass(frozen=True)
class KeyManager:
    settings: Settings
    db: Database
    master: MasterKey
    # Signs a deletion certificate for each key destroyed (None: none are issued, as in unit tests).
    signer: Signer | None = None

    @property
    def base_url(self) -> str:
        return self.settings.base_url + "/key-manager/v1"

    def secret_ref(self, secret_id: str) -> str:
        return f"{self.base_url}/secrets/{secret_id}"

    def order_ref(self, order_id: str) -> str:
        return f"{self.base_url}/orders/{order_id}"
