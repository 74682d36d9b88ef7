"""Network's reconciler: make the data plane match the host's desired network document.

Level-triggered like compute's: every pass takes the whole document, ensures each item (idempotent driver calls,
one failure never blocks the others) and removes what is no longer wanted. The agent's runner (agentlib.runner)
brings changes at once through its long-poll; observing drift is applying the last document again.

Each driver call starts processes (ip, nft, sysctl), so a pass skips a network or port whose spec is the one it
last applied successfully while the host still shows it in place (bridge with its VNI, tap attached and filtered):
a host with hundreds of ports then costs a few listings per pass, not hundreds of transactions. Every
`thorough_every`-th pass re-applies everything, which repairs drift the listings cannot see (a rule edited by hand).
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol, TypeVar

import httpx
from pydantic import ValidationError

from andromede.agentlib.errors import PermanentError
from andromede.agentlib.reports import LastReported
from andromede.agentlib.runner import Desired
from andromede.contracts import network as contract
from andromede.contracts import summary
from andromede.network.agent.drivers import base
from andromede.network.agent.drivers.base import (
    AddressPair,
    DhcpHost,
    DhcpSpec,
    DhcpSubnet,
    NetworkDriver,
    NetworkSpec,
    PortSpec,
)

log = logging.getLogger("andromede.agent.network")

_Spec = TypeVar("_Spec")
_Doc = TypeVar("_Doc")


@dataclass
class Outcome:
    """What one pass achieved, for status reports and for callers waiting on ports."""

    ports: dict[str, str] = field(default_factory=dict)  # port id -> ACTIVE | DOWN
    floating_ips: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def _attempt(outcome: Outcome, what: str, call: Callable[[], object]) -> bool:
    try:
        call()
        return True
    except (base.DriverError, ValueError, OSError) as exc:
        outcome.errors.append(f"{what}: {exc}")
        log.warning("%s failed: %s", what, exc)
        return False


def _built(apply: Callable[[_Spec], object], build: Callable[[_Doc], _Spec], doc: _Doc) -> Callable[[], object]:
    """A driver call whose spec is built from `doc` inside the attempt, so that a spec the driver's types refuse
    (an address outside its subnet, a bad MAC) is a failed item, not a failed pass."""
    return lambda: apply(build(doc))


def parse_document(answer: object) -> contract.HostNetworkDocument:
    """The controller's answer as the contract has it; one that breaks the contract will not parse again until the
    desired state changes, so it is a PermanentError (the runner holds that generation)."""
    try:
        return contract.HostNetworkDocument.model_validate(answer)
    except ValidationError as exc:
        raise PermanentError(f"the controller's network document is invalid: {summary(exc)}") from None


def port_spec(doc: contract.HostPort) -> PortSpec:
    pairs = tuple(AddressPair(cidr=_as_cidr(p.ip_address), mac=p.mac_address) for p in doc.allowed_address_pairs)
    return PortSpec(port_id=doc.id, network_id=doc.network_id, mac=doc.mac, fixed_ips=doc.fixed_ips,
                    allowed_address_pairs=pairs, port_security=doc.port_security,
                    security_group_ids=doc.security_groups)


def _as_cidr(address: str) -> str:
    if "/" in address:
        return address
    return f"{address}/128" if ":" in address else f"{address}/32"


def dhcp_spec(doc: contract.DhcpServer, *, metadata: bool) -> DhcpSpec:
    subnets = tuple(DhcpSubnet(subnet_id=s.id, cidr=s.cidr, server_address=s.server_address, gateway=s.gateway,
                               dns_servers=s.dns_servers, host_routes=s.host_routes)
                    for s in doc.subnets)
    hosts = tuple(DhcpHost(mac=h.mac, ip=h.ip, hostname=h.hostname, options=h.options) for h in doc.hosts)
    return DhcpSpec(network_id=doc.network_id, port_id=doc.port_id, mac=doc.mac, subnets=subnets,
                    hosts=hosts, mtu=doc.mtu, metadata=metadata)


def _cidr(address: str) -> str:
    """A member address as the filters match it: 10.0.0.3 is 10.0.0.3/32."""
    return str(ipaddress.ip_network(address, strict=False))


def security_group_specs(groups: dict[str, contract.SecurityGroup]) -> tuple[base.SecurityGroupSpec, ...]:
    """Protocols and prefixes arrive normalised by the server (contracts/network.py)."""
    specs = []
    for group_id, group in sorted(groups.items()):
        rules = tuple(base.SecurityGroupRule(direction=r.direction, ethertype=r.ethertype, protocol=r.protocol,
                                             port_range_min=r.port_range_min, port_range_max=r.port_range_max,
                                             remote_ip_prefix=r.remote_ip_prefix, remote_group_id=r.remote_group_id)
                      for r in group.rules)
        specs.append(base.SecurityGroupSpec(group_id=group_id, rules=rules,
                                            members_v4=tuple(_cidr(m) for m in group.members.ipv4),
                                            members_v6=tuple(_cidr(m) for m in group.members.ipv6)))
    return tuple(specs)


def router_spec(doc: contract.Router) -> base.RouterSpec:
    g = doc.gateway
    gateway = None if g is None else base.RouterGateway(
        network_id=g.network_id, port_id=g.port_id, mac=g.mac, ip=g.ip, prefixlen=g.prefixlen,
        upstream_gateway=g.upstream_gateway, enable_snat=g.enable_snat)
    interfaces = tuple(base.RouterInterface(port_id=i.port_id, network_id=i.network_id, mac=i.mac, ip=i.ip,
                                            prefixlen=i.prefixlen, ra_mode=i.ra_mode)
                       for i in doc.interfaces)
    fips = tuple(base.FloatingIp(floating_ip=f.floating_ip, fixed_ip=f.fixed_ip) for f in doc.floating_ips)
    routes = tuple(base.ExtraRoute(destination=r.destination, nexthop=r.nexthop) for r in doc.routes)
    return base.RouterSpec(router_id=doc.router_id, gateway=gateway, interfaces=interfaces, floating_ips=fips,
                           routes=routes)


class NetworkController(Protocol):
    """What the reconciler asks of the controller: the agent's NetworkClient over the internal API, or a test's fake."""

    def network_desired(self, host: str, since: int, wait: float) -> dict: ...

    def network_status(self, host: str, ports: dict[str, str], floating_ips: dict[str, str]) -> None: ...


class NetworkReconciler:
    """The runner's network reconciler (agentlib.runner.Reconciler)."""

    name = "network"
    expected_failures: tuple[type[BaseException], ...] = (base.DriverError,)

    def __init__(self, host: str, driver: NetworkDriver, client: NetworkController, *,
                 repair_every: float = 15.0, resync_every: float = 60.0, metadata: bool = False,
                 thorough_every: int = 4, vtep_address: str | None = None) -> None:
        self.host = host
        self.driver = driver
        self.client = client
        self.observe_every = repair_every
        self.resync_every = resync_every
        self.metadata = metadata  # a metadata proxy runs next to each DHCP server
        self.document: contract.HostNetworkDocument | None = None
        self._on_close: list[Callable[[], None]] = []
        self._apply_lock = threading.Lock()
        self._generation = 0  # of the newest document applied
        self._wired = threading.Condition()
        self._active: set[str] = set()
        self._reported: LastReported[str, str] = LastReported()  # port id -> status
        self._reported_fips: LastReported[str, str] = LastReported()
        self.thorough_every = thorough_every
        self.vtep_address = vtep_address  # this host's VXLAN endpoint, reported with the heartbeat
        self._passes = 0
        self._thorough = True
        self._applied: dict[str, object] = {}  # "network <id>" / "port <id>" -> spec last applied successfully

    # ---- what other parts of the agent ask ------------------------------------------------------

    def wait_for_ports(self, port_ids: list[str], timeout: float) -> bool:
        """Block until these ports are wired on this host (the compute loop boots a VM after that)."""
        deadline = time.monotonic() + timeout
        with self._wired:
            while not set(port_ids) <= self._active:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._wired.wait(remaining)
        return True

    def metadata_caller(self, network_id: str, address: str) -> tuple[str, str] | None:
        """(instance id, project id) of the port on `network_id` that owns `address`, from the last document."""
        document = self.document
        return None if document is None else document.metadata_callers.get(network_id, {}).get(address)

    # ---- one pass ---------------------------------------------------------------------------------

    def host_report(self) -> dict[str, object]:
        return {} if self.vtep_address is None else {"vtep_address": self.vtep_address}

    def fetch(self, since: int, wait: float) -> Desired[dict] | None:
        answer = self.client.network_desired(self.host, since, wait)
        if answer.get("unchanged"):
            return None
        return Desired(int(answer["generation"]), answer, full=True)  # every answer is the whole document

    def apply(self, desired: Desired[dict]) -> None:
        self._pass(parse_document(desired.document), desired.generation)

    def observe(self) -> None:
        self._pass(None, None)

    def close_with(self, cleanup: Callable[[], None]) -> None:
        """Something that runs beside the reconciler (the metadata relay) and stops with it."""
        self._on_close.append(cleanup)

    def close(self) -> None:
        for cleanup in self._on_close:
            cleanup()

    def apply_document(self, document: contract.HostNetworkDocument) -> Outcome:
        outcome = self._pass(document, None)
        assert outcome is not None
        return outcome

    def _pass(self, document: contract.HostNetworkDocument | None, generation: int | None) -> Outcome | None:
        """Apply `document` (None: the last one again). The watch and the periodic resync fetch whole documents
        from two threads: one fetched before a newer one was applied is dropped, or it would undo the newer (a
        deleted security-group rule back in force until the next resync)."""
        with self._apply_lock:
            if document is not None:
                if generation is not None and generation < self._generation:
                    return None
                self.document, self._generation = document, max(self._generation, generation or 0)
            if self.document is None:
                return None
            outcome = self._apply(self.document)
        with self._wired:
            self._active = {pid for pid, status in outcome.ports.items() if status == "ACTIVE"}
            self._wired.notify_all()
        self._report(outcome)
        return outcome

    def _ensure(self, outcome: Outcome, key: str, spec: object, in_place: bool, call: Callable[[], object]) -> bool:
        """Apply `spec` unless it is what was last applied and the host still shows it in place."""
        if in_place and not self._thorough and self._applied.get(key) == spec:
            return True
        self._applied.pop(key, None)
        if not _attempt(outcome, key, call):
            return False
        self._applied[key] = spec
        return True

    def _apply(self, doc: contract.HostNetworkDocument) -> Outcome:
        outcome = Outcome()
        driver = self.driver
        self._thorough = self._passes % self.thorough_every == 0
        self._passes += 1
        networks_now = driver.list_networks()
        ports_now = driver.list_ports()
        ready_networks = set()
        for net in doc.networks:
            spec = NetworkSpec(network_id=net.id, vni=net.vni, mtu=net.mtu, remote_vteps=net.remote_vteps)
            state = networks_now.get(spec.network_id)
            in_place = state is not None and state.vni == spec.vni and state.mtu == spec.mtu
            if self._ensure(outcome, f"network {spec.network_id}", spec, in_place,
                            partial(driver.ensure_network, spec)):
                ready_networks.add(net.id)
        for ext in doc.external:
            if ext.network_id in ready_networks:
                _attempt(outcome, f"external access {ext.network_id}",
                         partial(driver.ensure_external_access, ext.network_id, ext.host_cidr))
        groups = security_group_specs(doc.security_groups)
        if groups or doc.ports:
            try:
                driver.ensure_security_groups(groups)
            except (base.DriverError, ValueError, OSError) as exc:
                outcome.errors.append(f"security groups: {exc}")
                log.warning("security groups failed: %s", exc)
        for port in doc.ports:
            ok = port.network_id in ready_networks and self._ensure_port(outcome, port, ports_now)
            outcome.ports[port.id] = "ACTIVE" if ok else "DOWN"
        for dhcp in doc.dhcp:
            if dhcp.network_id in ready_networks:
                self._ensure_dhcp(outcome, dhcp, networks_now)
        for router in doc.routers:
            ok = _attempt(outcome, f"router {router.router_id}", _built(driver.ensure_router, router_spec, router))
            for fip in router.floating_ips:
                outcome.floating_ips[fip.id] = "ACTIVE" if ok else "DOWN"
            gateway = [router.gateway.port_id] if router.gateway else []
            for port_id in [*(i.port_id for i in router.interfaces), *gateway]:
                outcome.ports[port_id] = "ACTIVE" if ok else "DOWN"
        # What existed before this pass is all garbage collection needs: what the pass built is wanted.
        self._collect_garbage(doc, outcome, networks_now, ports_now)
        wanted = {f"network {n.id}" for n in doc.networks}
        wanted |= {f"port {p.id}" for p in doc.ports}
        wanted |= {f"DHCP {d.network_id}" for d in doc.dhcp}
        self._applied = {key: spec for key, spec in self._applied.items() if key in wanted}
        return outcome

    def _ensure_port(self, outcome: Outcome, doc: contract.HostPort, ports_now: dict[str, base.PortState]) -> bool:
        try:
            spec = port_spec(doc)
        except ValueError as exc:
            outcome.errors.append(f"port {doc.id}: {exc}")
            return False
        state = ports_now.get(spec.port_id)
        in_place = (state is not None and state.attached and state.network_id == spec.network_id
                    and state.filtered == spec.port_security)
        return self._ensure(outcome, f"port {spec.port_id}", spec, in_place, lambda: self.driver.ensure_port(spec))

    def _ensure_dhcp(self, outcome: Outcome, doc: contract.DhcpServer,
                     networks_now: dict[str, base.NetworkState]) -> None:
        """A DHCP server whose spec is unchanged and whose dnsmasq runs is left alone between thorough passes
        (which also repair its metadata proxy): the network host carries every network's."""
        key = f"DHCP {doc.network_id}"
        try:
            spec = dhcp_spec(doc, metadata=self.metadata)
        except ValueError as exc:
            outcome.errors.append(f"{key}: {exc}")
            log.warning("%s failed: %s", key, exc)
            self._applied.pop(key, None)
            return
        state = networks_now.get(doc.network_id)
        self._ensure(outcome, key, spec, state is not None and state.dhcp, lambda: self.driver.ensure_dhcp(spec))

    def _collect_garbage(self, doc: contract.HostNetworkDocument, outcome: Outcome,
                         networks_now: dict[str, base.NetworkState], ports_now: dict[str, base.PortState]) -> None:
        driver = self.driver
        wanted_ports = {p.id for p in doc.ports}
        for port_id in set(ports_now) - wanted_ports:
            _attempt(outcome, f"removing port {port_id}", partial(driver.delete_port, port_id))
        wanted_routers = {r.router_id for r in doc.routers}
        for router_id in set(driver.list_routers()) - wanted_routers:
            _attempt(outcome, f"removing router {router_id}", partial(driver.delete_router, router_id))
        wanted_dhcp = {d.network_id for d in doc.dhcp}
        wanted_networks = {n.id for n in doc.networks}
        for network_id, state in networks_now.items():
            if network_id not in wanted_networks:
                _attempt(outcome, f"removing external access {network_id}",
                         partial(driver.delete_external_access, network_id))
                _attempt(outcome, f"removing network {network_id}", partial(driver.delete_network, network_id))
            elif state.dhcp and network_id not in wanted_dhcp:
                _attempt(outcome, f"removing DHCP {network_id}", partial(driver.delete_dhcp, network_id))

    def _report(self, outcome: Outcome) -> None:
        # A port or floating IP that left this host's document and came back (a floating IP disassociated, then
        # associated again; the controller set it DOWN meanwhile) is reported again; and every thorough pass
        # reports everything, for a change the agent could not see between two passes.
        for reported, current in ((self._reported, outcome.ports), (self._reported_fips, outcome.floating_ips)):
            if self._thorough:
                reported.forget_all()
            else:
                reported.retain(current)
        ports = self._reported.changed(outcome.ports)
        fips = self._reported_fips.changed(outcome.floating_ips)
        if not ports and not fips:
            return
        try:
            self.client.network_status(self.host, ports, fips)
        except httpx.HTTPError as exc:
            log.warning("could not report port status (%s); the next pass retries", exc)
            return
        self._reported.told(ports)
        self._reported_fips.told(fips)
