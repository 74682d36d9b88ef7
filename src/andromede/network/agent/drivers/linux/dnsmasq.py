"""One dnsmasq per network, in the network's DHCP namespace, serving static leases only.

The command line is fixed by the subnets (a change restarts dnsmasq); hosts and options live in files that
dnsmasq re-reads on SIGHUP. Every value written was validated by the spec and is re-checked here, because a
comma or newline in a hostname would let a user add their own dnsmasq directives.
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import os
import pwd
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from andromede.network.agent.drivers.base import (
    DHCP_OPTION_NAME,
    DHCP_OPTION_VALUE,
    DhcpHost,
    DhcpSpec,
    DriverError,
    check_hostname,
    check_ip,
    check_mac,
)
from andromede.network.agent.drivers.linux.run import in_netns, run

UNPRIVILEGED_USER = "dnsmasq"

_SAFE_VALUE = re.compile(r"[0-9a-zA-Z.:/-]+")
METADATA_ROUTE = "169.254.169.254/32"
DEFAULT_ROUTE = "0.0.0.0/0"


def _safe(value: str) -> str:
    """Last line of defence: nothing dnsmasq treats as a separator or comment ever goes into a file."""
    if not _SAFE_VALUE.fullmatch(value):
        raise DriverError(f"refusing to write {value!r} into a dnsmasq file")
    return value


def _safe_option_value(value: str) -> str:
    # After the option name dnsmasq reads only values, commas separating them: nothing may end the line, quote
    # or comment.
    if not DHCP_OPTION_VALUE.fullmatch(value):
        raise DriverError(f"refusing to write DHCP option value {value!r} into a dnsmasq file")
    return value


def _tag(index: int) -> str:
    return f"subnet{index}"


def _host_tag(mac: str) -> str:
    """The tag a host with options of its own gets (set by its dhcp-host line, matched by its option lines)."""
    return "host-" + mac.replace(":", "")


def render_hosts(spec: DhcpSpec) -> str:
    lines = []
    for host in spec.hosts:
        check_mac(host.mac)
        check_ip(host.ip)
        check_hostname(host.hostname)
        tag = f"set:{_host_tag(host.mac)}," if host.options else ""
        lines.append(f"{_safe(host.mac)},{tag}{_safe(host.ip)},{_safe(host.hostname)}")
    return "".join(line + "\n" for line in lines)


def parse_hosts(text: str, options_text: str = "") -> tuple[DhcpHost, ...]:
    """The leases of a hosts file, with each host's own options from the options file."""
    own: dict[str, list[tuple[str, str]]] = {}
    for line in options_text.splitlines():
        parts = line.split(",")
        tags = list(itertools.takewhile(lambda part: part.startswith("tag:"), parts))
        if tags and tags[0].startswith("tag:host-"):
            name, *values = parts[len(tags):]
            own.setdefault(tags[0].removeprefix("tag:"), []).append((name.removeprefix("option:"), ",".join(values)))
    hosts = []
    for line in text.splitlines():
        mac, *rest = line.split(",")
        ip, hostname = [part for part in rest if not part.startswith("set:")]
        hosts.append(DhcpHost(mac=mac, ip=ip, hostname=hostname, options=tuple(own.get(_host_tag(mac), ()))))
    return tuple(hosts)


def _option(name: str) -> str:
    if not DHCP_OPTION_NAME.fullmatch(name):
        raise DriverError(f"refusing to write DHCP option name {name!r} into a dnsmasq file")
    return name if name.isdigit() else f"option:{name}"


def render_options(spec: DhcpSpec) -> str:
    lines = []
    for index, subnet in enumerate(spec.subnets):
        tag = f"tag:{_tag(index)}"
        # Without an explicit (possibly empty) router option dnsmasq advertises itself as the gateway.
        lines.append(f"{tag},option:router" + (f",{_safe(subnet.gateway)}" if subnet.gateway else ""))
        if subnet.dns_servers:
            lines.append(f"{tag},option:dns-server," + ",".join(_safe(s) for s in subnet.dns_servers))
        routes = [f"{_safe(dst)},{_safe(hop)}" for dst, hop in subnet.host_routes]
        if spec.metadata and not any(dst == METADATA_ROUTE for dst, _hop in subnet.host_routes):
            # The metadata address answers in the DHCP namespace: reach it through the DHCP server's address.
            routes.insert(0, f"{METADATA_ROUTE},{_safe(subnet.server_address)}")
        if routes:
            if subnet.gateway and not any(dst == DEFAULT_ROUTE for dst, _hop in subnet.host_routes):
                # RFC 3442: clients ignore option 3 when option 121 is present, so the default route goes in too.
                routes.append(f"{DEFAULT_ROUTE},{_safe(subnet.gateway)}")
            lines.append(f"{tag},option:classless-static-route," + ",".join(routes))
        if spec.mtu is not None:
            lines.append(f"{tag},option:mtu,{int(spec.mtu)}")
    for host in spec.hosts:
        # With the subnet's tag as well: two matching tags beat the subnet's one, so a port's own value wins.
        subnet_index = next((index for index, s in enumerate(spec.subnets)
                             if ipaddress.ip_address(host.ip) in ipaddress.ip_network(s.cidr)), None)
        tags = f"tag:{_host_tag(host.mac)}" + (f",tag:{_tag(subnet_index)}" if subnet_index is not None else "")
        lines += [f"{tags},{_option(name)},{_safe_option_value(value)}" for name, value in host.options]
    return "".join(line + "\n" for line in lines)


@dataclass(frozen=True)
class DhcpPaths:
    directory: Path

    @property
    def pid(self) -> Path:
        return self.directory / "pid"

    @property
    def hosts(self) -> Path:
        return self.directory / "host"

    @property
    def options(self) -> Path:
        return self.directory / "opts"


def drop_to_user() -> list[str]:
    """Who dnsmasq becomes after binding its sockets: Debian's `dnsmasq` account where it exists (dnsmasq-base
    makes it), so that no other daemon's or VM's uid shares it; dnsmasq's own default (nobody) otherwise."""
    try:
        pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError:
        return []
    return [f"--user={UNPRIVILEGED_USER}"]


def command(spec: DhcpSpec, paths: DhcpPaths, interface: str) -> list[str]:
    argv = [
        "dnsmasq",
        *drop_to_user(),
        "--conf-file=/dev/null",
        "--no-hosts",
        "--no-resolv",
        "--port=0",  # DHCP only; DNS for tenant names is a later slice
        "--bind-interfaces",
        f"--interface={interface}",
        "--except-interface=lo",
        f"--pid-file={paths.pid}",
        f"--dhcp-hostsfile={paths.hosts}",
        f"--dhcp-optsfile={paths.options}",
        "--leasefile-ro",
        "--dhcp-authoritative",
        f"--domain={check_hostname(spec.domain)}",
        f"--dhcp-lease-max={max(len(spec.hosts), 1) * 2 + 16}",
    ]
    for index, subnet in enumerate(spec.subnets):
        network = ipaddress.ip_network(subnet.cidr)
        argv.append(
            f"--dhcp-range=set:{_tag(index)},{network.network_address},static,{network.netmask},"
            f"{int(subnet.lease_seconds)}s"
        )
    return argv


def _write_if_changed(path: Path, text: str) -> bool:
    with contextlib.suppress(FileNotFoundError):
        if path.read_text() == text:
            return False
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    temporary.chmod(0o644)
    os.replace(temporary, path)
    return True


def running_pid(paths: DhcpPaths) -> int | None:
    """The pid from the pid file if that process is still our dnsmasq (pids get reused)."""
    try:
        pid = int(paths.pid.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    if cmdline and cmdline[0].endswith(b"dnsmasq") and f"--pid-file={paths.pid}".encode() in cmdline:
        return pid
    return None


def command_line(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return []
    return [part.decode() for part in raw.split(b"\0") if part]


def stop(paths: DhcpPaths, *, timeout: float = 5.0) -> None:
    pid = running_pid(paths)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        _wait_gone(pid, timeout)
    paths.pid.unlink(missing_ok=True)


def _wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    if Path(f"/proc/{pid}").exists():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def ensure(spec: DhcpSpec, paths: DhcpPaths, namespace: str, interface: str) -> None:
    """dnsmasq runs with this spec: started, restarted (new command line) or sent SIGHUP (new hosts/options)."""
    # dnsmasq drops root (see drop_to_user) before reading these files, on start and on every SIGHUP.
    paths.directory.mkdir(parents=True, exist_ok=True)
    for directory in (paths.directory.parent, paths.directory):
        directory.chmod(0o711)
    changed = _write_if_changed(paths.hosts, render_hosts(spec))
    changed = _write_if_changed(paths.options, render_options(spec)) or changed
    argv = command(spec, paths, interface)
    pid = running_pid(paths)
    if pid is not None and command_line(pid) != argv:
        stop(paths)
        pid = None
    if pid is None:
        # dnsmasq daemonises itself and writes the pid file before `ip netns exec` returns.
        run(in_netns(namespace, argv), timeout=10.0)
        if running_pid(paths) is None:
            raise DriverError(f"dnsmasq for namespace {namespace} did not stay up")
    elif changed:
        os.kill(pid, signal.SIGHUP)
