"""Who sees and changes metadata definitions, and their views.

A public namespace is readable by everyone and changed only by cloud admins; a private one belongs to its owner
project, and is a 404 to every other project (never a 403 that would confirm it exists).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from andromede.common.clock import isotime, utcnow
from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest, Conflict, Forbidden, NotFound
from andromede.image.metadefs.bodies import AssociationBody, NamespaceBody
from andromede.image.metadefs.models import MetadefAssociation, MetadefItem, MetadefNamespace, MetadefResourceType

BASE = "/v2/metadefs/namespaces"
SORT_KEYS = ("created_at", "updated_at", "namespace", "display_name", "visibility", "protected", "owner")
KINDS = {"object": "Metadata definition object", "property": "Metadata definition property",
         "tag": "Metadata definition tag"}


def stamp(row: MetadefNamespace | MetadefItem | MetadefResourceType | MetadefAssociation) -> dict:
    return {"created_at": isotime(row.created_at, subsecond=False),
            "updated_at": isotime(row.updated_at, subsecond=False)}


# ---- namespaces ---------------------------------------------------------------------------------

def _namespace_missing(name: str) -> NotFound:
    return NotFound(f"Metadata definition namespace={name} was not found.")


def visible(ctx: RequestContext, ns: MetadefNamespace) -> bool:
    return ctx.is_admin or ns.visibility == "public" or (bool(ctx.project_id) and ns.owner == ctx.project_id)


def _storable(name: str, longest: int) -> bool:
    """A name no row can hold (a NUL, which PostgreSQL refuses outright) is simply not there."""
    return len(name) <= longest and not any(ord(c) < 32 or ord(c) == 127 for c in name)


def get_namespace(session: Session, ctx: RequestContext, name: str) -> MetadefNamespace:
    ns = (session.scalars(select(MetadefNamespace).where(MetadefNamespace.namespace == name)).first()
          if _storable(name, 80) else None)
    if ns is None or not visible(ctx, ns):
        raise _namespace_missing(name)
    return ns


def get_owned_namespace(session: Session, ctx: RequestContext, name: str) -> MetadefNamespace:
    """For changes: invisible is 404; a public namespace the caller does not own is 403."""
    ns = get_namespace(session, ctx, name)
    if not ctx.is_admin and ns.owner != ctx.project_id:
        raise Forbidden(f"You are not permitted to modify metadata definition namespace {name}.")
    return ns


def _check_fields(ctx: RequestContext, visibility: str, owner: str) -> None:
    if visibility == "public" and not ctx.is_admin:
        raise Forbidden("You are not authorized to create or change a public metadata definition namespace; "
                        "ask an administrator.")
    if owner != ctx.project_id and not ctx.is_admin:
        raise Forbidden("You are not permitted to create metadata definition namespaces owned by another project.")


def _name_taken(name: str) -> Conflict:
    return Conflict(f"Metadata definition namespace={name} already exists.")


def create_namespace(session: Session, ctx: RequestContext, body: NamespaceBody, *,
                     now: datetime | None = None) -> MetadefNamespace:
    visibility, owner = body.visibility or "private", body.owner or ctx.project_id or ""
    _check_fields(ctx, visibility, owner)
    if session.scalars(select(MetadefNamespace.id).where(MetadefNamespace.namespace == body.namespace)).first():
        raise _name_taken(body.namespace)
    now = now or utcnow()
    ns = MetadefNamespace(namespace=body.namespace, display_name=body.display_name, description=body.description,
                          visibility=visibility, protected=bool(body.protected), owner=owner,
                          created_at=now, updated_at=now)
    session.add(ns)
    _flush(session, _name_taken(body.namespace))
    for name, prop in body.properties.items():
        add_item(session, ns, "property", name, prop.schema_fragment())
    for obj in body.objects:
        add_item(session, ns, "object", obj.name, obj.stored())
    for tag in body.tags:
        add_item(session, ns, "tag", tag.name, {})
    for association in body.resource_type_associations:
        associate(session, ctx, ns, association)
    return ns


def update_namespace(session: Session, ctx: RequestContext, ns: MetadefNamespace, body: NamespaceBody) -> None:
    """Glance's PUT: the namespace as sent; visibility, protected and owner unsaid go back to their defaults."""
    visibility, owner = body.visibility or "private", body.owner or ctx.project_id or ns.owner
    _check_fields(ctx, visibility, owner)
    if body.namespace != ns.namespace and session.scalars(
            select(MetadefNamespace.id).where(MetadefNamespace.namespace == body.namespace)).first():
        raise _name_taken(body.namespace)
    ns.namespace, ns.display_name, ns.description = body.namespace, body.display_name, body.description
    ns.visibility, ns.protected, ns.owner = visibility, bool(body.protected), owner
    ns.updated_at = utcnow()
    _flush(session, _name_taken(body.namespace))


def check_unprotected(ns: MetadefNamespace) -> None:
    if ns.protected:
        raise Forbidden(f"Metadata definition namespace {ns.namespace} is protected and cannot be deleted "
                        "(nor can its contents).")


def delete_namespace(session: Session, ns: MetadefNamespace) -> None:
    check_unprotected(ns)
    session.execute(delete(MetadefItem).where(MetadefItem.namespace_id == ns.id))
    session.execute(delete(MetadefAssociation).where(MetadefAssociation.namespace_id == ns.id))
    session.delete(ns)


def list_namespaces(session: Session, ctx: RequestContext, params: dict[str, str]
                    ) -> tuple[list[MetadefNamespace], str | None]:
    try:
        limit = min(int(params.get("limit") or 1000), 1000)
    except ValueError:
        raise BadRequest("limit param must be an integer") from None
    if limit < 0:
        raise BadRequest("limit param must be positive")
    sort_key, sort_dir = params.get("sort_key") or "created_at", params.get("sort_dir") or "desc"
    if sort_key not in SORT_KEYS:
        raise BadRequest(f"Invalid sort key: {sort_key}.")
    if sort_dir not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction: {sort_dir}.")
    visibility = params.get("visibility")
    if visibility is not None and visibility not in ("public", "private"):
        raise BadRequest(f"Invalid visibility value: {visibility}")
    rows = [ns for ns in session.scalars(select(MetadefNamespace)) if visible(ctx, ns)]
    if visibility:
        rows = [ns for ns in rows if ns.visibility == visibility]
    if params.get("resource_types"):
        wanted = set(params["resource_types"].split(","))
        linked = set(session.scalars(
            select(MetadefAssociation.namespace_id).join(MetadefResourceType)
            .where(MetadefResourceType.name.in_(wanted))))
        rows = [ns for ns in rows if ns.id in linked]
    rows.sort(key=lambda ns: ns.namespace)
    def key(ns: MetadefNamespace) -> tuple[bool, object]:
        value = getattr(ns, sort_key)
        return value is None, "" if value is None else value  # only display_name is ever None

    rows.sort(key=key, reverse=sort_dir == "desc")
    if marker := params.get("marker"):
        names = [ns.namespace for ns in rows]
        if marker not in names:
            raise BadRequest(f"Invalid marker. Namespace {marker} could not be found.")
        rows = rows[names.index(marker) + 1:]
    page = rows[:limit]
    return page, page[-1].namespace if len(rows) > limit and page else None


def namespace_view(session: Session, ns: MetadefNamespace, *, full: bool = False,
                   resource_type: str | None = None) -> dict:
    doc: dict = {"namespace": ns.namespace, "visibility": ns.visibility, "protected": ns.protected,
                 "owner": ns.owner, **stamp(ns)}
    if ns.display_name is not None:
        doc["display_name"] = ns.display_name
    if ns.description is not None:
        doc["description"] = ns.description
    associations = association_views(session, ns)
    if associations:
        doc["resource_type_associations"] = associations
    doc["self"], doc["schema"] = f"{BASE}/{ns.namespace}", "/v2/schemas/metadefs/namespace"
    if not full:
        return doc
    prefix = next((a.get("prefix") or "" for a in associations if a["name"] == resource_type), "")
    if properties := {prefix + i.name: i.body for i in items(session, ns, "property")}:
        doc["properties"] = properties
    if objects := [object_view(ns, i) for i in items(session, ns, "object")]:
        doc["objects"] = objects
    if tags := [{"name": i.name} for i in items(session, ns, "tag")]:
        doc["tags"] = tags
    return doc


# ---- objects, properties, tags ------------------------------------------------------------------

def items(session: Session, ns: MetadefNamespace, kind: str) -> Sequence[MetadefItem]:
    return session.scalars(select(MetadefItem).where(MetadefItem.namespace_id == ns.id, MetadefItem.kind == kind)
                           .order_by(MetadefItem.name)).all()


def get_item(session: Session, ns: MetadefNamespace, kind: str, name: str) -> MetadefItem:
    item = session.scalars(select(MetadefItem).where(
        MetadefItem.namespace_id == ns.id, MetadefItem.kind == kind, MetadefItem.name == name)
    ).first() if _storable(name, 255) else None
    if item is None:
        raise NotFound(f"{KINDS[kind]}={name} was not found in namespace={ns.namespace}.")
    return item


def _item_taken(ns: MetadefNamespace, kind: str, name: str) -> Conflict:
    return Conflict(f"{KINDS[kind]}={name} already exists in namespace={ns.namespace}.")


def add_item(session: Session, ns: MetadefNamespace, kind: str, name: str, body: dict) -> MetadefItem:
    if session.scalars(select(MetadefItem.id).where(MetadefItem.namespace_id == ns.id, MetadefItem.kind == kind,
                                                    MetadefItem.name == name)).first():
        raise _item_taken(ns, kind, name)
    now = utcnow()
    item = MetadefItem(namespace_id=ns.id, kind=kind, name=name, body=body, created_at=now, updated_at=now)
    session.add(item)
    _flush(session, _item_taken(ns, kind, name))
    return item


def update_item(session: Session, ns: MetadefNamespace, item: MetadefItem, name: str, body: dict) -> None:
    if name != item.name and session.scalars(select(MetadefItem.id).where(
            MetadefItem.namespace_id == ns.id, MetadefItem.kind == item.kind, MetadefItem.name == name)).first():
        raise _item_taken(ns, item.kind, name)
    item.name, item.body, item.updated_at = name, body, utcnow()
    _flush(session, _item_taken(ns, item.kind, name))


def delete_items(session: Session, ns: MetadefNamespace, kind: str) -> None:
    check_unprotected(ns)
    session.execute(delete(MetadefItem).where(MetadefItem.namespace_id == ns.id, MetadefItem.kind == kind))


def replace_tags(session: Session, ns: MetadefNamespace, names: list[str], *, append: bool) -> list[MetadefItem]:
    if len(set(names)) != len(names):
        raise Conflict("Duplicate tags in the request.")
    existing = {i.name for i in items(session, ns, "tag")}
    if not append:
        session.execute(delete(MetadefItem).where(MetadefItem.namespace_id == ns.id, MetadefItem.kind == "tag"))
        existing = set()
    return [add_item(session, ns, "tag", name, {}) for name in names if not (append and name in existing)]


def object_view(ns: MetadefNamespace, item: MetadefItem) -> dict:
    return {"name": item.name, **item.body, **stamp(item),
            "self": f"{BASE}/{ns.namespace}/objects/{item.name}", "schema": "/v2/schemas/metadefs/object"}


def property_view(item: MetadefItem) -> dict:
    return {"name": item.name, **item.body}


def tag_view(item: MetadefItem) -> dict:
    return {"name": item.name, **stamp(item)}


# ---- resource types -----------------------------------------------------------------------------

def resource_types(session: Session) -> Sequence[MetadefResourceType]:
    return session.scalars(select(MetadefResourceType).order_by(MetadefResourceType.name)).all()


def ensure_resource_type(session: Session, name: str, *, protected: bool = False) -> MetadefResourceType:
    row = session.scalars(select(MetadefResourceType).where(MetadefResourceType.name == name)).first()
    if row is None:
        now = utcnow()
        row = MetadefResourceType(name=name, protected=protected, created_at=now, updated_at=now)
        session.add(row)
        session.flush()
    return row


def associate(session: Session, ctx: RequestContext, ns: MetadefNamespace, body: AssociationBody
              ) -> tuple[MetadefAssociation, str]:
    """A new resource type name joins the list every project reads: only a cloud admin introduces one."""
    known = session.scalars(select(MetadefResourceType).where(MetadefResourceType.name == body.name)).first()
    if known is None and not ctx.is_admin:
        raise NotFound(f"Resource type {body.name} was not found.")
    kind = known or ensure_resource_type(session, body.name)
    if session.get(MetadefAssociation, (ns.id, kind.id)) is not None:
        raise Conflict(f"Resource type association {body.name} already exists for namespace {ns.namespace}.")
    now = utcnow()
    row = MetadefAssociation(namespace_id=ns.id, resource_type_id=kind.id, prefix=body.prefix,
                             properties_target=body.properties_target, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    return row, kind.name


def dissociate(session: Session, ns: MetadefNamespace, name: str) -> None:
    check_unprotected(ns)
    kind = session.scalars(select(MetadefResourceType).where(MetadefResourceType.name == name)).first() \
        if _storable(name, 80) else None
    row = session.get(MetadefAssociation, (ns.id, kind.id)) if kind is not None else None
    if row is None:
        raise NotFound(f"Resource type association {name} was not found in namespace={ns.namespace}.")
    session.delete(row)


def association_view(row: MetadefAssociation, name: str) -> dict:
    doc: dict = {"name": name}
    if row.prefix is not None:
        doc["prefix"] = row.prefix
    if row.properties_target is not None:
        doc["properties_target"] = row.properties_target
    return {**doc, **stamp(row)}


def association_views(session: Session, ns: MetadefNamespace) -> list[dict]:
    rows = session.execute(select(MetadefAssociation, MetadefResourceType.name).join(MetadefResourceType)
                           .where(MetadefAssociation.namespace_id == ns.id).order_by(MetadefResourceType.name)).all()
    return [association_view(row, name) for row, name in rows]


def _flush(session: Session, conflict: Conflict) -> None:
    try:
        session.flush()
    except IntegrityError:  # the same name written concurrently
        raise conflict from None
