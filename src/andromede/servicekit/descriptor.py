"""A service, as the assembly sees it: one descriptor each service declares in its own package
(`<service>/descriptor.py`) and andromede/registry.py names. The API assembly, `andromede up`'s bootstrap, the error
formats and the table metadata all iterate the registry: adding a service is adding its module and one line there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, TypeVar

from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.types import ASGIApp

from andromede.common.config import Settings
from andromede.db.engine import Database
from andromede.servicekit.errors import ErrorFormat

T = TypeVar("T")

# How big a request body may be, from its ASGI scope (None: no limit); a service with uploads allows more there.
LimitRule = Callable[[dict[str, Any]], "int | None"]


@dataclass(frozen=True)
class CatalogEntry:
    """A service this server answers, as the identity catalog lists it."""

    type: str
    name: str
    path: str  # appended to the public base URL; may hold %(project_id)s
    description: str = ""


@dataclass(frozen=True)
class InternalRoutes:
    """A service's part of the internal API host agents call (hosts/api.py mounts them all at /internal): its routes,
    what they expect in `app.state`, and what the service must do when a host's VXLAN endpoint changes."""

    router: APIRouter
    state: Mapping[str, object] = field(default_factory=dict)
    on_vtep_change: Callable[[Session, str], None] | None = None  # (session, the host whose endpoint moved)


class Components:
    """The long-lived objects services share in one server (the identity service, the image store...), one per type:
    a service provides its own and asks for another's by type."""

    def __init__(self) -> None:
        self._by_type: dict[type, object] = {}

    def provide(self, component: object) -> None:
        kind = type(component)
        if kind in self._by_type:
            raise ValueError(f"a {kind.__name__} is already provided")
        self._by_type[kind] = component

    def get(self, kind: type[T]) -> T:
        component = self._by_type.get(kind)
        if not isinstance(component, kind):
            raise LookupError(f"no service provides a {kind.__name__} (is its service in the registry, before this?)")
        return component


@dataclass(frozen=True)
class Assembly:
    """What a service's builders receive: the settings, the database, the shared components and every service."""

    settings: Settings
    db: Database
    services: Sequence[ServiceDescriptor]
    components: Components = field(default_factory=Components)

    def internal_routes(self) -> list[InternalRoutes]:
        """Every service's part of the internal API, in registry order."""
        return [service.internal_routes(self) for service in self.services if service.internal_routes is not None]


@dataclass(frozen=True)
class ServiceDescriptor:
    """One service of the server. The assembly calls, in registry order: every `components`, then every `build_app`;
    `andromede up` then runs every `bootstrap` (each opens its own session).

    A service's host side is declared apart, in `<service>/agent/entry.py` and `cli/agent.py`'s `AGENTS`: this
    descriptor imports server modules, which an agent never does (the import contracts enforce it)."""

    name: str
    prefix: str  # where the service is mounted, e.g. "/compute"
    # The body of its errors (404, 405, 400... raised anywhere under its prefix), in its API's own wire format.
    error_format: ErrorFormat
    build_app: Callable[[Assembly], ASGIApp]
    # Imported for their tables: importing the descriptor registers them on the shared metadata.
    models: tuple[ModuleType, ...] = ()
    # Imported for the policy rules they register.
    rules: tuple[ModuleType, ...] = ()
    catalog: tuple[CatalogEntry, ...] = ()
    body_limit: Callable[[Settings], LimitRule] | None = None  # None: settings.max_json_body_bytes
    components: Callable[[Assembly], None] | None = None  # provides what other services use, before any app
    internal_routes: Callable[[Assembly], InternalRoutes] | None = None
    bootstrap: Callable[[Assembly], None] | None = None  # `andromede up`: what must exist before serving
