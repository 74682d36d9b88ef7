"""The QEMU hypervisor driver (see driver.py); the other modules are its parts, each testable alone."""

from __future__ import annotations

from andromede.compute.agent.drivers.qemu.driver import QemuDriver

__all__ = ["QemuDriver"]
