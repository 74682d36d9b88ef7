"""First start: default domain, roles, admin and demo users, their secrets written once to the data dir."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from itertools import pairwise

import pyotp
import yaml
from sqlalchemy.orm import Session

from andromede.common.config import Settings
from andromede.common.files import write_atomically
from andromede.contracts import metadata as signing
from andromede.identity import assignment, catalog, credentials, resource, users
from andromede.identity.assignment import Grant
from andromede.identity.common import DEFAULT_DOMAIN_ID
from andromede.identity.credentials import CredentialStore, create_application_credential
from andromede.identity.models import ApplicationCredential, Domain, Role
from andromede.identity.schemas import (
    ApplicationCredentialCreate,
    CredentialCreate,
    DomainCreate,
    ProjectCreate,
    RoleCreate,
    UserCreate,
)
from andromede.servicekit.descriptor import CatalogEntry

# Keystone's default personas: each role implies the next, so an admin is also a manager, a member, a reader.
STANDARD_ROLES = ("admin", "manager", "member", "reader")
ADMIN_CLOUD = "andromede-admin"


@dataclass
class BootstrapResult:
    admin_password: str
    admin_totp_uri: str
    demo_password: str
    admin_app_cred_id: str
    admin_app_cred_secret: str


def is_bootstrapped(session: Session) -> bool:
    return session.get(Domain, DEFAULT_DOMAIN_ID) is not None


def bootstrap(session: Session, settings: Settings, credentials: CredentialStore) -> BootstrapResult:
    resource.create_domain(session, DomainCreate(name="Default", description="The default domain"),
                           domain_id=DEFAULT_DOMAIN_ID)
    roles = ensure_standard_roles(session)

    admin_password = secrets.token_urlsafe(18)
    admin_project = resource.create_project(session, ProjectCreate(name="admin", description="Administration"),
                                            DEFAULT_DOMAIN_ID)
    admin = users.create_user(session, settings, UserCreate(name="admin", password=admin_password,
                                                            default_project_id=admin_project.id),
                              DEFAULT_DOMAIN_ID)
    assignment.add_grant(session, Grant("user", admin.id, "project", admin_project.id, roles["admin"].id))
    assignment.add_grant(session, Grant("user", admin.id, "system", "all", roles["admin"].id))
    totp_secret = pyotp.random_base32()
    credentials.create(session, CredentialCreate(type="totp", user_id=admin.id, blob=totp_secret))
    totp_uri = pyotp.TOTP(totp_secret).provisioning_uri(name="admin", issuer_name="Andromede")

    demo_password = secrets.token_urlsafe(18)
    demo_project = resource.create_project(session, ProjectCreate(name="demo", description="Demo project"),
                                           DEFAULT_DOMAIN_ID)
    demo = users.create_user(session, settings, UserCreate(name="demo", password=demo_password,
                                                           default_project_id=demo_project.id),
                             DEFAULT_DOMAIN_ID)
    assignment.add_grant(session, Grant("user", demo.id, "project", demo_project.id, roles["member"].id))

    session.flush()
    app_cred, app_secret = _system_admin_credential(session, admin.id)

    session.flush()
    return BootstrapResult(admin_password, totp_uri, demo_password, app_cred.id, app_secret)


def ensure_standard_roles(session: Session) -> dict[str, Role]:
    """The personas and their implications; run on every start, so clouds made before `manager` get it too."""
    roles = {name: assignment.find_role(session, name=name) or assignment.create_role(session, RoleCreate(name=name))
             for name in STANDARD_ROLES}
    session.flush()
    for prior, implied in pairwise(STANDARD_ROLES):
        assignment.add_implied_role(session, roles[prior].id, roles[implied].id)
    return roles


def _system_admin_credential(session: Session, user_id: str) -> tuple[ApplicationCredential, str]:
    """`andromede-admin` in clouds.yaml: bound to the system, so its tokens are system-scoped (cloud operator).

    An application credential, not a password: the admin's interactive logins need a TOTP code, which a
    script cannot give, and this secret can be revoked alone.
    """
    return create_application_credential(
        session, user_id=user_id, project_id=None, system=True,
        body=ApplicationCredentialCreate(name=f"{ADMIN_CLOUD}-system", description="Scripts and make run: system",
                                         unrestricted=False))


def rebind_admin_cloud(session: Session, settings: Settings) -> None:
    """Clouds made before system scope bound `andromede-admin` to the admin project, which is no longer the
    whole cloud: replace that credential with a system-bound one and rewrite its clouds.yaml entry."""
    path = settings.data_dir / "clouds.yaml"
    if not path.exists():
        return
    doc = yaml.safe_load(path.read_text()) or {}
    auth = doc.get("clouds", {}).get(ADMIN_CLOUD, {}).get("auth", {})
    old = session.get(ApplicationCredential, str(auth.get("application_credential_id") or ""))
    if old is None or old.system is not None or not assignment.effective_role_ids(session, old.user_id,
                                                                                    "system", "all"):
        return
    for stale in credentials.list_application_credentials(session, old.user_id, f"{ADMIN_CLOUD}-system"):
        session.delete(stale)  # left by an interrupted earlier start
    session.delete(old)
    session.flush()
    credential, secret = _system_admin_credential(session, old.user_id)
    auth.update(application_credential_id=credential.id, application_credential_secret=secret)
    session.flush()
    write_atomically(path, yaml.safe_dump(doc, sort_keys=False))


def sync_catalog(session: Session, settings: Settings, entries: list[CatalogEntry]) -> None:
    catalog.ensure_catalog(session, settings.base_url, settings.region, entries)


def _cloud_common(settings: Settings) -> dict:
    common: dict = {"region_name": settings.region, "interface": "public", "identity_api_version": 3}
    if settings.insecure_http:
        return common
    common["cacert"] = str(settings.tls_dir / "ca.pem")
    return common


def write_client_files(settings: Settings, result: BootstrapResult) -> None:
    auth_url = settings.base_url + "/identity/v3"
    clouds = {"clouds": {
        "andromede": {
            "auth": {"auth_url": auth_url, "username": "demo", "password": result.demo_password,
                     "project_name": "demo", "user_domain_name": "Default", "project_domain_name": "Default"},
            **_cloud_common(settings),
        },
        ADMIN_CLOUD: {
            "auth_type": "v3applicationcredential",
            "auth": {"auth_url": auth_url, "application_credential_id": result.admin_app_cred_id,
                     "application_credential_secret": result.admin_app_cred_secret},
            **_cloud_common(settings),
        },
    }}
    write_atomically(settings.data_dir / "clouds.yaml", yaml.safe_dump(clouds, sort_keys=False))
    write_atomically(settings.data_dir / "admin-credentials", (
        "# Andromède administrator. Shown once: keep it safe, then delete this file if you wish.\n"
        "# Interactive logins need the password and a TOTP passcode from the URI below.\n"
        f"username: admin\npassword: {result.admin_password}\nproject: admin\ndomain: Default\n"
        f"totp_uri: {result.admin_totp_uri}\n"))


def refresh_client_files(settings: Settings) -> None:
    """On later starts the URL or CA may have moved; secrets in clouds.yaml are left as they are."""
    agent_path = settings.data_dir / "agent.yaml"
    if agent_path.exists():
        agent = yaml.safe_load(agent_path.read_text()) or {}
        agent["auth_url"] = settings.base_url + "/identity/v3"
        agent["cacert"] = None if settings.insecure_http else str(settings.tls_dir / "ca.pem")
        secret = signing.ensure_secret(settings.data_dir)
        if agent.get("host"):  # a host's key, derived from the installation's (contracts/metadata.py)
            secret = signing.host_secret(secret, agent["host"])
        agent[signing.AGENT_CONFIG_KEY] = secret.hex()
        write_atomically(agent_path, yaml.safe_dump(agent, sort_keys=False))
    path = settings.data_dir / "clouds.yaml"
    if not path.exists():
        return
    doc = yaml.safe_load(path.read_text()) or {}
    for cloud in doc.get("clouds", {}).values():
        cloud.setdefault("auth", {})["auth_url"] = settings.base_url + "/identity/v3"
        cloud.pop("cacert", None)
        cloud.update(_cloud_common(settings))
    write_atomically(path, yaml.safe_dump(doc, sort_keys=False))
