"""OS-EP-FILTER: endpoint groups and the endpoints a project is given.

As Keystone's catalog: a project with endpoints associated (directly or through a group) sees only those in its
catalog; a project with none sees every endpoint (Keystone's return_all_endpoints_if_no_filter default).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from andromede.common.errors import BadRequest, NotFound
from andromede.common.ids import new_id
from andromede.identity.common import get_or_404
from andromede.identity.models import Endpoint, EndpointGroup, Project, ProjectEndpoint, ProjectEndpointGroup

FILTER_KEYS = frozenset({"interface", "service_id", "region_id"})


def _check_filters(filters: Any) -> dict[str, str]:
    if not isinstance(filters, dict) or not filters:
        raise BadRequest("Invalid input for field 'filters': a non-empty object is required.")
    unknown = sorted(set(filters) - FILTER_KEYS)
    if unknown:
        raise BadRequest(f"Invalid input for field 'filters': {', '.join(unknown)} is not a valid filter.")
    if not all(isinstance(v, str) and 0 < len(v) <= 255 for v in filters.values()):
        raise BadRequest("Invalid input for field 'filters': each filter is a string.")
    return dict(filters)


# ---- endpoint groups ---------------------------------------------------------------------------

def create_group(session: Session, name: str, description: str, filters: Any) -> EndpointGroup:
    group = EndpointGroup(id=new_id(), name=name, description=description, filters=_check_filters(filters))
    session.add(group)
    session.flush()
    return group


def get_group(session: Session, group_id: str) -> EndpointGroup:
    group = session.get(EndpointGroup, group_id)
    if group is None:
        raise NotFound(f"Could not find endpoint group: {group_id}.")
    return group


def list_groups(session: Session, *, name: str | None = None) -> list[EndpointGroup]:
    query = select(EndpointGroup).order_by(EndpointGroup.name, EndpointGroup.id)
    if name is not None:
        query = query.where(EndpointGroup.name == name)
    return list(session.scalars(query))


def update_group(session: Session, group_id: str, changes: dict[str, Any]) -> EndpointGroup:
    group = get_group(session, group_id)
    if "name" in changes:
        group.name = changes["name"]
    if "description" in changes:
        group.description = changes["description"] or ""
    if "filters" in changes:
        group.filters = _check_filters(changes["filters"])
    return group


def delete_group(session: Session, group_id: str) -> None:
    group = get_group(session, group_id)
    session.execute(delete(ProjectEndpointGroup).where(ProjectEndpointGroup.endpoint_group_id == group.id))
    session.delete(group)


def endpoints_of_group(session: Session, group: EndpointGroup) -> list[Endpoint]:
    query = select(Endpoint).order_by(Endpoint.service_id, Endpoint.interface, Endpoint.id)
    for key, value in group.filters.items():
        query = query.where(getattr(Endpoint, key) == value)
    return list(session.scalars(query))


# ---- associations ------------------------------------------------------------------------------

def _project(session: Session, project_id: str) -> Project:
    return get_or_404(session, Project, project_id, "project")


def add_group_project(session: Session, group_id: str, project_id: str) -> None:
    get_group(session, group_id)
    _project(session, project_id)
    if session.get(ProjectEndpointGroup, (group_id, project_id)) is None:
        session.add(ProjectEndpointGroup(endpoint_group_id=group_id, project_id=project_id))


def check_group_project(session: Session, group_id: str, project_id: str) -> None:
    get_group(session, group_id)
    _project(session, project_id)
    if session.get(ProjectEndpointGroup, (group_id, project_id)) is None:
        raise NotFound(f"Could not find project endpoint group association: {group_id}, {project_id}.")


def remove_group_project(session: Session, group_id: str, project_id: str) -> None:
    check_group_project(session, group_id, project_id)
    session.execute(delete(ProjectEndpointGroup).where(ProjectEndpointGroup.endpoint_group_id == group_id,
                                                       ProjectEndpointGroup.project_id == project_id))


def projects_of_group(session: Session, group_id: str) -> list[Project]:
    get_group(session, group_id)
    ids = select(ProjectEndpointGroup.project_id).where(ProjectEndpointGroup.endpoint_group_id == group_id)
    return list(session.scalars(select(Project).where(Project.id.in_(ids)).order_by(Project.name)))


def groups_of_project(session: Session, project_id: str) -> list[EndpointGroup]:
    _project(session, project_id)
    ids = select(ProjectEndpointGroup.endpoint_group_id).where(ProjectEndpointGroup.project_id == project_id)
    return list(session.scalars(select(EndpointGroup).where(EndpointGroup.id.in_(ids)).order_by(EndpointGroup.name)))


def add_project_endpoint(session: Session, project_id: str, endpoint_id: str) -> None:
    _project(session, project_id)
    get_or_404(session, Endpoint, endpoint_id, "endpoint")
    if session.get(ProjectEndpoint, (project_id, endpoint_id)) is None:
        session.add(ProjectEndpoint(project_id=project_id, endpoint_id=endpoint_id))


def check_project_endpoint(session: Session, project_id: str, endpoint_id: str) -> None:
    _project(session, project_id)
    get_or_404(session, Endpoint, endpoint_id, "endpoint")
    if session.get(ProjectEndpoint, (project_id, endpoint_id)) is None:
        raise NotFound(f"Could not find project endpoint association: {project_id}, {endpoint_id}.")


def remove_project_endpoint(session: Session, project_id: str, endpoint_id: str) -> None:
    check_project_endpoint(session, project_id, endpoint_id)
    session.execute(delete(ProjectEndpoint).where(ProjectEndpoint.project_id == project_id,
                                                  ProjectEndpoint.endpoint_id == endpoint_id))


def projects_of_endpoint(session: Session, endpoint_id: str) -> list[Project]:
    get_or_404(session, Endpoint, endpoint_id, "endpoint")
    ids = select(ProjectEndpoint.project_id).where(ProjectEndpoint.endpoint_id == endpoint_id)
    return list(session.scalars(select(Project).where(Project.id.in_(ids)).order_by(Project.name)))


def filtered_endpoint_ids(session: Session, project_id: str) -> set[str]:
    """The endpoints associated with the project, directly or through its endpoint groups."""
    chosen = set(session.scalars(select(ProjectEndpoint.endpoint_id).where(ProjectEndpoint.project_id == project_id)))
    for group in session.scalars(select(EndpointGroup).join(
            ProjectEndpointGroup, ProjectEndpointGroup.endpoint_group_id == EndpointGroup.id)
            .where(ProjectEndpointGroup.project_id == project_id)):
        chosen |= {e.id for e in endpoints_of_group(session, group)}
    return chosen


def endpoints_of_project(session: Session, project_id: str) -> list[Endpoint]:
    _project(session, project_id)
    ids = filtered_endpoint_ids(session, project_id)
    if not ids:
        return []
    return list(session.scalars(select(Endpoint).where(Endpoint.id.in_(ids)).order_by(Endpoint.service_id,
                                                                                      Endpoint.interface)))


def forget_endpoints(session: Session, endpoint_ids: list[str]) -> None:
    if endpoint_ids:
        session.execute(delete(ProjectEndpoint).where(ProjectEndpoint.endpoint_id.in_(endpoint_ids)))


def forget_project(session: Session, project_id: str) -> None:
    session.execute(delete(ProjectEndpoint).where(ProjectEndpoint.project_id == project_id))
    session.execute(delete(ProjectEndpointGroup).where(ProjectEndpointGroup.project_id == project_id))
