"""Host credentials on a database of their own: issued once per host, bound by the host's row, revoked for good."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml

from andromede.agentlib.client import WrongHost, agent_host
from andromede.common.config import Settings
from andromede.common.context import RequestContext
from andromede.common.errors import Forbidden
from andromede.compute.models import Instance
from andromede.compute.on_hosts import SERVERS
from andromede.db.engine import Database
from andromede.db.migrate import upgrade
from andromede.hosts import credentials as hc
from andromede.hosts.models import Host
from andromede.identity import assignment, resource, users
from andromede.identity.cache import IdentityCache
from andromede.identity.common import DEFAULT_DOMAIN_ID
from andromede.identity.models import ApplicationCredential, User
from andromede.identity.schemas import DomainCreate, UserCreate
from andromede.volume.models import Volume
from andromede.volume.on_hosts import VOLUMES


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, insecure_http=True, host_name="local-hv")


@pytest.fixture()
def db(settings: Settings) -> Database:
    database = Database(settings.db_url)
    upgrade(database.engine)  # the migrations, 0012's column included
    with database.session() as session:
        resource.create_domain(session, DomainCreate(name="Default"), domain_id=DEFAULT_DOMAIN_ID)
    return database


def _ctx(user_id: str) -> RequestContext:
    return RequestContext(request_id="r", user_id=user_id)


def test_a_host_gets_one_credential_and_tokens_know_its_host(db: Database, settings: Settings) -> None:
    cache = IdentityCache(db)
    bind = hc.context_binder(cache)
    with db.session() as session:
        issued = hc.issue(session, settings, "hv1")
    with db.session() as session:
        host = session.get(Host, "hv1")
        assert host is not None and host.agent_user_id == issued.user_id and host.vcpus == 0 and host.last_seen is None
        user = session.get(User, issued.user_id)
        assert user is not None and user.name == "host:hv1"
        project = resource.find_project(session, project_id=None, name="service", domain_id=DEFAULT_DOMAIN_ID)
        assert project is not None
        held = assignment.effective_role_ids(session, user.id, "project", project.id)
        assert [r.name for r in assignment.roles_by_ids(session, set(held))] == ["service"]
        credential = session.get(ApplicationCredential, issued.credential_id)
        assert credential is not None and credential.user_id == user.id and not credential.unrestricted
        with pytest.raises(hc.HostCredentialError, match="already has a credential"):
            hc.issue(session, settings, "hv1")
        for bad in ("", "-x", "a/b", "a b", "x" * 251, "h\n"):
            with pytest.raises(hc.HostCredentialError):
                hc.issue(session, settings, bad)
        other = users.create_user(session, settings, UserCreate(name="someone"), DEFAULT_DOMAIN_ID)
    ctx, stranger = _ctx(issued.user_id), _ctx(other.id)
    bind(ctx)
    bind(stranger)
    assert ctx.host == "hv1" and stranger.host is None
    hc.require_own_host(ctx, "hv1")
    with pytest.raises(Forbidden):
        hc.require_own_host(ctx, "hv2")
    with pytest.raises(Forbidden):
        hc.require_own_host(stranger, "hv1")


def test_revoking_unbinds_at_once_and_a_new_credential_replaces_it(db: Database, settings: Settings) -> None:
    cache = IdentityCache(db)
    bind = hc.context_binder(cache)
    with db.session() as session:
        first = hc.issue(session, settings, "hv1")
    bind(before := _ctx(first.user_id))
    assert before.host == "hv1"
    with db.session() as session:
        assert hc.revoke(session, "hv1") is True
        assert hc.revoke(session, "hv1") is False  # nothing left to revoke
        with pytest.raises(hc.HostCredentialError, match="No host named"):
            hc.revoke(session, "nowhere")
    bind(after := _ctx(first.user_id))
    assert after.host is None  # the identity write dropped what the cache knew
    with db.session() as session:
        assert session.get(User, first.user_id) is None
        assert session.get(ApplicationCredential, first.credential_id) is None
        second = hc.issue(session, settings, "hv1")
    assert second.credential_id != first.credential_id
    bind(renewed := _ctx(second.user_id))
    assert renewed.host == "hv1"


def test_removing_forgets_an_unused_host_and_disables_a_used_one(db: Database, settings: Settings) -> None:
    with db.session() as session:
        hc.issue(session, settings, "empty")
        hc.issue(session, settings, "used")
        session.add(Instance(uuid=str(uuid.uuid4()), project_id="p", user_id="u", name="vm", hostname="vm",
                             image_id=str(uuid.uuid4()), flavor_id="1", host="used", deleted=True))
    with db.session() as session:
        listed = {entry.name: entry for entry in hc.list_hosts(session, [SERVERS])}
        assert listed["used"].has_credential and listed["used"].servers == 0  # a deleted server runs nowhere
        assert hc.remove(session, "empty", [SERVERS]) is True
        assert hc.remove(session, "used", [SERVERS]) is False
    with db.session() as session:
        assert session.get(Host, "empty") is None
        kept = session.get(Host, "used")
        assert kept is not None and not kept.enabled and kept.agent_user_id is None
        assert [(e.name, e.has_credential) for e in hc.list_hosts(session, [SERVERS])] == [("used", False)]
        hc.issue(session, settings, "used")  # added again: back in service
        listed_again = hc.list_hosts(session, [SERVERS])
        assert [(e.name, e.has_credential, e.enabled) for e in listed_again] == [("used", True, True)]


def test_a_host_holding_volumes_is_kept_disabled_and_counts_them(db: Database, settings: Settings) -> None:
    with db.session() as session:
        hc.issue(session, settings, "storage")
        session.add(Volume(id=uuid.uuid4().hex, project_id="p", user_id="u", size=1, status="available",
                           attach_status="detached", volume_type_id="t", availability_zone="nova", metadata_={},
                           host="storage"))
    with db.session() as session:
        [entry] = hc.list_hosts(session, [SERVERS, VOLUMES])
        assert entry.running == {"servers": 0, "volumes": 1} and entry.servers == 0
        assert hc.remove(session, "storage", [SERVERS, VOLUMES]) is False  # its disk holds the volume's file
    with db.session() as session:
        kept = session.get(Host, "storage")
        assert kept is not None and not kept.enabled


def test_the_all_in_one_host_gets_its_credential_the_same_way(db: Database, settings: Settings) -> None:
    with db.session() as session:  # an older installation: one shared agent user for every host
        legacy = users.create_user(session, settings, UserCreate(name=hc.LEGACY_AGENT_USER), DEFAULT_DOMAIN_ID)
    path = settings.data_dir / "agent.yaml"
    with db.session() as session:
        hc.ensure_local_agent(session, settings)
    first = yaml.safe_load(path.read_text())
    assert first["host"] == "local-hv" and first["cacert"] is None and len(first["metadata_secret"]) == 64
    assert path.stat().st_mode & 0o777 == 0o600
    with db.session() as session:
        assert session.get(User, legacy.id) is None
        hc.ensure_local_agent(session, settings)  # a restart keeps the credential
    assert yaml.safe_load(path.read_text()) == first
    path.unlink()
    with db.session() as session:  # the file was lost: a new credential, and the old one dies
        hc.ensure_local_agent(session, settings)
        second = yaml.safe_load(path.read_text())
        assert second["application_credential_id"] != first["application_credential_id"]
        assert session.get(ApplicationCredential, first["application_credential_id"]) is None


def test_an_agent_acts_for_the_host_its_credential_names() -> None:
    assert agent_host("hv1", None) == "hv1"
    assert agent_host("hv1", "hv1") == "hv1"
    assert agent_host(None, "hv2") == "hv2"  # a file older than host credentials
    with pytest.raises(WrongHost):
        agent_host("hv1", "hv2")
