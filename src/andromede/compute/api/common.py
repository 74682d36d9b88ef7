"""Helpers the compute routers share."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request, Response

from andromede.common.config import Settings
from andromede.compute.api.microversion import version_of
from andromede.compute.schemas import Link, View
from andromede.compute.views import Views
from andromede.db.engine import Database


def db_of(request: Request) -> Database:
    return request.app.state.db


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def views_of(request: Request) -> Views:
    return Views(settings_of(request).base_url + "/compute", version_of(request))


def json_view(view: View) -> Response:
    """The document as JSON bytes in one pass, by alias: for long lists, where FastAPI's walk over the envelope
    (dump, validate, serialise, json.dumps) would cost more than building the views."""
    return Response(view.model_dump_json(by_alias=True), media_type="application/json")


def next_link(base: str, params: dict[str, str], last_id: str) -> list[Link]:
    """Nova's `<collection>_links`: the request's own query with the page's last id as marker."""
    return [Link(rel="next", href=f"{base}?{urlencode({**params, 'marker': last_id})}")]
