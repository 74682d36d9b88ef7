"""The metadata service at /metadata: guests reach it through their network's proxy and the host agent's relay,
with no token but a signed instance id."""

from __future__ import annotations

from starlette.types import ASGIApp

from andromede.common.config import Settings
from andromede.contracts import metadata as signing
from andromede.metadata.api import build_metadata_app
from andromede.servicekit import errors
from andromede.servicekit.descriptor import Assembly, LimitRule, ServiceDescriptor


def _body_limit(_settings: Settings) -> LimitRule:
    return lambda _scope: 64 * 1024


def _app(assembly: Assembly) -> ASGIApp:
    settings = assembly.settings
    return build_metadata_app(assembly.db, settings.data_dir / signing.SECRET_FILE,
                              network_host=settings.the_network_host)


def _bootstrap(assembly: Assembly) -> None:
    signing.ensure_secret(assembly.settings.data_dir)  # the HMAC key, shared with host agents


DESCRIPTOR = ServiceDescriptor(
    name="metadata", prefix="/metadata", error_format=errors.keystone, build_app=_app,
    body_limit=_body_limit, bootstrap=_bootstrap,
)
