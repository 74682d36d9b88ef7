"""The network reconciler, driven as the agent's runner drives it, against the fake data plane: ensure, report,
garbage-collect, wait for ports."""

from __future__ import annotations

import threading
import uuid

from andromede.agentlib.runner import Desired, Loop
from andromede.network.agent.drivers.fake import FakeHost, FakeNetworkDriver
from andromede.network.agent.reconciler import NetworkReconciler, parse_document


def new_id() -> str:
    return str(uuid.uuid4())


class StubClient:
    def __init__(self, document: dict) -> None:
        self.document = document
        self.reports: list[tuple[dict, dict]] = []

    def network_desired(self, host: str, since: int, wait: float) -> dict:
        if since >= self.document["generation"]:
            return {"generation": since, "unchanged": True}
        return self.document

    def network_status(self, host: str, ports: dict, floating_ips: dict) -> None:
        self.reports.append((ports, floating_ips))


def _document(generation: int, network_id: str, port_id: str, dhcp_port: str) -> dict:
    return {
        "generation": generation, "network_host": True, "security_groups": {}, "routers": [], "external": [],
        "networks": [{"id": network_id, "vni": 1001, "mtu": 1450, "remote_vteps": ["192.0.2.7"]}],
        "ports": [{"id": port_id, "network_id": network_id, "mac": "fa:16:3e:00:00:05", "fixed_ips": ["10.0.0.5"],
                   "allowed_address_pairs": [{"ip_address": "10.0.0.99"}], "port_security": True,
                   "device_id": new_id(), "device_owner": "compute:nova", "admin_state_up": True,
                   "security_groups": []}],
        "dhcp": [{"network_id": network_id, "port_id": dhcp_port, "mac": "fa:16:3e:00:00:02", "mtu": 1450,
                  "subnets": [{"id": new_id(), "cidr": "10.0.0.0/24", "server_address": "10.0.0.2",
                               "gateway": "10.0.0.1", "dns_servers": [], "host_routes": []}],
                  "hosts": [{"mac": "fa:16:3e:00:00:05", "ip": "10.0.0.5", "hostname": "host-10-0-0-5"}]}],
        "metadata_callers": {network_id: {"10.0.0.5": ["instance-1", "project-1"]}},
    }


def test_a_document_is_built_reported_and_then_collected() -> None:
    network_id, port_id, dhcp_port = new_id(), new_id(), new_id()
    host = FakeHost()
    client = StubClient(_document(5, network_id, port_id, dhcp_port))
    reconciler = NetworkReconciler("h1", FakeNetworkDriver(host), client)
    loop = Loop(reconciler)
    loop.sync(full=True)
    assert set(host.networks) == {network_id} and set(host.ports) == {port_id} and network_id in host.dhcp
    assert host.ports[port_id].allowed_address_pairs[0].cidr == "10.0.0.99/32"
    assert host.networks[network_id].remote_vteps == ("192.0.2.7",)  # the other hosts carrying the network
    assert client.reports == [({port_id: "ACTIVE"}, {})]
    assert reconciler.wait_for_ports([port_id], timeout=0.1)
    assert reconciler.metadata_caller(network_id, "10.0.0.5") == ("instance-1", "project-1")
    assert reconciler.metadata_caller(network_id, "10.0.0.6") is None

    loop.sync(full=False)  # unchanged: nothing re-applied, nothing re-reported
    assert len(client.reports) == 1

    client.document = {**_document(6, network_id, port_id, dhcp_port), "ports": [], "dhcp": [], "networks": []}
    loop.sync(full=False)
    assert host.networks == {} and host.ports == {} and host.dhcp == {}


def test_one_bad_item_does_not_block_the_others() -> None:
    network_id, port_id, dhcp_port = new_id(), new_id(), new_id()
    document = _document(3, network_id, port_id, dhcp_port)
    bad = dict(document["ports"][0], id=new_id(), mac="not-a-mac")
    document["ports"].append(bad)
    host = FakeHost()
    client = StubClient(document)
    reconciler = NetworkReconciler("h1", FakeNetworkDriver(host), client)
    Loop(reconciler).sync(full=True)
    assert set(host.ports) == {port_id}
    assert client.reports[0][0] == {port_id: "ACTIVE", bad["id"]: "DOWN"}


def test_waiting_for_a_port_returns_once_it_is_wired() -> None:
    network_id, port_id, dhcp_port = new_id(), new_id(), new_id()
    reconciler = NetworkReconciler("h1", FakeNetworkDriver(FakeHost()), StubClient(
        _document(2, network_id, port_id, dhcp_port)))
    assert not reconciler.wait_for_ports([port_id], timeout=0.05)
    threading.Timer(0.2, lambda: Loop(reconciler).sync(full=True)).start()
    assert reconciler.wait_for_ports([port_id], timeout=10)


def test_repair_passes_skip_what_is_in_place_and_mend_what_is_not() -> None:
    network_id, port_id, dhcp_port = new_id(), new_id(), new_id()
    host = FakeHost()
    client = StubClient(_document(4, network_id, port_id, dhcp_port))
    reconciler = NetworkReconciler("h1", FakeNetworkDriver(host), client, thorough_every=3)
    Loop(reconciler).sync(full=True)  # pass 1 (thorough)
    ensured = [c for c in host.calls if c.startswith(("ensure_port", "ensure_network"))]
    assert ensured == [f"ensure_network {network_id}", f"ensure_port {port_id}"]

    host.calls.clear()
    reconciler.apply_document(parse_document(client.document))  # pass 2: all in place, same specs
    assert not [c for c in host.calls if c.startswith(("ensure_port", "ensure_network"))]

    host.attached.discard(port_id)  # drift the listings show: the tap left its bridge
    reconciler.apply_document(parse_document(client.document))  # pass 3
    assert [c for c in host.calls if c.startswith("ensure_port")] == [f"ensure_port {port_id}"]
    assert port_id in host.attached

    host.calls.clear()
    reconciler.apply_document(parse_document(client.document))  # pass 4: thorough, everything again
    assert f"ensure_port {port_id}" in host.calls and f"ensure_network {network_id}" in host.calls


def test_dhcp_servers_in_place_are_left_alone_between_thorough_passes() -> None:
    """The network host carries every network's DHCP server: a pass re-ensures only the changed or stopped ones."""
    network_id, port_id, dhcp_port = new_id(), new_id(), new_id()
    host = FakeHost()
    document = _document(4, network_id, port_id, dhcp_port)
    reconciler = NetworkReconciler("h1", FakeNetworkDriver(host), StubClient(document), thorough_every=4)
    Loop(reconciler).sync(full=True)  # pass 1 (thorough)
    assert f"ensure_dhcp {network_id}" in host.calls

    host.calls.clear()
    reconciler.apply_document(parse_document(document))  # pass 2: running, same spec
    assert f"ensure_dhcp {network_id}" not in host.calls

    document["dhcp"][0]["hosts"].append({"mac": "fa:16:3e:00:00:06", "ip": "10.0.0.6", "hostname": "host-10-0-0-6"})
    reconciler.apply_document(parse_document(document))  # pass 3: a new lease to hand out
    assert host.calls.count(f"ensure_dhcp {network_id}") == 1
    assert len(host.dhcp[network_id].hosts) == 2

    host.calls.clear()
    del host.dhcp[network_id]  # dnsmasq died
    reconciler.apply_document(parse_document(document))  # pass 4
    assert host.calls.count(f"ensure_dhcp {network_id}") == 1 and network_id in host.dhcp


def test_a_whole_document_older_than_the_one_applied_is_dropped() -> None:
    """The periodic resync fetched generation 10; meanwhile the watch applied 11, which removed the port (a deleted
    rule, a deleted port): applying 10 late would bring it back until the next resync."""
    network_id, port_id, dhcp_port = new_id(), new_id(), new_id()
    host = FakeHost()
    older = _document(10, network_id, port_id, dhcp_port)
    newer = {**_document(11, network_id, port_id, dhcp_port), "ports": []}
    reconciler = NetworkReconciler("h1", FakeNetworkDriver(host), StubClient(newer))
    reconciler.apply(Desired(11, newer, full=True))
    reconciler.apply(Desired(10, older, full=True))
    assert port_id not in host.ports and reconciler.document is not None and reconciler.document.generation == 11
    reconciler.observe()  # drift repair re-applies the newest, never the dropped one
    assert port_id not in host.ports


def test_a_document_that_breaks_the_contract_is_held_until_the_next_generation() -> None:
    network_id, port_id, dhcp_port = new_id(), new_id(), new_id()
    document = _document(3, network_id, port_id, dhcp_port)
    host = FakeHost()
    client = StubClient({**document, "networks": [{"id": network_id, "vni": "many", "mtu": 1450}]})
    reconciler = NetworkReconciler("h1", FakeNetworkDriver(host), client)
    loop = Loop(reconciler)
    assert not loop.sync(full=True)  # refused, not half-applied
    assert loop.held == 3 and host.networks == {} and reconciler.document is None
    assert not loop.sync(full=True)  # the same generation is not tried again
    client.document = _document(4, network_id, port_id, dhcp_port)
    assert loop.sync(full=False) and set(host.ports) == {port_id}


def test_a_newer_servers_fields_are_ignored() -> None:
    network_id, port_id, dhcp_port = new_id(), new_id(), new_id()
    document = _document(3, network_id, port_id, dhcp_port)
    document["ports"][0]["qos_policy"] = {"max_kbps": 1000}
    host = FakeHost()
    Loop(NetworkReconciler("h1", FakeNetworkDriver(host), StubClient({**document, "trunks": []}))).sync(full=True)
    assert set(host.ports) == {port_id}


def test_a_port_that_leaves_the_document_and_comes_back_is_reported_again() -> None:
    """The controller sets a port (or floating IP) DOWN when it leaves the host and expects ACTIVE again when it
    comes back wired; a thorough pass reports everything, for a round trip between two passes."""
    network_id, port_id, dhcp_port = new_id(), new_id(), new_id()
    client = StubClient(_document(5, network_id, port_id, dhcp_port))
    reconciler = NetworkReconciler("h1", FakeNetworkDriver(FakeHost()), client, thorough_every=100)
    loop = Loop(reconciler)
    loop.sync(full=True)
    assert client.reports == [({port_id: "ACTIVE"}, {})]
    client.document = {**_document(6, network_id, port_id, dhcp_port), "ports": []}
    loop.sync(full=False)
    client.document = _document(7, network_id, port_id, dhcp_port)
    loop.sync(full=False)
    assert client.reports[-1] == ({port_id: "ACTIVE"}, {})

    reconciler.thorough_every = 1
    reported = len(client.reports)
    reconciler.apply_document(parse_document(client.document))
    assert client.reports[reported:] == [({port_id: "ACTIVE"}, {})]
