"""Open an existing tap device for QEMU: it runs unprivileged after start-up, so hot-plugged NICs get an fd."""

from __future__ import annotations

import fcntl
import os
import struct

from andromede.compute.agent.drivers.base import DriverError

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000  # the flags the network driver creates its persistent taps with


def open_tap(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", name.encode(), IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
    except OSError as exc:
        os.close(fd)
        raise DriverError(f"cannot open tap device {name}: {exc.strerror}") from exc
    return fd
