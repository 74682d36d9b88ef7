"""The starter catalogue of metadata definitions, loaded at bootstrap as Glance loads its etc/metadefs: public,
protected namespaces owned by the admin project, each created once (an operator's later changes are kept)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from sqlalchemy import select

from andromede.common.clock import utcnow
from andromede.common.context import RequestContext
from andromede.db.engine import Database
from andromede.identity.for_services import project_id_named
from andromede.image.metadefs import service
from andromede.image.metadefs.bodies import NamespaceBody
from andromede.image.metadefs.models import MetadefNamespace

log = logging.getLogger("andromede.image")
HERE = Path(__file__).parent
RESOURCE_TYPES = ("OS::Glance::Image",)


def load_catalogue(db: Database) -> None:
    with db.session() as session:
        admin_project = project_id_named(session, "admin") or ""
        ctx = RequestContext(request_id="bootstrap", user_id="bootstrap", project_id=admin_project,
                             system_scope=True, roles=frozenset({"admin"}))
        for name in RESOURCE_TYPES:
            service.ensure_resource_type(session, name, protected=True)
        now = utcnow()  # one instant for the whole catalogue: listed newest first, its namespaces tie, by name
        for path in sorted(HERE.glob("*.json")):
            body = NamespaceBody.model_validate(json.loads(path.read_text()))
            if session.scalars(select(MetadefNamespace.id).where(MetadefNamespace.namespace == body.namespace)
                               ).first() is None:
                service.create_namespace(session, ctx, body, now=now)
                log.info("loaded the metadata definitions namespace %s", body.namespace)
