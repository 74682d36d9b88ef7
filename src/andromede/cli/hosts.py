"""`andromede host add|set|revoke|remove|list`: the hosts that may run an agent, each with its own credential.

Run on the controller, against its database (the data dir's, or --database-url), while the cloud runs or not.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import yaml
from sqlalchemy.orm import Session

from andromede.common.config import Settings
from andromede.common.files import write_atomically

if TYPE_CHECKING:
    from andromede.hosts.workloads import Workloads

host_app = typer.Typer(help="Hosts allowed to run an agent: one credential each, bound to the host's name.",
                       no_args_is_help=True)

DataDir = Annotated[Path | None, typer.Option(help="The controller's data dir (database, keys, CA).")]
DatabaseUrl = Annotated[str, typer.Option(help="SQLAlchemy URL of the controller's database, if not SQLite.")]
VCpus = Annotated[int | None, typer.Option("--vcpus", min=0, max=2**31 - 1,
                                           help="Most vCPUs the host may report (default: its first report).")]
MemoryMib = Annotated[int | None, typer.Option("--memory-mib", min=0, max=2**31 - 1,
                                               help="Most RAM in MiB the host may report (default: its first report).")]
DiskGib = Annotated[int | None, typer.Option("--disk-gib", min=0, max=2**31 - 1,
                                             help="Most disk in GiB the host may report (default: its first report).")]
CA_FILE = "andromede-ca.pem"


def _workloads() -> list[Workloads]:
    """What runs on hosts, per service that places work there."""
    from andromede.compute.on_hosts import SERVERS
    from andromede.volume.on_hosts import VOLUMES

    return [SERVERS, VOLUMES]


def _settings(data_dir: Path | None, database_url: str) -> Settings:
    overrides: dict = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir.resolve()
    if database_url:
        overrides["database_url"] = database_url
    return Settings(**overrides)


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    from andromede.db.engine import Database
    from andromede.identity.bootstrap import is_bootstrapped
    from andromede.identity.cache import IdentityCache

    db = Database(settings.db_url)
    IdentityCache(db)  # its hooks record identity writes, so running servers drop what they cached
    try:
        with db.session() as session:
            if not is_bootstrapped(session):
                typer.echo(f"No cloud in {settings.db_url}: run `andromede up` first.", err=True)
                raise typer.Exit(1)
            yield session
    finally:
        db.engine.dispose()


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(1)


def _controller(settings: Settings, controller_url: str) -> tuple[str, Path | None]:
    """The URL agents reach and the CA they trust: as the local agent's file says (`up` keeps it current)."""
    local = settings.data_dir / "agent.yaml"
    document = (yaml.safe_load(local.read_text()) or {}) if local.exists() else {}
    url = controller_url or str(document.get("auth_url", "")).rsplit("/identity", 1)[0] or settings.base_url
    cacert = document.get("cacert", None if settings.insecure_http else str(settings.tls_dir / "ca.pem"))
    return url.rstrip("/"), Path(cacert) if cacert else None


@host_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The host's name, as its agent reports it.")],
    output: Annotated[Path | None, typer.Option(help="Write the agent.yaml here (0600, the CA beside it) "
                                                     "instead of printing it.")] = None,
    controller_url: Annotated[str, typer.Option(help="URL the host reaches the controller at.")] = "",
    vcpus: VCpus = None,
    memory_mib: MemoryMib = None,
    disk_gib: DiskGib = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = "",
) -> None:
    """Issue NAME's credential (one per host) and give its agent.yaml."""
    from andromede.contracts import metadata as signing
    from andromede.hosts import credentials as host_credentials

    settings = _settings(data_dir, database_url)
    try:  # the metadata relay on the host signs its guests' requests with it
        metadata_secret = signing.load_secret(settings.data_dir / signing.SECRET_FILE)
    except (OSError, ValueError):
        raise _fail(f"No metadata secret in {settings.data_dir}: is it the controller's data dir?") from None
    url, ca = _controller(settings, controller_url)
    cacert: str | None = str(ca) if ca else None
    if output is not None and ca is not None:
        cacert = CA_FILE  # read next to agent.yaml: the pair can be copied to the host as is
    with _session(settings) as session:
        try:
            issued = host_credentials.issue(session, settings, name, vcpus=vcpus, memory_mib=memory_mib,
                                            disk_gib=disk_gib)
        except host_credentials.HostCredentialError as exc:
            raise _fail(str(exc)) from None
        document = host_credentials.agent_document(issued, controller_url=url, cacert=cacert,
                                                   metadata_secret=metadata_secret)
        text = yaml.safe_dump(document, sort_keys=False)
        if output is not None:
            if ca is not None:
                shutil.copyfile(ca, output.parent / CA_FILE)
            write_atomically(output, text)
    if output is None:
        typer.echo(text, nl=False)
    else:
        typer.echo(f"Host {name}: credential issued, agent configuration written to {output}.")


@host_app.command("set")
def set_capacity(name: Annotated[str, typer.Argument(help="The host's name.")], vcpus: VCpus = None,
                 memory_mib: MemoryMib = None, disk_gib: DiskGib = None, data_dir: DataDir = None,
                 database_url: DatabaseUrl = "") -> None:
    """Set the most capacity NAME's agent may report: the scheduler never sees more, whatever the host claims."""
    from andromede.hosts import credentials as host_credentials

    if vcpus is None and memory_mib is None and disk_gib is None:
        raise _fail("Nothing to set: give --vcpus, --memory-mib or --disk-gib.")
    with _session(_settings(data_dir, database_url)) as session:
        try:
            host_credentials.set_capacity(session, name, vcpus=vcpus, memory_mib=memory_mib, disk_gib=disk_gib)
        except host_credentials.HostCredentialError as exc:
            raise _fail(str(exc)) from None
    typer.echo(f"Host {name}: capacity ceilings set.")


@host_app.command("revoke")
def revoke(name: Annotated[str, typer.Argument(help="The host's name.")], data_dir: DataDir = None,
           database_url: DatabaseUrl = "") -> None:
    """Kill NAME's credential and its tokens at once; the host stays known (add it again for a new one)."""
    from andromede.hosts import credentials as host_credentials

    with _session(_settings(data_dir, database_url)) as session:
        try:
            had = host_credentials.revoke(session, name)
        except host_credentials.HostCredentialError as exc:
            raise _fail(str(exc)) from None
    typer.echo(f"Host {name}: credential revoked." if had else f"Host {name} had no credential.")


@host_app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="The host's name.")], data_dir: DataDir = None,
           database_url: DatabaseUrl = "") -> None:
    """Revoke NAME's credential and forget the host (disabled instead if servers ever ran there or it holds
    volumes)."""
    from andromede.hosts import credentials as host_credentials

    with _session(_settings(data_dir, database_url)) as session:
        try:
            gone = host_credentials.remove(session, name, _workloads())
        except host_credentials.HostCredentialError as exc:
            raise _fail(str(exc)) from None
    typer.echo(f"Host {name}: credential revoked, host removed." if gone else
               f"Host {name}: credential revoked; servers ran there or it holds volumes, so the host is kept, "
               "disabled.")


@host_app.command("list")
def list_hosts(data_dir: DataDir = None, database_url: DatabaseUrl = "") -> None:
    """Every known host: whether it holds a credential, when its agent last reported, how many servers it runs and
    how many volumes it holds."""
    from andromede.hosts import credentials as host_credentials

    with _session(_settings(data_dir, database_url)) as session:
        entries = host_credentials.list_hosts(session, _workloads())
    typer.echo(f"{'NAME':<32} {'CREDENTIAL':<10} {'ENABLED':<7} {'SERVERS':>7} {'VOLUMES':>7}  LAST SEEN")
    for entry in entries:
        seen = entry.last_seen.isoformat(timespec="seconds") if entry.last_seen else "never"
        typer.echo(f"{entry.name:<32} {'yes' if entry.has_credential else 'no':<10} "
                   f"{'yes' if entry.enabled else 'no':<7} {entry.servers:>7} {entry.running.get('volumes', 0):>7}  "
                   f"{seen}")
