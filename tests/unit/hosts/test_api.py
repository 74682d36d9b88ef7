"""The internal API is the hosts' heartbeat plus what each service contributes, at the paths agents have always used."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from andromede.common.config import Settings
from andromede.compute.api import internal as compute_internal
from andromede.compute.notify import HostNotifier
from andromede.db.engine import Database
from andromede.hosts.api import InternalRoutes, build_internal_app
from andromede.image.store import ImageStore
from andromede.network import internal_api as network_internal
from andromede.network.changes import NetworkChanges, mark_changed


def test_the_heartbeat_and_each_services_routes_are_mounted(empty_db: Database, tmp_path: Path) -> None:
    notifier, store, changes = HostNotifier(), ImageStore(tmp_path / "images"), NetworkChanges(empty_db)
    app = build_internal_app(Settings(data_dir=tmp_path, insecure_http=True), empty_db, [
        compute_internal.internal_routes(notifier, store), network_internal.internal_routes(changes)])
    host = {"host": "hv1"}
    assert [app.url_path_for(name, **params) for name, params in (
        ("heartbeat", host), ("desired", host), ("observed", {"uuid": "u"}),
        ("image_file", {**host, "image_id": "i"}), ("desired_network", host), ("report_status", host))] == [
        "/v1/hosts/hv1", "/v1/hosts/hv1/instances", "/v1/instances/u/observed", "/v1/hosts/hv1/images/i/file",
        "/v1/hosts/hv1/network", "/v1/hosts/hv1/network/status"]
    assert (app.state.notifier, app.state.image_store, app.state.network_changes) == (notifier, store, changes)
    assert app.state.vtep_hooks == [mark_changed]  # network's documents name every host's VXLAN endpoint


def test_a_service_contributes_routes_and_state_without_editing_the_hosts(empty_db: Database, tmp_path: Path) -> None:
    storage = APIRouter(prefix="/v1")

    @storage.get("/hosts/{host}/volumes")
    def volumes(host: str) -> dict:
        return {"host": host}

    app = build_internal_app(Settings(data_dir=tmp_path, insecure_http=True), empty_db,
                             [InternalRoutes(storage, {"volume_store": "here"})])
    assert app.url_path_for("volumes", host="hv1") == "/v1/hosts/hv1/volumes"
    assert app.state.volume_store == "here" and app.state.vtep_hooks == []
