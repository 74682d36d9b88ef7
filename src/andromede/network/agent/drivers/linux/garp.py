"""Gratuitous ARP: announce that an address now lives behind a device, so neighbours fix their ARP caches at once
instead of after their stale entries time out (a floating IP moved to another router, a re-plugged gateway).

Run inside the namespace that owns the device: `ip netns exec <ns> python -m ...garp <device> <mac> <ip>...`.
Only the standard library, so the interpreter starts fast.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import sys

ETH_P_ARP = 0x0806
BROADCAST = b"\xff" * 6


def frame(mac: str, address: str) -> bytes:
    """An Ethernet-framed ARP request whose sender and target are both `address` (RFC 5227's announcement)."""
    hw = bytes.fromhex(mac.replace(":", ""))
    ip = ipaddress.IPv4Address(address).packed
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, hw, ip, b"\x00" * 6, ip)
    return BROADCAST + hw + struct.pack("!H", ETH_P_ARP) + arp


def announce(device: str, mac: str, addresses: list[str], repeat: int = 2) -> None:
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP)) as raw:
        raw.bind((device, ETH_P_ARP))
        for _ in range(repeat):
            for address in addresses:
                raw.send(frame(mac, address))


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print("usage: garp <device> <mac> <ipv4>...", file=sys.stderr)
        return 2
    announce(argv[0], argv[1], argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
