"""The internal API is the hosts' heartbeat plus what each service contributes, at the paths agents have always used."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

import andromede.policy.compute  # noqa: F401  (the internal:agent rule)
from andromede.common.config import Settings
from andromede.common.context import RequestContext
from andromede.compute.api import internal as compute_internal
from andromede.db.engine import Database
from andromede.hosts.api import InternalRoutes, build_internal_app
from andromede.hosts.models import Host
from andromede.image.store import ImageStore
from andromede.network import changes as network_changes
from andromede.network import internal_api as network_internal


def test_the_heartbeat_and_each_services_routes_are_mounted(empty_db: Database, tmp_path: Path) -> None:
    store, scopes = ImageStore(tmp_path / "images"), network_changes.watch(empty_db, "hv1")
    app = build_internal_app(Settings(data_dir=tmp_path, insecure_http=True), empty_db, [
        compute_internal.internal_routes(store), network_internal.internal_routes(scopes)])
    host = {"host": "hv1"}
    assert [app.url_path_for(name, **params) for name, params in (
        ("heartbeat", host), ("desired", host), ("observed", {"uuid": "u"}),
        ("image_file", {**host, "image_id": "i"}), ("desired_network", host), ("report_status", host))] == [
        "/v1/hosts/hv1", "/v1/hosts/hv1/instances", "/v1/instances/u/observed", "/v1/hosts/hv1/images/i/file",
        "/v1/hosts/hv1/network", "/v1/hosts/hv1/network/status"]
    assert app.state.image_store == store
    assert len(app.state.vtep_hooks) == 1  # network's documents name other hosts' VXLAN endpoints


def test_a_service_contributes_routes_and_state_without_editing_the_hosts(empty_db: Database, tmp_path: Path) -> None:
    storage = APIRouter(prefix="/v1")

    @storage.get("/hosts/{host}/volumes")
    def volumes(host: str) -> dict:
        return {"host": host}

    app = build_internal_app(Settings(data_dir=tmp_path, insecure_http=True), empty_db,
                             [InternalRoutes(storage, {"volume_store": "here"})])
    assert app.url_path_for("volumes", host="hv1") == "/v1/hosts/hv1/volumes"
    assert app.state.volume_store == "here" and app.state.vtep_hooks == []


def _as_host(app: FastAPI, host: str) -> TestClient:
    """The app behind what the middleware would have set: the context of HOST's agent credential."""

    async def asgi(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})["context"] = RequestContext(request_id="r", user_id="u", host=host)
        await app(scope, receive, send)

    return TestClient(asgi)


def test_a_heartbeat_answers_the_generation_and_wakes_services_when_the_endpoint_moves(
        empty_db: Database, tmp_path: Path) -> None:
    moved: list[str] = []
    app = build_internal_app(Settings(data_dir=tmp_path, insecure_http=True), empty_db,
                             [InternalRoutes(APIRouter(), on_vtep_change=lambda _session, host: moved.append(host))])
    with empty_db.session() as session:
        session.add(Host(name="hv1", desired_generation=7))
    report = {"vcpus": 2, "memory_mib": 1024, "disk_gib": 10, "accelerator": "tcg", "vtep_address": "192.0.2.1"}
    with _as_host(app, "hv1") as client:
        assert client.post("/v1/hosts/hv1", json=report).json() == {"host": "hv1", "generation": 7}
        assert moved == ["hv1"]
        assert client.post("/v1/hosts/hv1", json=report).status_code == 200
        assert len(moved) == 1  # the same endpoint again: nothing to tell
        assert client.post("/v1/hosts/hv2", json=report).status_code == 403
    with _as_host(app, "gone") as client:
        assert client.post("/v1/hosts/gone", json=report).status_code == 404
