"""`andromede status` and `andromede down`: the installation's lifecycle on this host."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # the commands import their modules when run: other commands start without them
    from rich.console import Console

    from andromede.lifecycle.layout import Installation
    from andromede.lifecycle.status import InstallationStatus

DataDir = Annotated[Path | None, typer.Option(help="The installation's data dir (default: the one `up` uses).")]
EXIT_DEGRADED, EXIT_STOPPED = 1, 3  # 3: LSB's "program is not running", as systemctl status says it


class Format(StrEnum):
    table = "table"
    json = "json"


def _installation(data_dir: Path | None) -> Installation:
    from andromede.common.config import Settings
    from andromede.lifecycle.layout import Installation

    installation = Installation((data_dir or Settings().data_dir).resolve())
    if installation.data_dir.exists() and not os.access(installation.data_dir, os.R_OK | os.X_OK):
        typer.echo(f"{installation.data_dir} is not readable by this user: run this as its owner.", err=True)
        raise typer.Exit(1)
    return installation


FormatOption = Annotated[Format, typer.Option("--format", "-f", help="table, or json for scripts.")]


def status(data_dir: DataDir = None, format_: FormatOption = Format.table) -> None:
    """What runs on this host for this installation: API server, agent, VMs, networks, with their health.

    Exit code 0 when everything that should run does, 1 when something does not (or does not answer), 3 when the
    API server is not running."""
    from rich.console import Console

    from andromede.lifecycle.status import collect

    result = collect(_installation(data_dir))
    if format_ is Format.json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        _render(result, Console())
    if result.state != "running":
        raise typer.Exit(EXIT_STOPPED if result.state == "stopped" else EXIT_DEGRADED)


def _mark(ok: bool) -> str:
    return "[green]ok[/]" if ok else "[red]FAILED[/]"


def _health(problems: list[str]) -> str:
    return _mark(True) if not problems else f"[red]{'; '.join(problems)}[/]"


def _render(result: InstallationStatus, console: Console) -> None:
    from rich.table import Table

    colour = {"running": "green", "degraded": "yellow", "stopped": "red"}[result.state]
    console.print(f"Andromède in {result.data_dir}: [{colour}]{result.state}[/]")
    server, agent = result.server, result.agent
    if server.running:
        where = ", ".join(server.listening) or "?"
        console.print(f"  API server  pid {server.pid}, listening on {where}, {server.url or '?'}: "
                      f"{_mark(server.healthy)}{'' if server.healthy else f' ({server.error})'}")
    else:
        console.print("  API server  not running")
    if agent.running:
        beat = f", last heartbeat {agent.last_heartbeat} ({agent.state})" if agent.last_heartbeat else ""
        console.print(f"  agent       pid {agent.pid} for host {agent.host or '?'}{beat}: {_mark(True)}")
    else:
        console.print(f"  agent       not running{': ' + _mark(False) if agent.expected else ''}")
    if result.vms:
        table = Table("VM", "pid", "power", box=None, padding=(0, 2))
        for vm in result.vms:
            table.add_row(vm.uuid, str(vm.pid or "-"), vm.power)
        console.print(table)
    if result.networks is None:
        console.print("  networks    not readable by this user (the data plane is root's)")
        return
    if result.networks:
        table = Table("network", "bridge", "DHCP namespace", "dnsmasq", "metadata proxy", "health", box=None,
                      padding=(0, 2))
        for net in result.networks:
            table.add_row(net.network_id, net.bridge or "-", net.dhcp_namespace or "-", str(net.dnsmasq_pid or "-"),
                          str(net.metadata_proxy_pid or "-"), _health(net.problems))
        console.print(table)
    if result.routers:
        table = Table("router", "namespace", "health", box=None, padding=(0, 2))
        for router in result.routers:
            table.add_row(router.router_id, router.namespace or "-", _health(router.problems))
        console.print(table)


def down_command(
    data_dir: DataDir = None,
    all_: Annotated[bool, typer.Option("--all", help="Also stop the VMs and remove the data plane.")] = False,
    purge: Annotated[bool, typer.Option("--purge", help="Also remove the data dir (implies --all, asks).")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before --purge removes the data dir.")] = False,
    vm_timeout: Annotated[float, typer.Option(help="Seconds a VM gets to power down before it is killed.")] = 10.0,
) -> None:
    """Stop the all-in-one API server and its agent; VMs and the data plane keep running unless --all."""
    from andromede.lifecycle.down import NotPermitted, down

    installation = _installation(data_dir)
    if not installation.data_dir.is_dir():
        typer.echo(f"No installation in {installation.data_dir}.", err=True)
        raise typer.Exit(1)

    def confirm() -> bool:
        return yes or typer.confirm(f"Remove {installation.data_dir} and everything in it (database, keys, disks)?")

    try:
        report = down(installation, everything=all_, vm_timeout=vm_timeout, purge=confirm if purge else None)
    except NotPermitted as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    for verb, lines in (("stopped", report.stopped), ("removed", report.removed), ("kept", report.kept)):
        for line in lines:
            typer.echo(f"{verb} {line}")
    if not (report.stopped or report.removed or report.kept or report.errors):
        typer.echo("Nothing was running.")
    for line in report.errors:
        typer.echo(line, err=True)
    if report.errors:
        raise typer.Exit(1)
