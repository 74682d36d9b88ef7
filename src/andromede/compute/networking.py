"""Nova's side of networking: which ports a server gets, binding them to its host, and its `addresses`.

The network service does the work (network/for_compute.py) in the caller's session, so a server and its ports
are created in the same transaction: a refused request (unknown network, port in use, no address left) leaves
neither a server nor a port behind. Here: the server's record of its ports, and Nova's shapes of the answers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Literal

from sqlalchemy.orm import Session

from andromede.common.context import RequestContext
from andromede.common.errors import ApiError, BadRequest, Forbidden, NotFound
from andromede.compute.models import Instance
from andromede.compute.schemas import InterfaceAttachmentView, NetworkRef
from andromede.contracts.compute import Nic
from andromede.network import for_compute as network
from andromede.network.for_compute import NicRequest, PluggedPort


def _as_nova_error(exc: ApiError) -> ApiError:
    """Neutron's errors keep their status and message; Nova's formatter ignores the Neutron type."""
    exc.extra = {}
    return exc


def _plugged(instance: Instance) -> list[PluggedPort]:
    return [PluggedPort(nic["port_id"], bool(nic.get("preserve_on_delete"))) for nic in instance.nics or []]


def _port_ids(instance: Instance) -> list[str]:
    return [nic["port_id"] for nic in instance.nics or []]


def requests_for(session: Session, ctx: RequestContext, networks: list[NetworkRef] | Literal["auto", "none"] | None,
                 count: int) -> list[NicRequest]:
    """Validate the `networks` of a create request; nothing is written."""
    requested = networks if networks is None or isinstance(networks, str) else [
        NicRequest(network_id=ref.uuid, port_id=ref.port, fixed_ip=ref.fixed_ip) for ref in networks]
    return network.validate_nic_requests(session, ctx, requested, count)


def security_groups_for(session: Session, ctx: RequestContext, names: list[str]) -> list[str] | None:
    """Group ids for `security_groups: [{"name": ...}]` (names or ids); None: Neutron's default for new ports."""
    return network.security_group_ids(session, ctx, names)


def allocate(session: Session, ctx: RequestContext, instance: Instance, requests: list[NicRequest],
             groups: list[str] | None = None) -> None:
    """Create or claim the server's ports (in request order), bound to its host, and record them on the instance."""
    try:
        plugged = network.allocate_ports(session, ctx, instance.uuid, instance.availability_zone, instance.host,
                                         requests, groups)
    except ApiError as exc:
        raise _as_nova_error(exc) from None
    instance.nics = [{"port_id": p.port_id, "preserve_on_delete": p.preserve_on_delete} for p in plugged]


def deallocate(session: Session, instance: Instance) -> None:
    """Ports Nova made go away with the server; ports the user brought are unbound and kept."""
    network.release_ports(session, instance.uuid, _plugged(instance))
    instance.nics = []


def nic_docs(session: Session, instances: Iterable[Instance]) -> dict[str, list[Nic]]:
    """Per instance, its NICs in order with what the agent needs."""
    found = network.server_nics(session, {inst.uuid: _port_ids(inst) for inst in instances})
    return {uuid: [Nic(port_id=nic.port_id, network_id=nic.network_id, network_name=nic.network_name, mac=nic.mac,
                       mtu=nic.mtu, fixed_ips=tuple(nic.fixed_ips)) for nic in nics]
            for uuid, nics in found.items()}


def _address(address: str, kind: str, mac: str) -> dict:
    return {"version": ipaddress.ip_address(address).version, "addr": address, "OS-EXT-IPS:type": kind,
            "OS-EXT-IPS-MAC:mac_addr": mac}


def addresses(session: Session, instances: list[Instance]) -> dict[str, dict]:
    """Nova's `addresses`: per network name, fixed then floating addresses with their MAC."""
    found = network.server_addresses(session, {inst.uuid: _port_ids(inst) for inst in instances})
    result: dict[str, dict] = {}
    for uuid, nics in found.items():
        doc: dict[str, list[dict]] = {}
        for nic in nics:
            entries = doc.setdefault(nic.network_name, [])
            entries.extend(_address(address, "fixed", nic.mac) for address in nic.fixed)
            entries.extend(_address(address, "floating", nic.mac) for address in nic.floating)
        result[uuid] = doc
    return result


# ---- interfaces on an existing server (os-interface) ----------------------------------------------

def attach(session: Session, ctx: RequestContext, instance: Instance, net_id: str | None, port_id: str | None,
           fixed_ip: str | None) -> str:
    """Plug one more port into the server; the host's agent hot-plugs it into the running VM."""
    if bool(net_id) == bool(port_id):
        raise BadRequest("Specify either a net_id or a port_id.")
    refs = [NetworkRef(port=port_id)] if port_id else [NetworkRef(uuid=net_id, fixed_ip=fixed_ip)]
    [request] = requests_for(session, ctx, refs, 1)
    before = list(instance.nics or [])
    allocate(session, ctx, instance, [request])
    added = instance.nics[0]
    instance.nics = [*before, added]
    return added["port_id"]


def detach(session: Session, instance: Instance, port_id: str) -> None:
    nics = list(instance.nics or [])
    found = [nic for nic in nics if nic["port_id"] == port_id]
    if not found:
        raise NotFound(f"Port {port_id} is not attached")
    instance.nics = found
    deallocate(session, instance)
    instance.nics = [nic for nic in nics if nic["port_id"] != port_id]


def interface_docs(session: Session, instance: Instance) -> list[InterfaceAttachmentView]:
    return [InterfaceAttachmentView.model_validate(
                {"port_state": found.status,
                 "fixed_ips": [{"subnet_id": f.subnet_id, "ip_address": f.ip_address} for f in found.fixed_ips],
                 "port_id": found.port_id, "net_id": found.network_id, "mac_addr": found.mac})
            for found in network.server_interfaces(session, instance.uuid, _port_ids(instance))]


def add_fixed_ip(session: Session, ctx: RequestContext, instance: Instance, network_id: str) -> None:
    try:
        network.add_fixed_ip(session, ctx, instance.uuid, _port_ids(instance), network_id)
    except Forbidden as exc:
        raise _as_nova_error(exc) from None


def remove_fixed_ip(session: Session, ctx: RequestContext, instance: Instance, address: str) -> None:
    try:
        network.remove_fixed_ip(session, ctx, instance.uuid, _port_ids(instance), address)
    except Forbidden as exc:
        raise _as_nova_error(exc) from None


def network_data(session: Session, instance: Instance) -> dict:
    """OpenStack's network_data.json for the config drive and the metadata service."""
    return network.network_data(session, instance.uuid, _port_ids(instance))


def change_security_group(session: Session, ctx: RequestContext, instance: Instance, name: str, *,
                          add: bool) -> None:
    """Nova's addSecurityGroup / removeSecurityGroup: the group on every port of the server."""
    network.change_security_group(session, ctx, instance.uuid, _port_ids(instance), name, add=add)


def security_group_names(session: Session, instances: list[Instance]) -> dict[str, list[dict]]:
    """Nova's `security_groups` of each server: the names of its ports' groups, once each."""
    found = network.security_group_names(session, {inst.uuid: _port_ids(inst) for inst in instances})
    return {uuid: [{"name": name} for name in names] for uuid, names in found.items()}
