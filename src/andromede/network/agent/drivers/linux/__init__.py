"""The Linux data plane: pyroute2 for devices, `nft -f -` for port security, dnsmasq for DHCP."""

from __future__ import annotations

from andromede.network.agent.drivers.linux.driver import HostConfig, LinuxNetworkDriver

__all__ = ["HostConfig", "LinuxNetworkDriver"]
