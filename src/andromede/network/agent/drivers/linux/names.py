"""Kernel and nftables names, derived like Neutron's Linux bridge agent so operators recognise them.

Interface names must fit IFNAMSIZ (16 bytes with the NUL): 15 characters at most.
"""

from __future__ import annotations

import hashlib

IFNAMSIZ_CHARS = 15
ID_CHARS = 11
PORT_ALIAS = "andromede port "
NETWORK_ALIAS = "andromede network "
PORT_TABLE_PREFIX = "andromede-port-"


def _checked(name: str) -> str:
    if not 1 <= len(name) <= IFNAMSIZ_CHARS:
        raise ValueError(f"interface name {name!r} does not fit IFNAMSIZ")
    return name


def bridge_name(network_id: str) -> str:
    return _checked("brq" + network_id[:ID_CHARS])


def bridge_mac(network_id: str) -> str:
    """A fixed, locally administered MAC for the network's bridge. Left to itself a bridge takes its lowest port's
    MAC and changes it as ports come and go, and each change flushes the host's ARP entries on it (the external
    network's bridge carries the host's address)."""
    digits = hashlib.sha256(network_id.encode()).hexdigest()[:10]
    return "02:" + ":".join(digits[i : i + 2] for i in range(0, 10, 2))


def vxlan_name(vni: int) -> str:
    return _checked(f"vxlan-{vni}")


def tap_name(port_id: str) -> str:
    return _checked("tap" + port_id[:ID_CHARS])


def dhcp_inner_name(port_id: str) -> str:
    """The DHCP port's end inside the DHCP namespace (its host end is tap_name(port_id) on the bridge)."""
    return _checked("ns-" + port_id[:ID_CHARS])


def dhcp_namespace(prefix: str, network_id: str) -> str:
    return f"{prefix}qdhcp-{network_id}"


def port_table(port_id: str) -> str:
    # The full id, not the tap's 11 characters: the table alone lets a restarted agent find which port it was.
    return PORT_TABLE_PREFIX + port_id


def port_of_table(table: str) -> str | None:
    return table[len(PORT_TABLE_PREFIX) :] if table.startswith(PORT_TABLE_PREFIX) else None


def network_alias(network_id: str) -> str:
    return NETWORK_ALIAS + network_id


def port_alias(port_id: str, network_id: str) -> str:
    return f"{PORT_ALIAS}{port_id} network {network_id}"


def parse_network_alias(alias: str | None) -> str | None:
    if alias and alias.startswith(NETWORK_ALIAS):
        return alias[len(NETWORK_ALIAS) :]
    return None


def parse_port_alias(alias: str | None) -> tuple[str, str] | None:
    """(port_id, network_id) from a port device's alias."""
    if not alias or not alias.startswith(PORT_ALIAS):
        return None
    port_id, _, network_id = alias[len(PORT_ALIAS) :].partition(" network ")
    return (port_id, network_id) if port_id and network_id else None


# ---- routers and the external network ----

ROUTER_NAMESPACE = "qrouter-"
ROUTER_INTERFACE_ALIAS = "andromede router-interface "
ROUTER_GATEWAY_ALIAS = "andromede router-gateway "
ROUTER_TABLE = "andromede-router"  # one per router namespace, so one fixed name
EXTERNAL_TABLE_PREFIX = "andromede-external-"
BRIDGE_PREFIX = "brq"  # bridge_name's


def router_namespace(prefix: str, router_id: str) -> str:
    return f"{prefix}{ROUTER_NAMESPACE}{router_id}"


def router_of_namespace(prefix: str, namespace: str) -> str | None:
    head = prefix + ROUTER_NAMESPACE
    return namespace[len(head) :] if namespace.startswith(head) else None


def router_interface_name(port_id: str) -> str:
    """A router interface's end inside the router namespace (its host end is tap_name(port_id) on the bridge)."""
    return _checked("qr-" + port_id[:ID_CHARS])


def router_gateway_name(port_id: str) -> str:
    return _checked("qg-" + port_id[:ID_CHARS])


def router_device_alias(port_id: str, network_id: str, *, gateway: bool) -> str:
    head = ROUTER_GATEWAY_ALIAS if gateway else ROUTER_INTERFACE_ALIAS
    return f"{head}{port_id} network {network_id}"


def parse_router_device_alias(alias: str | None) -> tuple[str, str, bool] | None:
    """(port_id, network_id, is_gateway) from a router device's alias."""
    for head, gateway in ((ROUTER_INTERFACE_ALIAS, False), (ROUTER_GATEWAY_ALIAS, True)):
        if alias and alias.startswith(head):
            port_id, _, network_id = alias[len(head) :].partition(" network ")
            return (port_id, network_id, gateway) if port_id and network_id else None
    return None


def external_table(network_id: str) -> str:
    return EXTERNAL_TABLE_PREFIX + network_id


def network_of_external_table(table: str) -> str | None:
    return table[len(EXTERNAL_TABLE_PREFIX) :] if table.startswith(EXTERNAL_TABLE_PREFIX) else None
