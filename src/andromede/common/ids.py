"""Identifiers: OpenStack-style 32-hex ids and url-safe random strings."""

from __future__ import annotations

import base64
import secrets
import uuid


def new_id() -> str:
    return uuid.uuid4().hex


def random_urlsafe(nbytes: int) -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).rstrip(b"=").decode()


def audit_id() -> str:
    """Keystone's audit ids: 16 random bytes as 22 url-safe base64 characters."""
    return random_urlsafe(16)


def is_uuid(text: str) -> bool:
    """Whether `text` parses as a UUID in any of the forms Python's uuid accepts (Nova's uuidutils check)."""
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
