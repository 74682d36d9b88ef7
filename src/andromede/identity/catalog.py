"""Regions, services, endpoints, and the catalog rendered into tokens."""

from __future__ import annotations

import re

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from andromede.common.errors import BadRequest, Conflict
from andromede.common.ids import new_id
from andromede.identity import endpoint_filter
from andromede.identity.common import flush_unique, get_or_404
from andromede.identity.models import Endpoint, Region, Service
from andromede.identity.schemas import (
    EndpointCreate,
    EndpointUpdate,
    RegionCreate,
    RegionUpdate,
    ServiceCreate,
    ServiceUpdate,
)
from andromede.servicekit.descriptor import CatalogEntry

INTERFACES = ("public", "internal", "admin")
_SUBSTITUTION = re.compile(r"[$%]\((project_id|tenant_id|user_id)\)s")


# ---- regions -----------------------------------------------------------------------------------

def create_region(session: Session, body: RegionCreate) -> Region:
    if body.parent_region_id is not None:
        get_or_404(session, Region, body.parent_region_id, "region")
    region_id = body.id or new_id()
    if session.get(Region, region_id) is not None:
        raise Conflict(f"Conflict occurred attempting to store region - Duplicate ID, {region_id}.")
    region = Region(id=region_id, description=body.description or "",
                    parent_region_id=body.parent_region_id, extra=body.extras())
    session.add(region)
    flush_unique(session, "region")
    return region


def get_region(session: Session, region_id: str) -> Region:
    return get_or_404(session, Region, region_id, "region")


def list_regions(session: Session, *, parent_region_id: str | None = None) -> list[Region]:
    query = select(Region).order_by(Region.id)
    if parent_region_id is not None:
        query = query.where(Region.parent_region_id == parent_region_id)
    return list(session.scalars(query))


def update_region(session: Session, region_id: str, body: RegionUpdate) -> Region:
    region = get_region(session, region_id)
    if body.description is not None:
        region.description = body.description
    if "parent_region_id" in body.model_fields_set:
        if body.parent_region_id == region_id:
            raise BadRequest("A region cannot be its own parent.")
        if body.parent_region_id is not None:
            get_or_404(session, Region, body.parent_region_id, "region")
        region.parent_region_id = body.parent_region_id
    region.extra = {**region.extra, **body.extras()}
    return region


def delete_region(session: Session, region_id: str) -> None:
    region = get_region(session, region_id)
    if session.scalars(select(Endpoint.id).where(Endpoint.region_id == region_id)).first():
        raise Conflict("The region still has endpoints.")
    if session.scalars(select(Region.id).where(Region.parent_region_id == region_id)).first():
        raise Conflict("The region still has child regions.")
    session.delete(region)


# ---- services ----------------------------------------------------------------------------------

def create_service(session: Session, body: ServiceCreate) -> Service:
    service = Service(id=new_id(), type=body.type, name=body.name or "", description=body.description or "",
                      enabled=body.enabled, extra=body.extras())
    session.add(service)
    session.flush()
    return service


def get_service(session: Session, service_id: str) -> Service:
    return get_or_404(session, Service, service_id, "service")


def list_services(session: Session, *, type: str | None = None, name: str | None = None) -> list[Service]:
    query = select(Service).order_by(Service.type, Service.name)
    if type is not None:
        query = query.where(Service.type == type)
    if name is not None:
        query = query.where(Service.name == name)
    return list(session.scalars(query))


def update_service(session: Session, service_id: str, body: ServiceUpdate) -> Service:
    service = get_service(session, service_id)
    for field in ("type", "name", "description", "enabled"):
        value = getattr(body, field)
        if value is not None:
            setattr(service, field, value)
    service.extra = {**service.extra, **body.extras()}
    return service


def delete_service(session: Session, service_id: str) -> None:
    service = get_service(session, service_id)
    endpoint_filter.forget_endpoints(session, list(session.scalars(
        select(Endpoint.id).where(Endpoint.service_id == service.id))))
    session.execute(delete(Endpoint).where(Endpoint.service_id == service.id))
    session.delete(service)


# ---- endpoints ---------------------------------------------------------------------------------

def _expected(attribute: str, target: str) -> BadRequest:
    """Keystone's ValidationError for a reference to something that does not exist."""
    return BadRequest(f"Expecting to find {attribute} in {target}. The server could not comply with the request "
                      "since it is either malformed or otherwise incorrect. The client is assumed to be in error.")


def _endpoint_refs(session: Session, service_id: str | None, region_id: str | None, legacy_region: str | None
                   ) -> str | None:
    """Check an endpoint's service and region; the legacy `region` attribute creates its region, as Keystone."""
    if service_id is not None and session.get(Service, service_id) is None:
        raise _expected("endpoint service_id", "service table")
    if region_id is not None:
        if session.get(Region, region_id) is None:
            raise _expected("endpoint region_id", "region table")
        return region_id
    if legacy_region is not None and session.get(Region, legacy_region) is None:
        session.add(Region(id=legacy_region, description="", extra={}))
        session.flush()
    return legacy_region


def create_endpoint(session: Session, body: EndpointCreate) -> Endpoint:
    region_id = _endpoint_refs(session, body.service_id, body.region_id, body.region)
    endpoint = Endpoint(id=new_id(), service_id=body.service_id, interface=body.interface,
                        region_id=region_id, url=body.url, enabled=body.enabled, extra=body.extras())
    session.add(endpoint)
    session.flush()
    return endpoint


def get_endpoint(session: Session, endpoint_id: str) -> Endpoint:
    return get_or_404(session, Endpoint, endpoint_id, "endpoint")


def list_endpoints(session: Session, *, service_id: str | None = None, interface: str | None = None,
                   region_id: str | None = None) -> list[Endpoint]:
    query = select(Endpoint).order_by(Endpoint.service_id, Endpoint.interface)
    if service_id is not None:
        query = query.where(Endpoint.service_id == service_id)
    if interface is not None:
        query = query.where(Endpoint.interface == interface)
    if region_id is not None:
        query = query.where(Endpoint.region_id == region_id)
    return list(session.scalars(query))


def update_endpoint(session: Session, endpoint_id: str, body: EndpointUpdate) -> Endpoint:
    endpoint = get_endpoint(session, endpoint_id)
    region_id = _endpoint_refs(session, body.service_id, body.region_id, body.region)
    if body.service_id is not None:
        endpoint.service_id = body.service_id
    if region_id is not None:
        endpoint.region_id = region_id
    for field in ("interface", "url", "enabled"):
        value = getattr(body, field)
        if value is not None:
            setattr(endpoint, field, value)
    endpoint.extra = {**endpoint.extra, **body.extras()}
    return endpoint


def delete_endpoint(session: Session, endpoint_id: str) -> None:
    endpoint = get_endpoint(session, endpoint_id)
    endpoint_filter.forget_endpoints(session, [endpoint.id])
    session.delete(endpoint)


# ---- the catalog -------------------------------------------------------------------------------

def ensure_catalog(session: Session, base_url: str, region_id: str, entries: list[CatalogEntry]) -> None:
    """Register (or re-point) the endpoints of every service this server answers."""
    if session.get(Region, region_id) is None:
        session.add(Region(id=region_id, description="", extra={}))
        session.flush()
    for entry in entries:
        service = session.scalars(select(Service).where(
            Service.type == entry.type, Service.name == entry.name, Service.managed.is_(True))).first()
        if service is None:
            service = Service(id=new_id(), type=entry.type, name=entry.name, description=entry.description,
                              enabled=True, extra={}, managed=True)
            session.add(service)
            session.flush()
        url = base_url.rstrip("/") + entry.path
        existing = {e.interface: e for e in session.scalars(
            select(Endpoint).where(Endpoint.service_id == service.id))}
        for interface in INTERFACES:
            endpoint = existing.get(interface)
            if endpoint is None:
                session.add(Endpoint(id=new_id(), service_id=service.id, interface=interface,
                                     region_id=region_id, url=url, enabled=True, extra={}))
            else:
                endpoint.url = url
                endpoint.region_id = region_id


def render_catalog(session: Session, *, project_id: str | None, user_id: str | None) -> list[dict]:
    values = {"project_id": project_id, "tenant_id": project_id, "user_id": user_id}
    rows: list[tuple[Service, Endpoint]] = [(service, endpoint) for service, endpoint in session.execute(
        select(Service, Endpoint).join(Endpoint, Endpoint.service_id == Service.id)
        .where(Service.enabled.is_(True), Endpoint.enabled.is_(True))
        .order_by(Service.type, Service.name, Endpoint.interface)
    )]
    if project_id is not None:
        chosen = endpoint_filter.filtered_endpoint_ids(session, project_id)
        if chosen:
            rows = [(service, endpoint) for service, endpoint in rows if endpoint.id in chosen]
    catalog: dict[str, dict] = {}
    for service, endpoint in rows:
        names = _SUBSTITUTION.findall(endpoint.url)
        if any(values[name] is None for name in names):
            continue  # e.g. a project-scoped URL in an unscoped catalog
        url = _SUBSTITUTION.sub(lambda m: str(values[m.group(1)]), endpoint.url)
        entry = catalog.setdefault(service.id, {"endpoints": [], "id": service.id, "type": service.type,
                                                "name": service.name})
        entry["endpoints"].append({"id": endpoint.id, "interface": endpoint.interface,
                                   "region": endpoint.region_id, "region_id": endpoint.region_id,
                                   "url": url})
    return list(catalog.values())
