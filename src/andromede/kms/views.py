"""Barbican v1 documents: secrets, orders, ACLs, list pages with their navigation hrefs."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from andromede.kms.component import KeyManager
from andromede.kms.models import Order, Secret, SecretAcl


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _stamp(value: datetime) -> str:
    """Barbican's created/updated: always with microseconds (isoformat() drops them when they are zero)."""
    return value.isoformat(timespec="microseconds")


def secret(km: KeyManager, row: Secret, microversion: tuple[int, int]) -> dict:
    doc: dict = {"created": _stamp(row.created_at), "updated": _stamp(row.updated_at), "status": row.status,
                 "name": row.name, "secret_type": row.secret_type, "expiration": _iso(row.expiration),
                 "algorithm": row.algorithm, "bit_length": row.bit_length, "mode": row.mode,
                 "creator_id": row.creator_id}
    if microversion >= (1, 1):
        doc["consumers"] = []
    doc["secret_ref"] = km.secret_ref(row.id)
    if row.content_type is not None:
        doc["content_types"] = {"default": row.content_type}
    return doc


def order(km: KeyManager, row: Order) -> dict:
    doc: dict = {"created": _stamp(row.created_at), "updated": _stamp(row.updated_at), "status": row.status,
                 "type": row.type, "meta": row.meta, "order_ref": km.order_ref(row.id)}
    if row.secret_id:
        doc["secret_ref"] = km.secret_ref(row.secret_id)
    doc["creator_id"] = row.creator_id
    return doc


def acl(row: SecretAcl | None) -> dict:
    if row is None:
        return {"read": {"project-access": True}}
    return {"read": {"project-access": row.project_access, "users": list(row.users),
                     "created": _stamp(row.created_at), "updated": _stamp(row.updated_at)}}


def listing(km: KeyManager, collection: str, items: list[dict], offset: int, limit: int, total: int,
            query: list[tuple[str, str]]) -> dict:
    """Barbican's paged list: the items, `total`, and `previous`/`next` hrefs keeping the caller's filters."""
    doc: dict = {collection: items}
    if items:
        rest = [(k, v) for k, v in query if k not in ("limit", "offset")]

        def href(start: int) -> str:
            tail = f"&{urlencode(rest)}" if rest else ""
            return f"{km.base_url}/{collection}?limit={limit}&offset={start}{tail}"

        if offset > 0:
            doc["previous"] = href(max(0, offset - limit))
        if total > offset + limit:
            doc["next"] = href(offset + limit)
    doc["total"] = total
    return doc
