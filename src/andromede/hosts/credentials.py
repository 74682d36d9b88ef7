"""One credential per host, bound to its name: `andromede host add NAME` issues it, `host revoke`/`remove` kill it.

A host agent authenticates as the identity user `host:NAME`, through an application credential that holds the
`service` role on the `service` project. The binding is the host's row: `compute_hosts.agent_user_id` names that
user. Only this module writes the column (the `andromede host` commands and `andromede up`, run on the controller
against the database); no API can, so no token — a tenant's, a customer administrator's, another host's — can
become a host's.

The request context learns the caller's host once per token: `context_binder` runs when identity validates a token
and its answer is kept in identity's generation cache. Issuing and revoking always write identity rows (the user,
its credential, revocation events), which drops every cached token context: a revoked credential and the tokens
made from it are refused at once by this process, and by other API processes within the cache's check interval.

What a host-bound caller may do is decided in two places:
- `policy.enforce` refuses it every rule outside the internal API, so it is useless on the public APIs;
- the internal API's routes call `require_own_host` with the host in their path (another host's name is 403: host
  names are not tenant data, and a plain refusal is what an operator debugging a misconfigured agent needs) and
  treat an instance not scheduled on the caller's host as missing (404, compute's `owns_instance`: a host learns
  nothing of other hosts' instances, not even that they exist).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from andromede.common.config import Settings
from andromede.common.context import RequestContext
from andromede.common.errors import Forbidden
from andromede.common.files import write_atomically
from andromede.contracts import metadata as signing
from andromede.hosts.capacity import set_ceilings
from andromede.hosts.models import Host
from andromede.hosts.workloads import Workloads
from andromede.identity import for_services as identity
from andromede.identity.cache import IdentityCache

USER_PREFIX = "host:"
SERVICE_ROLE = "service"
SERVICE_PROJECT = "service"
LEGACY_AGENT_USER = "andromede-agent"  # one credential for every host, before host credentials
# Host names as agents report them (DNS-like); the identity user's name adds the prefix within 255 characters.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,249}")


class HostCredentialError(ValueError):
    """A refusal the `andromede host` commands print as is."""


@dataclass(frozen=True)
class IssuedCredential:
    host: str
    user_id: str
    credential_id: str
    secret: str


@dataclass(frozen=True)
class HostEntry:
    name: str
    has_credential: bool
    enabled: bool
    last_seen: datetime | None
    running: dict[str, int]  # workload name ("servers", "volumes") -> how many live on the host

    @property
    def servers(self) -> int:
        return self.running.get("servers", 0)


def checked_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise HostCredentialError(f"{name!r} is not a host name: letters, digits, '.', '_' and '-', "
                                  "starting with a letter or digit, at most 250 characters.")
    return name


def _bound_user(session: Session, host: Host) -> str | None:
    """The identity user acting for HOST, if it still exists."""
    return host.agent_user_id if host.agent_user_id and identity.user_exists(session, host.agent_user_id) else None


def issue(session: Session, settings: Settings, name: str, *, vcpus: int | None = None,
          memory_mib: int | None = None, disk_gib: int | None = None) -> IssuedCredential:
    """Make NAME's host record if needed and the one credential that acts for it; refuse if it has one already.

    VCPUS, MEMORY_MIB and DISK_GIB cap what its agent may report (hosts/capacity.py); None keeps the host's
    ceiling, or lets its first report set it."""
    host = session.get(Host, checked_name(name))
    if host is not None and _bound_user(session, host) is not None:
        raise HostCredentialError(f"Host {name} already has a credential: revoke it first "
                                  f"(andromede host revoke {name}), then add the host again.")
    leftover = identity.user_id_named(session, USER_PREFIX + name)
    if leftover is not None:  # a host user that lost its binding (its host record was dropped by hand)
        identity.delete_user(session, leftover)
        session.flush()
    issued = identity.create_agent_user(
        session, settings, name=USER_PREFIX + name, description=f"The host agent of {name}", role=SERVICE_ROLE,
        project=SERVICE_PROJECT, credential_name="host-agent", credential_description=f"Host agent of {name}")
    if host is None:
        host = Host(name=name)  # no capacity and never seen: nothing is scheduled there before its agent reports
        session.add(host)
    host.agent_user_id, host.enabled = issued.user_id, True  # back in service if `host remove` had retired it
    set_ceilings(host, vcpus=vcpus, memory_mib=memory_mib, disk_gib=disk_gib)
    session.flush()
    return IssuedCredential(name, issued.user_id, issued.credential_id, issued.secret)


def set_capacity(session: Session, name: str, *, vcpus: int | None = None, memory_mib: int | None = None,
                 disk_gib: int | None = None) -> None:
    """The operator's capacity ceilings for NAME (hosts/capacity.py); None leaves one as is."""
    host = session.get(Host, checked_name(name))
    if host is None:
        raise HostCredentialError(f"No host {name}: add it first (andromede host add {name}).")
    set_ceilings(host, vcpus=vcpus, memory_mib=memory_mib, disk_gib=disk_gib)
    session.flush()


def revoke(session: Session, name: str) -> bool:
    """Kill NAME's credential and every token made from it; False when it had none. The host record stays."""
    host = session.get(Host, name)
    if host is None:
        raise HostCredentialError(f"No host named {name}.")
    user_id = _bound_user(session, host)
    host.agent_user_id = None
    if user_id is not None:
        identity.delete_user(session, user_id)  # revocation events for its tokens, its application credentials
    session.flush()
    return user_id is not None


def remove(session: Session, name: str, workloads: Sequence[Workloads]) -> bool:
    """Revoke NAME's credential and forget the host; True when its record is gone.

    A host that servers ever ran on, or that holds volumes, keeps its record (their history names it, its disks
    hold their data), disabled so nothing new lands there.
    """
    revoke(session, name)
    host = session.get(Host, name)
    assert host is not None  # revoke() refused an unknown host
    if any(placed.ever_placed_on(session, name) for placed in workloads):
        host.enabled = False
        return False
    session.delete(host)
    session.flush()
    return True


def list_hosts(session: Session, workloads: Sequence[Workloads]) -> list[HostEntry]:
    counted = {placed.name: placed.running(session) for placed in workloads}
    listed = list(session.scalars(select(Host).order_by(Host.name)))
    bound = identity.existing_users(session, [host.agent_user_id for host in listed if host.agent_user_id])
    return [HostEntry(host.name, host.agent_user_id in bound, host.enabled, host.last_seen,
                      {name: per_host.get(host.name, 0) for name, per_host in counted.items()})
            for host in listed]


def bound_host(session: Session, user_id: str) -> str | None:
    return session.scalar(select(Host.name).where(Host.agent_user_id == user_id))


def context_binder(cache: IdentityCache) -> Callable[[RequestContext], None]:
    """What identity runs on a freshly validated token: set ctx.host for a host's user (kept with the token)."""

    def bind(ctx: RequestContext) -> None:
        if ctx.user_id is None:
            return
        user_id = ctx.user_id
        # "" for "no host": the cache keeps answers that are not None, so most users cost no query either.
        ctx.host = cache.memo(("host_of", user_id), lambda session: bound_host(session, user_id) or "") or None

    return bind


def require_own_host(ctx: RequestContext, host: str) -> None:
    if ctx.host != host:
        raise Forbidden(f"This credential acts for host {ctx.host}, not {host}.")


def agent_document(issued: IssuedCredential, *, controller_url: str, cacert: str | None,
                   metadata_secret: bytes) -> dict:
    """The agent.yaml of a host: where the controller is, whom to trust, how to authenticate, as which host.

    `metadata_secret` is the installation's; the host gets its own key, derived from it (contracts/metadata.py).
    """
    return {"host": issued.host, "auth_url": controller_url.rstrip("/") + "/identity/v3",
            "application_credential_id": issued.credential_id, "application_credential_secret": issued.secret,
            "cacert": cacert, signing.AGENT_CONFIG_KEY: signing.host_secret(metadata_secret, issued.host).hex()}


def ensure_local_agent(session: Session, settings: Settings) -> None:
    """`andromede up`'s own host gets its credential as any host does, in DIR/agent.yaml.

    Issued when the file is missing or is not this host's live credential (older installations shared one
    `andromede-agent` user between every host: that user, and so its credential, is deleted).
    """
    path = settings.data_dir / "agent.yaml"
    document = (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}
    legacy = identity.user_id_named(session, LEGACY_AGENT_USER)
    if legacy is not None:
        identity.delete_user(session, legacy)
    host = session.get(Host, checked_name(settings.this_host))
    if (host is not None and host.agent_user_id is not None and document.get("host") == host.name
            and identity.credential_owner(session, str(document.get("application_credential_id")))
            == host.agent_user_id):
        return
    if host is not None and host.agent_user_id is not None:
        revoke(session, host.name)  # the file was lost or replaced: its successor is the only valid one
    issued = issue(session, settings, settings.this_host)
    cacert = None if settings.insecure_http else str(settings.tls_dir / "ca.pem")
    document = agent_document(issued, controller_url=settings.base_url, cacert=cacert,
                              metadata_secret=signing.ensure_secret(settings.data_dir))
    write_atomically(path, yaml.safe_dump(document, sort_keys=False))
