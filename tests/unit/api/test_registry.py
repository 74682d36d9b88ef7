"""Adding a service is one descriptor and one registry line: a toy service, added to a test-only registry (the real one
untouched), gets its routes mounted behind the pipeline, its own error format, its tables, its catalog entry, and its
part of the internal API."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import APIRouter, Depends, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column
from starlette.types import ASGIApp

from andromede import registry
from andromede.api.app import build_app, catalog_entries
from andromede.common.config import Settings
from andromede.common.context import RequestContext
from andromede.common.errors import ApiError
from andromede.db.base import Base
from andromede.db.engine import Database
from andromede.db.migrate import upgrade
from andromede.policy import enforce, mark_public
from andromede.servicekit.deps import context
from andromede.servicekit.descriptor import Assembly, CatalogEntry, InternalRoutes, ServiceDescriptor
from andromede.servicekit.service_app import service_app


class Widget(Base):
    __tablename__ = "toy_widgets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))


class WidgetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


class Greeting:
    """A component the toy shares through the assembly."""

    def __init__(self, text: str) -> None:
        self.text = text


def toy_error(error: ApiError) -> dict:
    return {"toyFault": {"status": error.status, "why": error.message}}


router = APIRouter(prefix="/v1")


@router.get("/widgets")
def list_widgets(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    mark_public(ctx)
    db: Database = request.app.state.db
    with db.session() as session:
        names = list(session.scalars(select(Widget.name).order_by(Widget.id)))
    return {"greeting": request.app.state.greeting.text, "widgets": names}


@router.post("/widgets", status_code=201)
def create_widget(body: WidgetCreate, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    mark_public(ctx)
    db: Database = request.app.state.db
    with db.session() as session:
        session.add(Widget(name=body.name))
    return {"widget": body.name}


internal_router = APIRouter(prefix="/v1")


@internal_router.get("/hosts/{host}/widgets")
def desired_widgets(host: str, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "internal:agent")
    return {"widgets": []}


def _components(assembly: Assembly) -> None:
    assembly.components.provide(Greeting("hello"))


def _app(assembly: Assembly) -> ASGIApp:
    app = service_app("toy")
    app.state.db = assembly.db
    app.state.greeting = assembly.components.get(Greeting)
    app.include_router(router)
    return app


def _internal(_assembly: Assembly) -> InternalRoutes:
    return InternalRoutes(internal_router)


TOY = ServiceDescriptor(
    name="toy", prefix="/toy", error_format=toy_error, build_app=_app,
    models=(sys.modules[__name__],), catalog=(CatalogEntry("toy", "toybox", "/toy/v1", "Toys"),),
    components=_components, internal_routes=_internal,
)
SERVICES = (*registry.SERVICES, TOY)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data: Path = tmp_path_factory.mktemp("toy")
    settings = Settings(data_dir=data, tiny_image="skip", agent_driver="none",
                        database_url=f"sqlite:///{data / 'db.sqlite'}")
    db = Database(settings.db_url)
    upgrade(db.engine)
    Base.metadata.create_all(db.engine, tables=registry.tables([TOY]))  # a real service ships a migration
    try:
        yield TestClient(build_app(settings, db, SERVICES).asgi, raise_server_exceptions=False)
    finally:
        db.engine.dispose()


def test_its_tables_are_its_own() -> None:
    assert registry.tables([TOY]) == [Widget.__table__]
    assert Widget.__table__ not in registry.tables()
    # The real registry names every other table there is: nothing else need import a models module for them
    # (but the db layer's own: the change generations every service marks).
    assert {t.name for t in registry.tables()} == set(Base.metadata.tables) - {"toy_widgets", "change_generations"}


def test_its_routes_are_mounted_behind_the_pipeline(client: TestClient) -> None:
    created = client.post("/toy/v1/widgets", json={"name": "spinner"})
    assert created.status_code == 201, created.text
    listed = client.get("/toy/v1/widgets")
    assert listed.json() == {"greeting": "hello", "widgets": ["spinner"]}
    assert listed.headers["x-openstack-request-id"].startswith("req-")
    assert "toy" in client.get("/").json()["services"]


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("GET", "/toy/v1/nothing", None, 404),
    ("DELETE", "/toy/v1/widgets", None, 405),
    ("POST", "/toy/v1/widgets", {"name": "x", "colour": "red"}, 400),
    ("POST", "/toy/v1/widgets", "[" * 100, 400),  # the pipeline's JSON check, before the app
])
def test_its_errors_come_in_its_own_format(client: TestClient, method: str, path: str, body: object,
                                           status: int) -> None:
    if isinstance(body, str):
        response = client.request(method, path, content=body, headers={"content-type": "application/json"})
    else:
        response = client.request(method, path, json=body)
    assert response.status_code == status
    assert set(response.json()) == {"toyFault"}
    assert response.json()["toyFault"]["status"] == status


def test_other_services_keep_their_formats(client: TestClient) -> None:
    assert set(client.get("/compute/v2.1/nothing").json()) == {"itemNotFound"}
    assert set(client.get("/network/v2.0/nothing").json()) == {"NeutronError"}


def test_its_catalog_entry_and_internal_routes(client: TestClient) -> None:
    assert CatalogEntry("toy", "toybox", "/toy/v1", "Toys") in catalog_entries(SERVICES)
    assert CatalogEntry("toy", "toybox", "/toy/v1", "Toys") not in catalog_entries()
    refused = client.get("/internal/v1/hosts/h1/widgets")  # routed (not 404): a host credential is missing
    assert refused.status_code == 401
    assert set(refused.json()) == {"error"}
