"""Flavors: public ones for everyone, private ones only for the projects given access."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, delete, or_, select
from sqlalchemy.orm import Session

from andromede.common.context import RequestContext
from andromede.common.errors import Conflict, NotFound
from andromede.compute.models import Flavor, FlavorAccess
from andromede.compute.schemas import FlavorCreate


def _not_found(flavor_id: str) -> NotFound:
    return NotFound(f"Flavor {flavor_id} could not be found.")


def visible_query(ctx: RequestContext) -> Select[Flavor]:
    query = select(Flavor)
    if not ctx.is_admin:
        granted = select(FlavorAccess.flavor_id).where(FlavorAccess.project_id == (ctx.project_id or ""))
        query = query.where(or_(Flavor.is_public.is_(True), Flavor.id.in_(granted)))
    return query


def get(session: Session, ctx: RequestContext, flavor_id: str) -> Flavor:
    flavor = session.scalars(visible_query(ctx).where(Flavor.id == str(flavor_id))).first()
    if flavor is None:
        raise _not_found(flavor_id)
    return flavor


def list_flavors(session: Session, ctx: RequestContext, *, is_public: str | None, min_ram: int | None,
                 min_disk: int | None) -> list[Flavor]:
    query = visible_query(ctx)
    if is_public is not None and is_public.lower() != "none" and ctx.is_admin:
        query = query.where(Flavor.is_public.is_(is_public.lower() in ("true", "1", "yes")))
    if min_ram is not None:
        query = query.where(Flavor.ram >= min_ram)
    if min_disk is not None:
        query = query.where(Flavor.disk >= min_disk)
    return sorted(session.scalars(query), key=lambda f: (f.ram, f.id))


def create(session: Session, body: FlavorCreate) -> Flavor:
    flavor_id = body.id or str(uuid.uuid4())
    if session.get(Flavor, flavor_id) is not None:
        raise Conflict(f"Flavor with ID {flavor_id} already exists.")
    if session.scalars(select(Flavor).where(Flavor.name == body.name)).first() is not None:
        raise Conflict(f"Flavor with name {body.name} already exists.")
    flavor = Flavor(id=flavor_id, name=body.name, vcpus=body.vcpus, ram=body.ram, disk=body.disk,
                    ephemeral=body.ephemeral, swap=body.swap or 0, rxtx_factor=body.rxtx_factor,
                    is_public=body.is_public, description=body.description, extra_specs={})
    session.add(flavor)
    session.flush()
    return flavor


def ensure(session: Session, flavor_id: str, name: str, *, vcpus: int, ram: int, disk: int) -> None:
    """Bootstrap: make a standard flavor exist, leaving it alone if an admin changed it."""
    if session.get(Flavor, flavor_id) is None and not session.scalars(
            select(Flavor).where(Flavor.name == name)).first():
        session.add(Flavor(id=flavor_id, name=name, vcpus=vcpus, ram=ram, disk=disk, extra_specs={}))


def delete_flavor(session: Session, flavor_id: str) -> None:
    flavor = session.get(Flavor, flavor_id)
    if flavor is None:
        raise _not_found(flavor_id)
    session.execute(delete(FlavorAccess).where(FlavorAccess.flavor_id == flavor_id))
    session.delete(flavor)


def access(session: Session, flavor_id: str) -> list[FlavorAccess]:
    flavor = session.get(Flavor, flavor_id)
    if flavor is None:
        raise _not_found(flavor_id)
    if flavor.is_public:
        raise NotFound("Access list not available for public flavors.")
    return list(session.scalars(select(FlavorAccess).where(FlavorAccess.flavor_id == flavor_id)))


def add_access(session: Session, flavor_id: str, project_id: str) -> None:
    access(session, flavor_id)
    if session.get(FlavorAccess, (flavor_id, project_id)) is not None:
        raise Conflict(f"Flavor access already exists for flavor {flavor_id} and project {project_id} combination.")
    session.add(FlavorAccess(flavor_id=flavor_id, project_id=project_id))


def remove_access(session: Session, flavor_id: str, project_id: str) -> None:
    access(session, flavor_id)
    row = session.get(FlavorAccess, (flavor_id, project_id))
    if row is None:
        raise NotFound(f"Flavor access not found for {flavor_id} / {project_id} combination.")
    session.delete(row)
