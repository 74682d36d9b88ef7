"""Server tags (microversion 2.26): strings on a server, kept in the order given, at most 50, each once."""

from __future__ import annotations

from sqlalchemy.orm import Session

from andromede.common.errors import BadRequest, NotFound
from andromede.compute.models import Instance
from andromede.compute.schemas import MAX_TAGS
from andromede.compute.servers import bump


def tags_of(instance: Instance) -> list[str]:
    return list(instance.tags or [])


def replace(session: Session, instance: Instance, tags: list[str]) -> list[str]:
    unique = list(dict.fromkeys(tags))
    instance.tags = unique
    bump(session, instance)
    return unique


def add(session: Session, instance: Instance, tag: str) -> bool:
    """True when the tag is new (Nova answers 201 then, 204 when it was there)."""
    current = tags_of(instance)
    if tag in current:
        return False
    if len(current) >= MAX_TAGS:
        raise BadRequest(f"The number of tags exceeded the per-server limit {MAX_TAGS}")
    replace(session, instance, [*current, tag])
    return True


def remove(session: Session, instance: Instance, tag: str) -> None:
    current = tags_of(instance)
    if tag not in current:
        raise NotFound(f"Tag {tag} could not be found.")
    replace(session, instance, [t for t in current if t != tag])


def matches(instance: Instance, params: dict[str, str]) -> bool:
    """Nova's four tag filters of GET /servers, each a comma-separated list."""
    have = set(instance.tags or [])

    def wanted(key: str) -> set[str] | None:
        return {t for t in params[key].split(",") if t} if key in params else None

    every, some, not_every, none_of = (wanted(k) for k in ("tags", "tags-any", "not-tags", "not-tags-any"))
    return ((every is None or every <= have) and (some is None or bool(some & have))
            and (not_every is None or not not_every <= have) and (none_of is None or not none_of & have))
