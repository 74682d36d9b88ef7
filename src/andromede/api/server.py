"""`andromede up`: prepare the data dir (lock, TLS, schema, bootstrap, catalog) and serve."""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from andromede.api.app import build_app, catalog_entries
from andromede.common.config import Settings
from andromede.common.lockfile import DataDirLock
from andromede.common.tls import ensure_certificates
from andromede.compute.agent.local import LocalAgent
from andromede.db.engine import Database
from andromede.db.migrate import upgrade
from andromede.identity import bootstrap
from andromede.identity.credentials import CredentialStore
from andromede.identity.service import IdentityService

log = logging.getLogger("andromede")


@dataclass
class Prepared:
    app: ASGIApp
    db: Database
    first_start: bool
    bootstrap: bootstrap.BootstrapResult | None
    cert: str | None
    key: str | None


def prepare(settings: Settings) -> Prepared:
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(settings.data_dir, 0o700)
    cert = key = None
    if not settings.insecure_http:
        hosts = [settings.listen_host, socket.gethostname()]
        _ca, cert_path, key_path = ensure_certificates(settings.tls_dir, hosts)
        cert, key = str(cert_path), str(key_path)
    db = Database(settings.db_url)
    upgrade(db.engine)
    assembled = build_app(settings, db)
    identity = assembled.assembly.components.get(IdentityService)
    identity.token_keys.rotate_if_due()
    result = None
    with db.session() as session:
        first = not bootstrap.is_bootstrapped(session)
        if first:
            result = bootstrap.bootstrap(session, settings, CredentialStore(identity.credentials.keyring))
        bootstrap.ensure_standard_roles(session)
        bootstrap.rebind_admin_cloud(session, settings)
        bootstrap.sync_catalog(session, settings, catalog_entries(assembled.assembly.services))
    if result is not None:
        # At once: the secrets exist nowhere else, and a later service bootstrap may fail (a tiny image that
        # cannot be built); the next start finds identity bootstrapped and would never show them again.
        bootstrap.write_client_files(settings, result)
    for service in assembled.assembly.services:  # identity's, above, comes first: the others need its admin
        if service.bootstrap is not None:
            service.bootstrap(assembled.assembly)
    if result is None:
        # After the services': the host agent's credential file (hosts) and the metadata key are refreshed here.
        bootstrap.refresh_client_files(settings)
    return Prepared(assembled.asgi, db, first, result, cert, key)


def banner(settings: Settings, prepared: Prepared) -> str:
    clouds = settings.data_dir / "clouds.yaml"
    lines = [
        f"Andromède is serving {settings.base_url} (data in {settings.data_dir}).",
        "",
        "Use it with the OpenStack client:",
        f"  export OS_CLIENT_CONFIG_FILE={clouds}",
        "  openstack --os-cloud andromede token issue          # the demo project",
        "  openstack --os-cloud andromede-admin project list    # cloud operator: a system-scoped credential",
    ]
    if prepared.bootstrap is not None:
        lines += ["", f"Admin password and TOTP enrolment URI (shown once): {settings.data_dir / 'admin-credentials'}"]
    return "\n".join(lines)


def _exit_on_sigterm(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def serve(settings: Settings) -> None:
    lock = DataDirLock(settings.data_dir) if settings.data_dir.exists() else None
    if lock is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = DataDirLock(settings.data_dir)
    lock.acquire()
    try:
        prepared = prepare(settings)
        # Everything built so far lives as long as the server: keep it out of the collector's way
        # (full collections of a big heap were the slow tail of large listings).
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 20)
        # uvicorn re-raises SIGTERM once it has shut down; turn that into an exit so the agent is stopped.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        agent = LocalAgent(settings)
        agent.start()  # it waits for the API below to answer
        print(banner(settings, prepared), flush=True)
        try:
            # The client address (login throttling) is the socket peer unless proxies are named: uvicorn's
            # default would believe X-Forwarded-For from any local process.
            uvicorn.run(prepared.app, host=settings.listen_host, port=settings.listen_port,
                        ssl_certfile=prepared.cert, ssl_keyfile=prepared.key, log_level="warning",
                        access_log=False, server_header=False, timeout_graceful_shutdown=2,
                        proxy_headers=bool(settings.trusted_proxies),
                        forwarded_allow_ips=settings.trusted_proxies or None)
        finally:
            agent.stop()
    finally:
        lock.release()
