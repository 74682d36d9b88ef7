"""Image quotas, as Glance enforces them, all answered 413 Request Entity Too Large.

Per project, named after Glance's unified limits: image_count_total (images owned), image_count_uploading
(uploads in progress) and image_size_total (bytes of stored image data; Glance counts MiB there). Per image, as
Glance's image_property_quota, image_tag_quota and image_member_quota, plus a bound on the properties' total
size. Usage is counted from the images table itself, so there is no usage record to drift. A negative limit
means unlimited.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from andromede.common.config import Settings
from andromede.common.errors import PayloadTooLarge
from andromede.image.models import Image, ImageMember


@dataclass(frozen=True)
class ImageLimits:
    count_total: int = 100
    count_uploading: int = 10
    size_total_bytes: int = 100 * 1024**3
    property_quota: int = 128
    tag_quota: int = 128
    member_quota: int = 128
    properties_total_bytes: int = 64 * 1024

    @classmethod
    def from_settings(cls, settings: Settings) -> ImageLimits:
        return cls(count_total=settings.image_count_total, count_uploading=settings.image_count_uploading,
                   size_total_bytes=settings.image_size_total_bytes,
                   property_quota=settings.image_property_quota, tag_quota=settings.image_tag_quota,
                   member_quota=settings.image_member_quota,
                   properties_total_bytes=settings.image_properties_total_bytes)


def _limited(limit: int) -> bool:
    return limit >= 0


def _over_limit(project_id: str, resource: str, limit: int, used: int, delta: int) -> PayloadTooLarge:
    # oslo.limit's ProjectOverLimit text, which Glance returns as the 413's explanation.
    return PayloadTooLarge(f"Project {project_id} is over a limit for [Resource {resource} is over limit of "
                           f"{limit} due to current usage {used} and delta {delta}]")


# ---- usage -------------------------------------------------------------------------------------

def image_count(session: Session, owner: str) -> int:
    return int(session.scalar(select(func.count()).select_from(Image).where(Image.owner == owner)) or 0)


def uploading_count(session: Session, owner: str) -> int:
    query = select(func.count()).select_from(Image).where(Image.owner == owner, Image.status == "saving")
    return int(session.scalar(query) or 0)


def stored_bytes(session: Session, owner: str) -> int:
    """Bytes of image data the project keeps (an image being uploaded has no size until it is active)."""
    return int(session.scalar(select(func.coalesce(func.sum(Image.size), 0)).where(Image.owner == owner)) or 0)


def lock_project(session: Session, owner: str) -> None:
    """One project's quota checks take turns until their transaction ends, so concurrent requests cannot
    all pass the same last free place."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"image-quota:{owner}"})
    elif dialect == "sqlite":  # a write, even of no row, takes SQLite's one write lock (the whole database)
        session.execute(text("UPDATE image_ids SET owner = owner WHERE 0"))


# ---- per project -------------------------------------------------------------------------------

def check_count_total(session: Session, limits: ImageLimits, owner: str) -> None:
    """Before creating one more image for `owner`."""
    if not _limited(limits.count_total):
        return
    lock_project(session, owner)
    used = image_count(session, owner)
    if used + 1 > limits.count_total:
        raise _over_limit(owner, "image_count_total", limits.count_total, used, 1)


def check_count_uploading(session: Session, limits: ImageLimits, owner: str) -> None:
    """After an upload has claimed its image (it counts itself, as in Glance: delta 0)."""
    if not _limited(limits.count_uploading):
        return
    used = uploading_count(session, owner)
    if used > limits.count_uploading:
        raise _over_limit(owner, "image_count_uploading", limits.count_uploading, used, 0)


def storage_remaining(session: Session, limits: ImageLimits, owner: str) -> int | None:
    """How many more bytes of image data `owner` may store; None when unlimited."""
    if not _limited(limits.size_total_bytes):
        return None
    return max(limits.size_total_bytes - stored_bytes(session, owner), 0)


def storage_full(size: int, remaining: int) -> PayloadTooLarge:
    # Glance's StorageQuotaFull, as its upload route words it.
    return PayloadTooLarge(f"Image exceeds the storage quota: The size of the data {size} will exceed the limit. "
                           f"{remaining} bytes remaining.")


def check_storage(session: Session, limits: ImageLimits, owner: str, size: int) -> None:
    remaining = storage_remaining(session, limits, owner)
    if remaining is not None and size > remaining:
        raise storage_full(size, remaining)


def usage(session: Session, limits: ImageLimits, owner: str) -> dict[str, dict[str, int]]:
    """Glance's GET /v2/info/usage; image_size_total in MiB there, as Glance reports it."""
    mib = 1024 * 1024
    size_limit = limits.size_total_bytes // mib if _limited(limits.size_total_bytes) else -1
    return {"image_size_total": {"limit": size_limit, "usage": stored_bytes(session, owner) // mib},
            "image_count_total": {"limit": limits.count_total, "usage": image_count(session, owner)},
            "image_count_uploading": {"limit": limits.count_uploading, "usage": uploading_count(session, owner)}}


# ---- per image ---------------------------------------------------------------------------------

def properties_size(properties: dict[str, str]) -> int:
    return sum(len(key.encode()) + len(value.encode()) for key, value in properties.items())


def check_properties(limits: ImageLimits, properties: dict[str, str], before: dict[str, str] | None = None) -> None:
    """On create, or on an update (`before` given) that adds properties or bytes: as in Glance, an image
    over a limit lowered since can still be edited as long as the edit does not make it bigger."""
    before = before or {}
    count = len(properties)
    if _limited(limits.property_quota) and count > limits.property_quota and count > len(before):
        raise PayloadTooLarge("The limit has been exceeded on the number of allowed image properties. "
                              f"Attempted: {count}, Maximum: {limits.property_quota}")
    if _limited(limits.properties_total_bytes):
        size = properties_size(properties)
        if size > limits.properties_total_bytes and size > properties_size(before):
            raise PayloadTooLarge("The limit has been exceeded on the total size of image properties. "
                                  f"Attempted: {size} bytes, Maximum: {limits.properties_total_bytes} bytes")


def check_members(session: Session, limits: ImageLimits, image_id: str) -> None:
    """Before sharing an image with one more project."""
    if not _limited(limits.member_quota):
        return
    attempted = int(session.scalar(select(func.count()).select_from(ImageMember)
                                   .where(ImageMember.image_id == image_id)) or 0) + 1
    if attempted > limits.member_quota:
        raise PayloadTooLarge("The limit has been exceeded on the number of allowed image members for this image. "
                              f"Attempted: {attempted}, Maximum: {limits.member_quota}")


def check_tags(limits: ImageLimits, tags: list[str], before: list[str] | None = None) -> None:
    if _limited(limits.tag_quota) and len(tags) > limits.tag_quota and len(tags) > len(before or []):
        raise PayloadTooLarge("The limit has been exceeded on the number of allowed image tags. "
                              f"Attempted: {len(tags)}, Maximum: {limits.tag_quota}")
