"""Non-persistent tokens and auth receipts: a compact payload sealed with AES-GCM under rotating keys.

Nothing is stored per token. Validation opens the payload, then checks revocation events and the
current state of the user, project and roles, so a token re-renders to the same body until revoked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from andromede.common.keyring import InvalidSealedData, Keyring

_TOKEN_AD = b"andromede-token-v1"
_RECEIPT_AD = b"andromede-receipt-v1"
MAX_TOKEN_CHARS = 4096


def _to_us(value: datetime) -> int:
    return int(value.replace(tzinfo=UTC).timestamp() * 1_000_000)


def _from_us(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class TokenPayload:
    user_id: str
    methods: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime
    audit_ids: tuple[str, ...]
    project_id: str | None = None
    domain_id: str | None = None
    system: bool = False
    app_cred_id: str | None = None

    @property
    def audit_chain_id(self) -> str:
        return self.audit_ids[-1]

    @property
    def scoped(self) -> bool:
        return bool(self.project_id or self.domain_id or self.system)


@dataclass(frozen=True)
class ReceiptPayload:
    user_id: str
    methods: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime
    extra: dict = field(default_factory=dict)


class InvalidToken(Exception):
    pass


class TokenCodec:
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def encode(self, payload: TokenPayload) -> str:
        doc = {
            "u": payload.user_id, "m": list(payload.methods), "i": _to_us(payload.issued_at),
            "e": _to_us(payload.expires_at), "a": list(payload.audit_ids),
        }
        if payload.project_id:
            doc["p"] = payload.project_id
        if payload.domain_id:
            doc["d"] = payload.domain_id
        if payload.system:
            doc["s"] = 1
        if payload.app_cred_id:
            doc["c"] = payload.app_cred_id
        return self.keyring.seal_text(json.dumps(doc, separators=(",", ":")), _TOKEN_AD)

    def decode(self, token: str) -> TokenPayload:
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise InvalidToken("malformed")
        try:
            doc = json.loads(self.keyring.open_text(token, _TOKEN_AD))
            return TokenPayload(
                user_id=doc["u"], methods=tuple(doc["m"]), issued_at=_from_us(doc["i"]),
                expires_at=_from_us(doc["e"]), audit_ids=tuple(doc["a"]), project_id=doc.get("p"),
                domain_id=doc.get("d"), system=bool(doc.get("s")), app_cred_id=doc.get("c"),
            )
        except (InvalidSealedData, ValueError, KeyError, TypeError) as exc:
            raise InvalidToken("invalid") from exc

    def encode_receipt(self, receipt: ReceiptPayload) -> str:
        doc = {"u": receipt.user_id, "m": list(receipt.methods), "i": _to_us(receipt.issued_at),
               "e": _to_us(receipt.expires_at)}
        return self.keyring.seal_text(json.dumps(doc, separators=(",", ":")), _RECEIPT_AD)

    def decode_receipt(self, receipt: str) -> ReceiptPayload:
        if not receipt or len(receipt) > MAX_TOKEN_CHARS:
            raise InvalidToken("malformed")
        try:
            doc = json.loads(self.keyring.open_text(receipt, _RECEIPT_AD))
            return ReceiptPayload(user_id=doc["u"], methods=tuple(doc["m"]),
                                  issued_at=_from_us(doc["i"]), expires_at=_from_us(doc["e"]))
        except (InvalidSealedData, ValueError, KeyError, TypeError) as exc:
            raise InvalidToken("invalid") from exc
