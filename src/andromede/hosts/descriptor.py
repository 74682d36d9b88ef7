"""The internal API at /internal: host agents' heartbeat and every service's internal routes, for host credentials
only (the identity service binds a host token to its host)."""

from __future__ import annotations

from starlette.types import ASGIApp

from andromede.common.config import Settings
from andromede.hosts import credentials, models
from andromede.hosts.api import build_internal_app
from andromede.identity.service import IdentityService
from andromede.servicekit import errors
from andromede.servicekit.descriptor import Assembly, LimitRule, ServiceDescriptor


def _body_limit(_settings: Settings) -> LimitRule:
    return lambda _scope: 4 * 1024 * 1024


def _components(assembly: Assembly) -> None:
    identity = assembly.components.get(IdentityService)
    identity.context_hooks.append(credentials.context_binder(identity.cache))


def _app(assembly: Assembly) -> ASGIApp:
    return build_internal_app(assembly.settings, assembly.db, assembly.internal_routes())


def _bootstrap(assembly: Assembly) -> None:
    with assembly.db.session() as session:
        credentials.ensure_local_agent(session, assembly.settings)  # DIR/agent.yaml, bound to this host


DESCRIPTOR = ServiceDescriptor(
    name="hosts", prefix="/internal", error_format=errors.keystone, build_app=_app,
    models=(models,), body_limit=_body_limit, components=_components, bootstrap=_bootstrap,
)
