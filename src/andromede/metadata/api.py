"""The metadata service's ASGI app, mounted at /metadata. No tokens: the caller is the instance the relay names.

Every request carries X-Instance-ID, X-Tenant-ID and X-Instance-ID-Signature (hex HMAC-SHA256 of the instance id
with the metadata secret, or with the key of the host named in X-Instance-Host: then the instance must run on that
host, unless it is the network host). A missing or wrong signature is a bare 403; an instance that does not exist, is
deleted or is not the tenant's is a bare 404. Nothing else is ever said about why.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from andromede.compute.for_metadata import InstanceView, live_instance, store_password
from andromede.contracts import metadata as signing
from andromede.contracts.compute import DriveFacts, config_drive_content
from andromede.db.engine import Database
from andromede.metadata import hooks, tree
from andromede.policy import mark_public

log = logging.getLogger("andromede.metadata")

METHODS = ("GET", "HEAD")
PASSWORD_MAX_BYTES = 4 * 255  # Nova's CHUNKS * CHUNK_LENGTH (nova/api/metadata/password.py)
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _plain(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    return Response(text + "\n", status_code=status, media_type="text/plain; charset=utf-8", headers=headers)


def forbidden() -> Response:
    return _plain(403, "403 Forbidden")


def not_found() -> Response:
    return _plain(404, "404 Not Found")


class SecretFile:
    """The metadata secret, read on first use (server prepare creates it) and kept once read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._value: bytes | None = None
        self._lock = threading.Lock()

    def get(self) -> bytes | None:
        if self._value is None:
            with self._lock:
                try:
                    self._value = signing.load_secret(self.path)
                except (OSError, ValueError) as exc:
                    log.error("metadata secret unusable (%s): every metadata request is refused", exc)
        return self._value


@dataclass(frozen=True)
class Hooks:
    network_data: Callable[[Session, InstanceView], dict] = hooks.network_data
    instance_addresses: Callable[[Session, InstanceView], tuple[str | None, str | None]] = hooks.instance_addresses
    security_groups: Callable[[Session, InstanceView], list[str]] = hooks.security_groups


def _drive_facts(instance: InstanceView) -> DriveFacts:
    """What the config drive is made of (the agent derives its drive from the same facts)."""
    return DriveFacts(uuid=instance.uuid, name=instance.name, hostname=instance.hostname,
                      project_id=instance.project_id, key_name=instance.key_name, key_data=instance.key_data,
                      user_data=instance.user_data, meta=instance.meta,
                      availability_zone=instance.availability_zone, launch_index=instance.launch_index)


def instance_facts(session: Session, instance: InstanceView, found: Hooks) -> tree.InstanceFacts:
    """The same documents the config drive carries, plus what only the network knows."""
    drive = config_drive_content(_drive_facts(instance))
    fixed, floating = found.instance_addresses(session, instance)
    return tree.InstanceFacts(
        meta_data=drive.meta_data, user_data=drive.user_data, vendor_data=drive.vendor_data,
        network_data=found.network_data(session, instance),
        ec2_instance_id=tree.ec2_id("i", instance.uuid), ami_id=tree.ec2_id("ami", instance.image_id),
        hostname=instance.hostname, instance_type=instance.flavor_name,
        reservation_id=instance.reservation_id, fixed_ipv4=fixed, floating_ipv4=floating,
        security_groups=tuple(found.security_groups(session, instance)), password=instance.password)


def build_metadata_app(db: Database, secret_path: Path, *, found: Hooks | None = None,
                       network_host: str | None = None) -> Starlette:
    """`network_host`: the host whose relays serve every network's guests; any other host's key vouches only for
    the instances scheduled on that host."""
    secret = SecretFile(secret_path)
    source = found or Hooks()

    def load(instance_id: str, tenant_id: str, host: str | None) -> tree.InstanceFacts | None:
        with db.session() as session:
            instance = live_instance(session, instance_id)
            if instance is None or instance.project_id != tenant_id:
                return None
            if host is not None and host != network_host and instance.host != host:
                return None
            return instance_facts(session, instance, source)

    async def serve(request: Request) -> Response:
        context = request.scope.get("state", {}).get("context")
        if context is not None:
            mark_public(context)  # no token here: the signature below is the check
        path = request.path_params.get("path", "")
        posting_password = request.method == "POST" and tree.is_password_path(path)
        if request.method not in METHODS and not posting_password:
            return _plain(405, "405 Method Not Allowed", {"Allow": ", ".join(METHODS)})
        instance_id = request.headers.get(signing.INSTANCE_ID_HEADER)
        tenant_id = request.headers.get(signing.TENANT_ID_HEADER)
        signature = request.headers.get(signing.SIGNATURE_HEADER)
        host = request.headers.get(signing.HOST_HEADER)
        key = secret.get()
        if key is not None and host is not None:
            key = signing.host_secret(key, host)
        if not signing.verify(key, instance_id, signature) or not tenant_id:
            log.warning("metadata request with a missing or bad instance signature refused")
            return forbidden()
        assert instance_id is not None
        facts = await run_in_threadpool(load, instance_id, tenant_id, host)
        if facts is None:
            return not_found()
        if posting_password:
            return await _post_password(request, instance_id, facts)
        answer = tree.resolve(request.path_params.get("path", ""), facts)
        if answer is None:
            return not_found()
        return Response(answer.body, media_type=answer.content_type)

    async def _post_password(request: Request, instance_id: str, facts: tree.InstanceFacts) -> Response:
        """Nova's handle_password: one post, kept; 409 once one is held, 400 past the size limit."""
        if facts.password:
            return _plain(409, "409 Conflict")
        body = await request.body()
        if len(body) > PASSWORD_MAX_BYTES:
            return _plain(400, "400 Bad Request\n\nRequest is too large.")
        try:
            text = body.decode()
        except UnicodeDecodeError:
            return _plain(400, "400 Bad Request")

        def store() -> bool:
            with db.session() as session:
                return store_password(session, instance_id, text)

        return Response(status_code=200) if await run_in_threadpool(store) else _plain(409, "409 Conflict")

    return Starlette(routes=[Route("/{path:path}", serve, methods=_ALL_METHODS)])
