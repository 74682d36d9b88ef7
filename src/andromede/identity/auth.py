"""Authentication (password, token, application credential, TOTP), MFA rules, scoping, validation.

Every authentication failure answers the same 401 whatever went wrong (unknown user, wrong password,
locked account, disabled user): the response must not tell an attacker which one it was. Failed passwords
and passcodes are throttled per (account, client address), for unknown names as for users (throttle.py).
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import pyotp
from sqlalchemy.orm import Session

from andromede.common.clock import isotime, utcnow
from andromede.common.config import Settings
from andromede.common.errors import BadRequest, Unauthorized
from andromede.common.ids import audit_id
from andromede.common.passwords import verify_secret
from andromede.db.engine import Database
from andromede.identity import assignment, catalog, resource, revoke, users
from andromede.identity.cache import CACHE_NEUTRAL, IdentityCache
from andromede.identity.credentials import CredentialStore, claim_totp_step, list_application_credentials
from andromede.identity.models import ApplicationCredential, Domain, Project, Role, User
from andromede.identity.schemas import AppCredMethod, AuthIdentity, AuthRequest, AuthUser, DomainRef
from andromede.identity.throttle import LoginThrottle, ThrottlePolicy, account_key
from andromede.identity.tokens import InvalidToken, ReceiptPayload, TokenCodec, TokenPayload

SUPPORTED_METHODS = ("password", "token", "application_credential", "totp")
# What an administrator's interactive login must show, whichever methods it names (admin_mfa_required).
ADMIN_FACTORS = ("password", "totp")
TOTP_STEP_S = 30


@dataclass
class ValidatedToken:
    payload: TokenPayload
    user: User
    user_domain: Domain
    project: Project | None
    project_domain: Domain | None
    domain: Domain | None
    roles: list[Role]
    app_cred: ApplicationCredential | None


def _auth_failed() -> Unauthorized:
    return Unauthorized("The request you have made requires authentication.")


class _WrongSecret(Exception):
    """A password or passcode did not prove who the client named (unknown, wrong, replayed, locked)."""


class Authenticator:
    def __init__(self, db: Database, settings: Settings, codec: TokenCodec, credentials: CredentialStore,
                 cache: IdentityCache) -> None:
        self.db = db
        self.cache = cache
        self.settings = settings
        self.codec = codec
        self.credentials = credentials
        self.throttle = LoginThrottle(db, ThrottlePolicy.from_settings(settings))

    # ---- issuing ------------------------------------------------------------------------------

    @staticmethod
    def needs_database(request: AuthRequest) -> bool:
        """Token rescopes run on cached state alone; secrets (passwords, TOTP, app credentials) need a read."""
        return any(method != "token" for method in request.auth.identity.methods)

    def authenticate(self, session: Session | None, request: AuthRequest, receipt: str | None,
                     client: str = "") -> TokenPayload:
        """The token a request earns; `client` is the caller's address as throttle.client_key gives it."""
        identity = request.auth.identity
        methods = identity.methods
        if len(set(methods)) != len(methods):
            raise BadRequest("Each authentication method may appear only once.")
        unknown = [m for m in methods if m not in SUPPORTED_METHODS]
        if unknown:
            raise Unauthorized("Attempted to authenticate with an unsupported method.")
        for method in methods:
            if getattr(identity, method) is None:
                raise BadRequest(f"The '{method}' method was listed but its data is missing.")

        now = utcnow()
        user_ids: set[str] = set()
        parent: TokenPayload | None = None
        app_cred: ApplicationCredential | None = None
        if identity.token is not None and "token" in methods:
            parent = self._check_parent_token(identity.token.id)
            user_ids.add(parent.user_id)
        if self.needs_database(request):
            if session is None:
                raise ValueError("password, totp and application_credential need a database session")
            user_ids |= self._check_user_secrets(session, identity, client, now)
            if identity.application_credential is not None and "application_credential" in methods:
                app_cred = self._check_app_cred(session, identity.application_credential)
                user_ids.add(app_cred.user_id)

        used = list(methods)
        if receipt:
            try:
                previous = self.codec.decode_receipt(receipt)
            except InvalidToken as exc:
                raise _auth_failed() from exc
            if previous.expires_at <= now:
                raise _auth_failed()
            user_ids.add(previous.user_id)
            used = list(dict.fromkeys([*previous.methods, *used]))
        if len(user_ids) != 1:
            raise _auth_failed()
        user, user_domain = self._active_user(user_ids.pop())

        if parent is not None:
            # As Keystone: a rescoped token carries the methods its parent was earned with and must meet the
            # same rules, so a one-factor token made before its user became an administrator stays one-factor.
            used = list(dict.fromkeys(["token", *parent.methods]))
        if app_cred is None and (parent is None or parent.app_cred_id is None):  # app credentials: no MFA
            self._check_mfa(user, user_domain, used, now, rescope=parent is not None)

        project_id, domain_id, system = self._resolve_scope(request, user, parent, app_cred)
        expires = now + timedelta(seconds=self.settings.token_expiration_s)
        if parent is not None:
            expires = min(expires, parent.expires_at)
        if app_cred is not None and app_cred.expires_at is not None:
            expires = min(expires, app_cred.expires_at)
        audit_ids = (audit_id(), parent.audit_chain_id) if parent is not None else (audit_id(),)
        return TokenPayload(user_id=user.id, methods=tuple(used), issued_at=now, expires_at=expires,
                            audit_ids=audit_ids, project_id=project_id, domain_id=domain_id, system=system,
                            app_cred_id=app_cred.id if app_cred else (parent.app_cred_id if parent else None))

    def _resolve_user(self, session: Session, ref: AuthUser) -> User | None:
        if ref.id is not None:
            return session.get(User, ref.id)
        if ref.name is None or ref.domain is None:
            raise BadRequest("A user must be given by id, or by name and domain.")
        domain = self._resolve_domain(ref.domain)
        if domain is None:
            return None
        return users.find_user(session, user_id=None, name=ref.name, domain_id=domain.id)

    def _resolve_domain(self, ref: DomainRef) -> Domain | None:
        if ref.id is None and ref.name is None:
            raise BadRequest("A domain must be given by id or name.")
        domain, _ = self.cache.memo(("domain_ref", ref.id, ref.name),
                                    lambda s: (resource.find_domain(s, domain_id=ref.id, name=ref.name), None))
        return domain

    def _project(self, project_id: str) -> tuple[Project | None, Domain | None]:
        return self.cache.memo(("project", project_id), lambda s: _with_domain(s, Project, project_id))

    def _project_id_by_name(self, name: str, domain_id: str) -> str | None:
        def compute(session: Session) -> tuple[str | None]:
            project = resource.find_project(session, project_id=None, name=name, domain_id=domain_id)
            return (project.id if project else None,)

        return self.cache.memo(("project_id_by_name", name, domain_id), compute)[0]

    def _account_key(self, ref: AuthUser) -> str:
        """Whom a login names, computed alike whether that user exists or not, so the throttle is no oracle.

        A user given by id is keyed by that id; one given by name by (domain, name), the domain by its id when
        it resolves and as named when it does not. A real user named both ways has two keys, as a made-up one.
        """
        if ref.id is not None:
            return account_key("id", ref.id)
        if ref.name is None or ref.domain is None:
            raise BadRequest("A user must be given by id, or by name and domain.")
        domain = self._resolve_domain(ref.domain)
        if domain is not None:
            return account_key("name", "domain", domain.id, ref.name)
        named_as = ("domain-id", ref.domain.id) if ref.domain.id is not None else ("domain-name", ref.domain.name)
        return account_key("name", *named_as, ref.name)

    def _active_user(self, user_id: str) -> tuple[User, Domain]:
        user, domain = self.cache.memo(("user", user_id), lambda s: _with_domain(s, User, user_id))
        if user is None or not user.enabled or domain is None or not domain.enabled:
            raise _auth_failed()
        return user, domain

    def _role_ids(self, user_id: str, target_type: str, target_id: str) -> frozenset[str]:
        return self.cache.memo(("role_ids", user_id, target_type, target_id),
                               lambda s: frozenset(assignment.effective_role_ids(s, user_id, target_type, target_id)))

    def _check_user_secrets(self, session: Session, identity: AuthIdentity, client: str,
                            now: datetime) -> set[str]:
        """Check the password and TOTP methods; the ids of the users they proved.

        Before any secret is checked, an address that failed too often for the account it names is refused
        (429); after, a failure counts against that (account, address) whatever went wrong, so that the
        answers to an unknown user, a locked one and a wrong password move the throttle alike.
        """
        password = identity.password if "password" in identity.methods else None
        totp = identity.totp if "totp" in identity.methods else None
        if password is not None and password.user.password is None:
            raise BadRequest("The password method needs user.password.")
        if totp is not None and not totp.user.passcode:
            raise BadRequest("The totp method needs user.passcode.")
        named = [(method.user, self._resolve_user(session, method.user), is_password)
                 for method, is_password in ((password, True), (totp, False)) if method is not None]
        keys = list(dict.fromkeys(self._account_key(ref) for ref, _, _ in named))
        states = [self.throttle.check(session, key, client, now) for key in keys]
        user_ids: set[str] = set()
        try:
            for ref, user, is_password in named:
                if is_password:
                    user_ids.add(self._check_password(user, ref.password or "", now))
                else:
                    user_ids.add(self._check_totp(session, user, ref.passcode or ""))
        except _WrongSecret as exc:
            for key in keys:
                self.throttle.record_failure(key, client, now)
            raise _auth_failed() from exc
        for key, state in zip(keys, states, strict=True):
            if state.has_failures:
                self.throttle.forget(key, client)
        return user_ids

    def change_own_password(self, user_id: str, original: str, new: str, client: str) -> None:
        """POST /v3/users/{id}/password: a wrong original password is a failed login for the throttle.

        Keyed as a login naming the user by id, so guesses spread over both routes share one budget.
        """
        now = utcnow()
        key = account_key("id", user_id)
        try:
            with self.db.session() as session:
                state = self.throttle.check(session, key, client, now)
                users.change_own_password(session, self.settings, user_id, original, new)
        except Unauthorized:
            self.throttle.record_failure(key, client, now)
            raise
        if state.has_failures:
            self.throttle.forget(key, client)

    def _check_password(self, user: User | None, password: str, now: datetime) -> str:
        locked = self._locked_out(user, now)
        # Always run the hash, so the answer takes as long for unknown and locked users.
        ok = verify_secret(user.password_hash if user is not None else None, password)
        if user is None or locked:
            raise _WrongSecret()
        if not ok:
            self._count_toward_lockout(user.id)
            raise _WrongSecret()
        if user.failed_auth_count:
            user.failed_auth_count = 0
            user.locked_until = None
        return user.id

    def _check_totp(self, session: Session, user: User | None, passcode: str) -> str:
        if user is None or self._locked_out(user, utcnow()):
            raise _WrongSecret()
        current = int(time.time()) // TOTP_STEP_S
        given = passcode.encode()
        seeds, last_step = self.credentials.totp_secrets(session, user.id)
        for secret in seeds:
            for step in (current - 1, current, current + 1):  # one step of clock drift either way
                if last_step is not None and step <= last_step:
                    continue  # a passcode is good once (RFC 6238 5.2), and never one older than the last used
                try:
                    expected = pyotp.TOTP(secret).generate_otp(step).encode()
                except (ValueError, TypeError):
                    break
                if hmac.compare_digest(expected, given):
                    if claim_totp_step(self.db, user.id, step):
                        return user.id
                    break  # this user already spent this step (another copy of the seed, or a racing request)
        self._count_toward_lockout(user.id)
        raise _WrongSecret()

    def _locked_out(self, user: User | None, now: datetime) -> bool:
        return (bool(self.settings.lockout_failure_attempts) and user is not None
                and user.locked_until is not None and user.locked_until > now)

    def _count_toward_lockout(self, user_id: str) -> None:
        """The opt-in account lockout; counted in its own transaction: the request's rolls back with the 401."""
        attempts = self.settings.lockout_failure_attempts
        if not attempts:
            return
        with self.db.session() as session:
            session.info[CACHE_NEUTRAL] = True
            user = session.get(User, user_id)
            if user is None or user.options.get("ignore_lockout_failure_attempts"):
                return
            now = utcnow()
            if user.locked_until is not None and user.locked_until <= now:
                user.failed_auth_count = 0
                user.locked_until = None
            user.failed_auth_count += 1
            if user.failed_auth_count >= attempts:
                user.locked_until = now + timedelta(seconds=self.settings.lockout_duration_s)

    def _check_parent_token(self, token: str) -> TokenPayload:
        return self.validate(token).payload

    def _check_app_cred(self, session: Session, ref: AppCredMethod) -> ApplicationCredential:
        credential: ApplicationCredential | None = None
        if ref.id is not None:
            credential = session.get(ApplicationCredential, ref.id)
        elif ref.name is not None and ref.user is not None:
            owner = self._resolve_user(session, ref.user)
            if owner is not None:
                matches = [c for c in list_application_credentials(session, owner.id) if c.name == ref.name]
                credential = matches[0] if matches else None
        else:
            raise BadRequest("An application credential must be given by id, or by name and user.")
        ok = verify_secret(credential.secret_hash if credential else None, ref.secret)
        if credential is None or not ok:
            raise _auth_failed()
        if credential.expires_at is not None and credential.expires_at <= utcnow():
            raise _auth_failed()
        return credential

    def _check_mfa(self, user: User, domain: Domain, used: list[str], now: datetime, *, rescope: bool) -> None:
        """Keystone's multi_factor_auth_rules, plus password+TOTP for administrators, whatever methods they used.

        Not met: 401 (Keystone's InsufficientAuthMethods) with an auth receipt for the methods just proven,
        which the client completes with the others. A rescope gets no receipt: its token proves nothing now.
        """
        rules: list[list[str]] = []
        if user.options.get("multi_factor_auth_enabled") and user.options.get("multi_factor_auth_rules"):
            rules = [list(rule) for rule in user.options["multi_factor_auth_rules"] if rule]
        if self.settings.admin_mfa_required and self._holds_admin(user):
            rules = [sorted(set(rule) | set(ADMIN_FACTORS)) for rule in rules] or [list(ADMIN_FACTORS)]
        if not rules or any(set(rule) <= set(used) for rule in rules):
            return
        message = f"Insufficient auth methods received for {user.id}. Auth Methods Provided: [{','.join(used)}]."
        if rescope:
            raise Unauthorized(message)
        receipt = ReceiptPayload(user_id=user.id, methods=tuple(used), issued_at=now,
                                 expires_at=now + timedelta(seconds=self.settings.receipt_expiration_s))
        body = {
            "receipt": {
                "methods": list(used), "issued_at": isotime(now), "expires_at": isotime(receipt.expires_at),
                "user": {"id": user.id, "name": user.name, "domain": {"id": domain.id, "name": domain.name}},
            },
            "required_auth_methods": [rule for rule in rules if set(used) & set(rule)] or rules,
        }
        raise Unauthorized(message, headers={"Openstack-Auth-Receipt": self.codec.encode_receipt(receipt)},
                           extra=body)

    def _holds_admin(self, user: User) -> bool:
        def compute(session: Session) -> tuple[bool]:
            admin = assignment.find_role(session, name="admin")
            return (admin is not None and assignment.user_holds_role_anywhere(session, user.id, admin.id),)

        return self.cache.memo(("holds_admin", user.id), compute)[0]

    def _resolve_scope(self, request: AuthRequest, user: User, parent: TokenPayload | None,
                       app_cred: ApplicationCredential | None) -> tuple[str | None, str | None, bool]:
        scope = request.auth.scope
        if app_cred is not None:
            if scope not in (None, "unscoped"):
                raise Unauthorized("Application credentials cannot request a scope.")
            if app_cred.system is not None:
                if not self._role_ids(user.id, "system", "all"):
                    raise _auth_failed()
                return None, None, True
            self._require_project_access(user.id, app_cred.project_id or "")
            return app_cred.project_id, None, False
        if parent is not None and parent.app_cred_id is not None:
            raise Unauthorized("A token from an application credential cannot be rescoped.")
        if scope == "unscoped":
            return None, None, False
        if scope is None:
            project_id = user.default_project_id
            if project_id:
                project, domain = self._project(project_id)
                if (project is not None and project.enabled and domain is not None and domain.enabled
                        and self._role_ids(user.id, "project", project_id)):
                    return project_id, None, False
            return None, None, False
        if scope.trust is not None:
            raise BadRequest("Trusts are not supported.")
        chosen = [name for name in ("project", "domain", "system") if getattr(scope, name) is not None]
        if len(chosen) != 1:
            raise BadRequest("Specify exactly one of project, domain or system scope.")
        if scope.project is not None:
            ref = scope.project
            project_id = ref.id
            if project_id is None:
                if ref.name is None or ref.domain is None:
                    raise BadRequest("A project must be given by id, or by name and domain.")
                domain = self._resolve_domain(ref.domain)
                if domain is None:
                    raise _auth_failed()
                project_id = self._project_id_by_name(ref.name, domain.id)
            if project_id is None:
                raise _auth_failed()
            self._require_project_access(user.id, project_id)
            return project_id, None, False
        if scope.domain is not None:
            domain = self._resolve_domain(scope.domain)
            if domain is None or not domain.enabled or not self._role_ids(user.id, "domain", domain.id):
                raise _auth_failed()
            return None, domain.id, False
        if scope.system is not None and scope.system.all:
            if not self._role_ids(user.id, "system", "all"):
                raise _auth_failed()
            return None, None, True
        raise BadRequest("Unsupported scope.")

    def _require_project_access(self, user_id: str, project_id: str) -> None:
        project, domain = self._project(project_id)
        if project is None or not project.enabled or domain is None or not domain.enabled:
            raise _auth_failed()
        if not self._role_ids(user_id, "project", project_id):
            raise Unauthorized(f"User {user_id} has no access to the requested project.")

    # ---- validating ---------------------------------------------------------------------------

    def validate(self, token: str, *, allow_expired: bool = False) -> ValidatedToken:
        """Decode and check a token against the current state; raise Unauthorized when it is not valid.

        Everything it reads comes through the generation cache, so a warm validation runs no query.
        """
        invalid = Unauthorized("The token is invalid or has expired.")
        try:
            payload = self.codec.decode(token)
        except InvalidToken as exc:
            raise invalid from exc
        now = utcnow()
        if payload.expires_at <= now and not allow_expired:
            raise invalid
        memo = self.cache.memo
        if revoke.is_revoked(memo(("revocations",), revoke.load_events), payload):
            raise invalid
        user, user_domain = memo(("user", payload.user_id), lambda s: _with_domain(s, User, payload.user_id))

        if user is None or not user.enabled or user_domain is None or not user_domain.enabled:
            raise invalid

        project = project_domain = domain = None
        app_cred = None
        if project_id := payload.project_id:
            project, project_domain = memo(("project", project_id), lambda s: _with_domain(s, Project, project_id))
            if project is None or not project.enabled or project_domain is None or not project_domain.enabled:
                raise invalid
            target = ("project", project.id)
        elif payload.domain_id:
            domain, _ = memo(("domain", payload.domain_id), lambda s: (s.get(Domain, payload.domain_id), None))
            if domain is None or not domain.enabled:
                raise invalid
            target = ("domain", domain.id)
        elif payload.system:
            target = ("system", "all")
        else:
            target = None
        role_ids: frozenset[str] = frozenset()
        if target is not None:
            role_ids = memo(("role_ids", user.id, *target),
                            lambda s: frozenset(assignment.effective_role_ids(s, user.id, *target)))
        if payload.app_cred_id:
            app_cred, _ = memo(("app_cred", payload.app_cred_id),
                               lambda s: (s.get(ApplicationCredential, payload.app_cred_id), None))
            if app_cred is None or (app_cred.expires_at is not None and app_cred.expires_at <= now
                                    and not allow_expired):
                raise invalid
            allowed = memo(("app_cred_roles", app_cred.id),
                           lambda s: frozenset(assignment.expand_implied(s, set(app_cred.role_ids))))
            role_ids = role_ids & allowed
        if payload.scoped and not role_ids:
            raise invalid
        roles = memo(("role_rows", role_ids), lambda s: tuple(assignment.roles_by_ids(s, set(role_ids))))
        return ValidatedToken(payload=payload, user=user, user_domain=user_domain, project=project,
                              project_domain=project_domain, domain=domain, roles=list(roles), app_cred=app_cred)

    def render(self, token: ValidatedToken, *, include_catalog: bool) -> dict:
        payload = token.payload
        body: dict = {
            "methods": list(payload.methods),
            "user": {"id": token.user.id, "name": token.user.name,
                     "domain": {"id": token.user_domain.id, "name": token.user_domain.name},
                     "password_expires_at": None},
            "audit_ids": list(payload.audit_ids),
            "issued_at": isotime(payload.issued_at),
            "expires_at": isotime(payload.expires_at),
        }
        if token.project is not None and token.project_domain is not None:
            body["project"] = {"id": token.project.id, "name": token.project.name,
                               "domain": {"id": token.project_domain.id, "name": token.project_domain.name}}
            body["is_domain"] = False
        if token.domain is not None:
            body["domain"] = {"id": token.domain.id, "name": token.domain.name}
        if payload.system:
            body["system"] = {"all": True}
        if payload.scoped:
            body["roles"] = [{"id": role.id, "name": role.name} for role in token.roles]
        if token.app_cred is not None:
            body["application_credential"] = {"id": token.app_cred.id, "name": token.app_cred.name,
                                              "restricted": not token.app_cred.unrestricted}
        if include_catalog and payload.scoped:
            body["catalog"] = self.cache.memo(
                ("catalog", payload.project_id, token.user.id),
                lambda s: catalog.render_catalog(s, project_id=payload.project_id, user_id=token.user.id))
        return body


_InDomain = TypeVar("_InDomain", User, Project)


def _with_domain(session: Session, model: type[_InDomain], ident: str) -> tuple:
    """(row, its domain), or (None, None): the memo stores tuples so a miss is cached too."""
    row = session.get(model, ident)
    return (row, session.get(Domain, row.domain_id)) if row is not None else (None, None)
