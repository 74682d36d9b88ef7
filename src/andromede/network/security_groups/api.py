"""Routes, included by andromede.network.api.build_network_app."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
# (alias, name, description) entries appended to /v2.0/extensions, and collections listed at /v2.0/.
EXTENSIONS: tuple[tuple[str, str, str], ...] = ()
RESOURCES: tuple[str, ...] = ()
