"""Barbican v1 at /key-manager. The master KEK is opened once when the server assembles (a start refuses to go on
if it cannot be: a loose key file, a missing token), and shared as the KeyManager component."""

from __future__ import annotations

from starlette.types import ASGIApp

from andromede.common.errors import ApiError
from andromede.identity.service import IdentityService
from andromede.kms import for_services, models
from andromede.kms.api import build_kms_app
from andromede.kms.certificates import Signer
from andromede.kms.component import KeyManager
from andromede.kms.keystore import open_master_key
from andromede.policy import kms as rules
from andromede.servicekit.descriptor import Assembly, CatalogEntry, ServiceDescriptor


def barbican_error(error: ApiError) -> dict:
    """Barbican's JSONErrorHook body; python-barbicanclient shows "<title>: <description>"."""
    return {"code": error.status, "title": error.title, "description": error.message}


def _components(assembly: Assembly) -> None:
    settings = assembly.settings
    signer = Signer.load_or_create(settings.data_dir / "kms", settings.base_url)
    km = KeyManager(settings, assembly.db, open_master_key(settings), signer)
    assembly.components.provide(km)
    assembly.components.get(IdentityService).project_deleted_hooks.append(
        lambda session, project_id: for_services.destroy_project(session, km, project_id))


def _app(assembly: Assembly) -> ASGIApp:
    return build_kms_app(assembly.components.get(KeyManager))


DESCRIPTOR = ServiceDescriptor(
    name="key-manager", prefix="/key-manager", error_format=barbican_error, build_app=_app,
    models=(models,), rules=(rules,),
    catalog=(CatalogEntry("key-manager", "barbican", "/key-manager", "Key Manager"),),
    components=_components,
)
