"""What other services ask of identity, without reading its tables: which project a well-known name is."""

from __future__ import annotations

from sqlalchemy.orm import Session

from andromede.identity import resource
from andromede.identity.common import DEFAULT_DOMAIN_ID


def project_id_named(session: Session, name: str, domain_id: str = DEFAULT_DOMAIN_ID) -> str | None:
    """The id of the project of that name in that domain (the default one unless told), None when there is none."""
    project = resource.find_project(session, project_id=None, name=name, domain_id=domain_id)
    return project.id if project is not None else None
