"""Helpers the compute routers share."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request

from andromede.common.config import Settings
from andromede.compute.views import Views
from andromede.db.engine import Database


def db_of(request: Request) -> Database:
    return request.app.state.db


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def views_of(request: Request) -> Views:
    return Views(settings_of(request).base_url + "/compute")


def next_link(base: str, params: dict[str, str], last_id: str) -> list[dict[str, str]]:
    """Nova's `<collection>_links`: the request's own query with the page's last id as marker."""
    return [{"rel": "next", "href": f"{base}?{urlencode({**params, 'marker': last_id})}"}]
