"""Helpers the compute routers share."""

from __future__ import annotations

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
