"""The `andromede` command."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from typing import Annotated

import typer

from andromede.cli.certificates import verify_certificate
from andromede.cli.hosts import host_app
from andromede.cli.kms import kms_app
from andromede.cli.lifecycle import down_command, status
from andromede.common.config import Settings

app = typer.Typer(help="Andromède: a sovereign IaaS cloud speaking OpenStack and S3.", no_args_is_help=True)


def _split_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise typer.BadParameter("expected HOST:PORT, e.g. 127.0.0.1:5000")
    return host.strip("[]") or "127.0.0.1", int(port)


@app.callback()
def main() -> None:
    """Andromède command line."""


@app.command()
def up(
    data_dir: Annotated[Path | None, typer.Option(help="Where the database, keys and certificates live.")] = None,
    listen: Annotated[str, typer.Option(help="HOST:PORT of the API listener.")] = "127.0.0.1:5000",
    database_url: Annotated[str, typer.Option(help="SQLAlchemy URL; SQLite in the data dir by default.")] = "",
    public_url: Annotated[str, typer.Option(help="Base URL clients use, if not the listener's.")] = "",
    insecure_http: Annotated[bool, typer.Option(help="Serve plain HTTP (loopback listeners only).")] = False,
    agent_driver: Annotated[str, typer.Option(help="Driver of the local host agent: qemu, fake, or none.")] = "qemu",
) -> None:
    """Start the all-in-one cloud in the foreground."""
    from andromede.api.server import serve
    from andromede.common.lockfile import AlreadyRunning

    host, port = _split_listen(listen)
    if insecure_http:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            typer.echo("--insecure-http is only allowed on a loopback listener.", err=True)
            raise typer.Exit(2)
    overrides: dict = {"listen_host": host, "listen_port": port, "insecure_http": insecure_http,
                       "agent_driver": agent_driver}
    if data_dir is not None:
        overrides["data_dir"] = data_dir.resolve()
    if database_url:
        overrides["database_url"] = database_url
    if public_url:
        overrides["public_url"] = public_url
    settings = Settings(**overrides)
    try:
        serve(settings)
    except AlreadyRunning as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        sys.exit(0)


app.command("status")(status)
app.command("down")(down_command)
app.add_typer(host_app, name="host")
app.add_typer(kms_app, name="kms")
app.command("verify-certificate")(verify_certificate)

image_app = typer.Typer(help="Guest images the cloud builds for itself.", no_args_is_help=True)
app.add_typer(image_app, name="image")


@image_app.command("build-tiny")
def build_tiny(
    cache_dir: Annotated[Path | None, typer.Option(help="Build cache (default: the user's cache dir).")] = None,
    refresh: Annotated[bool, typer.Option(help="Re-resolve the Debian packages and rebuild if they moved.")] = False,
) -> None:
    """Build (or reuse) the tiny guest image from Debian packages and print its path."""
    import logging

    from andromede.guest import build_tiny_image, default_cache_dir

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    typer.echo(build_tiny_image(cache_dir or default_cache_dir(), refresh=refresh))


@app.command()
def agent(
    data_dir: Annotated[Path, typer.Option(help="Where this host keeps instances and cached images.")],
    config: Annotated[Path, typer.Option(help="The agent's credential file (agent.yaml).")],
    host: Annotated[str, typer.Option(help="The host this agent acts for (default: the one agent.yaml names).")] = "",
    driver: Annotated[str, typer.Option(help="qemu, or fake (tests and benchmarks only).")] = "qemu",
    availability_zone: Annotated[str, typer.Option(help="The zone this host belongs to.")] = "nova",
) -> None:
    """Run the host agent: reconcile this host's instances with the controller's desired state."""
    from andromede.cli.agent import WrongHost, run_agent
    from andromede.common.lockfile import AlreadyRunning

    try:
        run_agent(data_dir.resolve(), config.resolve(), host=host or None, driver=driver,
                  availability_zone=availability_zone)
    except (AlreadyRunning, WrongHost) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


if __name__ == "__main__":
    app()
