"""What /proc says about the installation's processes: alive, listening where."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's st column


def is_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :].split()[0] not in ("Z", "X")


def command_line(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def listening_addresses(pid: int) -> list[str]:
    """HOST:PORT of the TCP sockets `pid` listens on (empty when its file descriptors are not readable)."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return []
    found = []
    for table, width in (("tcp", 4), ("tcp6", 16)):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == LISTEN and fields[9] in inodes:
                found.append(_address(fields[1], width))
    return sorted(set(found))


def _address(field: str, width: int) -> str:
    """/proc/net/tcp's local_address: the address as host-order 32-bit words in hex, then the port."""
    hex_address, hex_port = field.split(":")
    raw = b"".join(int(hex_address[i : i + 8], 16).to_bytes(4, "little") for i in range(0, len(hex_address), 8))
    address = ipaddress.ip_address(raw[:width])
    host = str(address) if address.version == 4 else f"[{address}]"
    return f"{host}:{int(hex_port, 16)}"
