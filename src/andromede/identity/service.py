"""The identity service object: the one thing routes and the auth middleware hold on to."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace

from andromede.common.clock import utcnow
from andromede.common.config import Settings
from andromede.common.context import RequestContext
from andromede.common.errors import Unauthorized
from andromede.common.keyring import Keyring
from andromede.db.engine import Database
from andromede.identity.auth import Authenticator, ValidatedToken
from andromede.identity.cache import IdentityCache
from andromede.identity.credentials import CredentialStore
from andromede.identity.resource import ProjectDeletedHook
from andromede.identity.throttle import HashGate
from andromede.identity.tokens import TokenCodec


class IdentityService:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.token_keys = Keyring(settings.keys_dir / "token", rotate_after_s=settings.token_key_rotation_s,
                                  keep=3)
        self.codec = TokenCodec(self.token_keys)
        self.credentials = CredentialStore(Keyring(settings.keys_dir / "credential"))
        self.cache = IdentityCache(db, check_interval_s=settings.cache_check_interval_s)
        self.authenticator = Authenticator(db, settings, self.codec, self.credentials, self.cache)
        # Run on each freshly validated token; what they add to the context is cached with it.
        self.context_hooks: list[Callable[[RequestContext], None]] = []
        # Run in the deleting transaction for each project deleted (its id): the services that hold what the
        # project owned deal with it there (the key manager destroys its KEK), so a failure undoes the deletion.
        self.project_deleted_hooks: list[ProjectDeletedHook] = []
        self.hash_gate = HashGate(settings.auth_hash_concurrency or os.cpu_count() or 1, settings.auth_hash_queue)

    @property
    def url(self) -> str:
        return self.settings.base_url + "/identity"

    def context_for_token(self, token: str, request_id: str) -> RequestContext:
        generation = self.cache.generation()
        hit = self.cache.get(("context", token), generation)
        if hit is not None and hit[0] > utcnow():
            return replace(hit[1], request_id=request_id, extras=dict(hit[1].extras))
        validated = self.authenticator.validate(token)
        ctx = context_from(validated, token, request_id)
        for hook in self.context_hooks:
            hook(ctx)
        self.cache.put(("context", token), generation, (validated.payload.expires_at, ctx))
        return replace(ctx, extras=dict(ctx.extras))


def context_from(validated: ValidatedToken, token: str | None, request_id: str) -> RequestContext:
    payload = validated.payload
    ctx = RequestContext(
        request_id=request_id, token_id=token, user_id=validated.user.id,
        user_domain_id=validated.user.domain_id, project_id=payload.project_id,
        project_domain_id=validated.project.domain_id if validated.project else None,
        domain_id=payload.domain_id, system_scope=payload.system,
        roles=frozenset(role.name for role in validated.roles), audit_ids=payload.audit_ids,
        app_cred_id=payload.app_cred_id,
    )
    if validated.app_cred is not None:
        ctx.extras["app_cred_restricted"] = not validated.app_cred.unrestricted
    return ctx


__all__ = ["IdentityService", "ProjectDeletedHook", "Unauthorized", "context_from"]
