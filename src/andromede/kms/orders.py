"""Orders: Barbican generates a secret for the caller. Only `key` orders (AES 128/192/256) are served; the key is
made at once, so an order answers ACTIVE with its secret_ref on its first GET."""

from __future__ import annotations

import os
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from andromede.common.clock import utcnow
from andromede.common.context import RequestContext
from andromede.common.errors import NotFound
from andromede.kms import secrets
from andromede.kms.component import KeyManager
from andromede.kms.models import Order
from andromede.kms.schemas import KeyOrder, SecretFields


def create(session: Session, km: KeyManager, project_id: str, creator_id: str, order: KeyOrder) -> Order:
    bits = order.secret.bit_length or 256
    fields = SecretFields(name=order.secret.name, type="symmetric", algorithm=order.secret.algorithm,
                          bit_length=bits, mode=order.secret.mode, expiration=order.secret.expiration,
                          payload=os.urandom(bits // 8), content_type="application/octet-stream")
    secret = secrets.create(session, km, project_id, creator_id, fields)
    now = utcnow()
    row = Order(id=str(uuid.uuid4()), project_id=project_id, creator_id=creator_id, type="key", meta=order.meta,
                status="ACTIVE", secret_id=secret.id, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    return row


def find(session: Session, ctx: RequestContext, order_id: str) -> Order:
    order = session.get(Order, order_id)
    if order is None or order.project_id != ctx.project_id:
        raise NotFound("Order not found.")
    return order


def page(session: Session, project_id: str, offset: int, limit: int) -> tuple[list[Order], int]:
    query = select(Order).where(Order.project_id == project_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Order.created_at, Order.id).offset(offset).limit(limit)).all()
    return list(rows), total


def delete(session: Session, order: Order) -> None:
    """The order goes; the secret it made stays (Barbican's behaviour)."""
    session.delete(order)
    session.flush()
