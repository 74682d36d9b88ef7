"""Time in one place, so tests and token code agree on UTC and formatting."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@overload
def isotime(value: datetime, *, subsecond: bool = True) -> str: ...
@overload
def isotime(value: None, *, subsecond: bool = True) -> None: ...
@overload
def isotime(value: datetime | None, *, subsecond: bool = True) -> str | None: ...
def isotime(value: datetime | None, *, subsecond: bool = True) -> str | None:
    """Keystone's wire format: 2026-01-01T12:00:00.000000Z (naive UTC in, string out)."""
    if value is None:
        return None
    if subsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_isotime(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed
