"""Project tags (Keystone's /v3/projects/{id}/tags and the ?tags= filters), kept in the project's extras."""

from __future__ import annotations

from andromede.common.errors import BadRequest, NotFound
from andromede.identity.models import Project

MAX_TAGS = 80
MAX_TAG_LENGTH = 255


def check_tag(tag: str) -> str:
    if not tag or len(tag) > MAX_TAG_LENGTH or "/" in tag or "," in tag or tag.strip() != tag:
        raise BadRequest(f"Invalid tag {tag[:64]!r}: 1 to {MAX_TAG_LENGTH} characters, no '/' or ','.")
    return tag


def tags_of(project: Project) -> list[str]:
    return list(project.extra.get("tags", []))


def set_tags(project: Project, tags: list[str]) -> list[str]:
    unique = list(dict.fromkeys(check_tag(tag) for tag in tags))
    if len(unique) > MAX_TAGS:
        raise BadRequest(f"A project has at most {MAX_TAGS} tags.")
    project.extra = {**project.extra, "tags": unique}
    return unique


def add_tag(project: Project, tag: str) -> None:
    current = tags_of(project)
    if check_tag(tag) not in current:
        set_tags(project, [*current, tag])


def remove_tag(project: Project, tag: str) -> None:
    current = tags_of(project)
    if tag not in current:
        raise NotFound(f"Tag {tag} was not found for project {project.id}.")
    set_tags(project, [t for t in current if t != tag])


def matches(project: Project, *, all_of: str | None, any_of: str | None, none_of: str | None,
            not_any_of: str | None) -> bool:
    """Keystone's four filters, each a comma-separated list: tags, tags-any, not-tags, not-tags-any."""
    held = set(tags_of(project))

    def split(value: str) -> set[str]:
        return {tag for tag in value.split(",") if tag}

    if all_of is not None and not split(all_of) <= held:
        return False
    if any_of is not None and not split(any_of) & held:
        return False
    if none_of is not None and split(none_of) <= held:
        return False
    return not (not_any_of is not None and split(not_any_of) & held)
