"""Glance's metadata definitions: namespaces, the objects, properties and tags they hold, and the resource types
(image, flavor...) each namespace applies to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from andromede.common.clock import utcnow
from andromede.db.base import Base


class MetadefNamespace(Base):
    __tablename__ = "image_metadef_namespaces"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(80), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    visibility: Mapped[str] = mapped_column(String(32), default="private")
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    owner: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MetadefItem(Base):
    """An object, a property or a tag of a namespace: its name and, for the first two, its JSON-schema body."""

    __tablename__ = "image_metadef_items"
    __table_args__ = (UniqueConstraint("namespace_id", "kind", "name", name="uq_image_metadef_items_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("image_metadef_namespaces.id", ondelete="CASCADE"),
                                              index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "object", "property" or "tag"
    name: Mapped[str] = mapped_column(String(255))
    body: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MetadefResourceType(Base):
    __tablename__ = "image_metadef_resource_types"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MetadefAssociation(Base):
    """A namespace applies to a resource type; `prefix` is how its properties are spelt there (e.g. `hw_`)."""

    __tablename__ = "image_metadef_associations"
    namespace_id: Mapped[int] = mapped_column(
        ForeignKey("image_metadef_namespaces.id", ondelete="CASCADE", name="fk_image_metadef_assoc_namespace"),
        primary_key=True)
    resource_type_id: Mapped[int] = mapped_column(
        ForeignKey("image_metadef_resource_types.id", ondelete="CASCADE", name="fk_image_metadef_assoc_type"),
        primary_key=True)
    prefix: Mapped[str | None] = mapped_column(String(80), nullable=True)
    properties_target: Mapped[str | None] = mapped_column(String(80), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
