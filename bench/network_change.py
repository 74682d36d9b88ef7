"""Network change benchmark: the agents' work for a change to one network, with 200 networks present.

Not a test: it never asserts speed. Run: .venv/bin/python bench/network_change.py [--networks 200] [--hosts 20]
A throwaway database (SQLite, every migration) holds NETWORKS networks, each with a DHCP subnet and two VM ports
bound to two of HOSTS compute hosts; a separate network host runs every DHCP server. Each host has a network agent
(the real NetworkReconciler over the fake driver) that has applied its document. Then one network's MTU changes,
ROUNDS times, and each round is propagated twice, on the same agents:

- before (the old global generation): any network write moved the one generation every agent long-polled on, so
  every host woke, and the API rebuilt, sent and the agent re-read its whole document. The old scheme is gone
  from the code; it is measured by doing exactly that: every host's document built and applied.
- after (scoped marks, db/changes.py): only the hosts the commit marked wake; each builds and applies its document.

Reported: hosts woken, network entries sent (documents are whole: every network a woken host carries, and the
network host's DHCP servers), driver calls made by the agents (a compute host's pass re-applies its security
groups and what changed: its one network), and the time to build and apply the documents (median round). The
network host carries every network, so it wakes for any of them in both schemes.
"""

from __future__ import annotations

import argparse
import ipaddress
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from andromede.db import changes
from andromede.db.engine import Database
from andromede.db.migrate import upgrade
from andromede.hosts import service as hosts
from andromede.hosts.models import Host
from andromede.network import changes as network_changes
from andromede.network import host_view
from andromede.network.agent.drivers.fake import FakeNetworkDriver
from andromede.network.agent.reconciler import NetworkReconciler, parse_document
from andromede.network.models import FixedIp, Network, Port, Subnet

NETWORK_HOST = "net-host"


class NoReports:
    """The agents' client, for the status reports only (documents are handed to them here)."""

    def network_status(self, host: str, ports: dict, fips: dict) -> None:
        del host, ports, fips


@dataclass
class Work:
    woken: int = 0
    compute_woken: int = 0
    networks_sent: int = 0
    compute_networks_sent: int = 0
    dhcp_sent: int = 0
    driver_calls: int = 0
    compute_driver_calls: int = 0
    build_s: float = 0.0
    apply_s: float = 0.0


def _id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"andromede-bench/{name}"))


def _mac(index: int) -> str:
    return "fa:16:3e:" + ":".join(f"{(index >> shift) & 0xFF:02x}" for shift in (16, 8, 0))


def populate(db: Database, networks: int, compute_hosts: list[str]) -> list[str]:
    with db.session() as session:
        for index, name in enumerate([NETWORK_HOST, *compute_hosts]):
            session.add(Host(name=name, vtep_address=f"192.0.2.{index + 1}"))
        ids = []
        for i in range(networks):
            network_id, subnet_id = _id(f"net-{i}"), _id(f"sub-{i}")
            cidr = ipaddress.ip_network(f"10.{i // 256}.{i % 256}.0/24")
            session.add(Network(id=network_id, project_id="p", name=f"net-{i}", segmentation_id=i + 1))
            session.add(Subnet(id=subnet_id, network_id=network_id, project_id="p", ip_version=4,
                               cidr=str(cidr), gateway_ip=str(cidr[1]), enable_dhcp=True))
            session.flush()
            bound = [("dhcp", "", "network:dhcp")] + [
                (f"vm{k}", compute_hosts[(i + k) % len(compute_hosts)], "compute:nova") for k in (0, 1)]
            for k, (role, host, owner) in enumerate(bound):
                port_id = _id(f"port-{i}-{role}")
                session.add(Port(id=port_id, network_id=network_id, project_id="p", mac_address=_mac(i * 4 + k),
                                 device_owner=owner, device_id=_id(f"device-{i}-{role}"), binding_host_id=host))
                session.flush()
                session.add(FixedIp(port_id=port_id, subnet_id=subnet_id, ip_address=str(cidr[2 + k])))
            ids.append(network_id)
    return ids


def document(db: Database, host: str) -> dict:
    """What the internal API answers HOST's long-poll with (network/internal_api.py), minus the HTTP."""
    with db.session() as session:
        generation = db.changes.topic(network_changes.TOPIC).generation(session, host)
        return host_view.host_view(session, host, generation=generation, network_host=host == NETWORK_HOST,
                                   vteps=hosts.vteps(session), network_host_name=NETWORK_HOST).wire()


def propagate(db: Database, agents: dict[str, NetworkReconciler], drivers: dict[str, FakeNetworkDriver],
              woken: list[str]) -> Work:
    work = Work(woken=len(woken), compute_woken=len([h for h in woken if h != NETWORK_HOST]))
    for host in woken:
        started = time.perf_counter()
        doc = document(db, host)
        built = time.perf_counter()
        calls_before = len(drivers[host].host.calls)
        agents[host].apply_document(parse_document(doc))  # parsing is part of the agent's work, as in apply
        work.build_s += built - started
        work.apply_s += time.perf_counter() - built
        calls = len(drivers[host].host.calls) - calls_before
        work.networks_sent += len(doc["networks"])
        work.dhcp_sent += len(doc["dhcp"])
        work.driver_calls += calls
        if host != NETWORK_HOST:
            work.compute_networks_sent += len(doc["networks"])
            work.compute_driver_calls += calls
    return work


def change_one_network(db: Database, network_id: str, mtu: int) -> changes.Scope:
    marked: list[changes.Scope] = []
    topic = db.changes.topic(network_changes.TOPIC)
    topic.on_commit(marked.append)
    try:
        with db.session() as session:
            network = session.get(Network, network_id)
            assert network is not None
            network.mtu = mtu
    finally:
        topic.listeners.remove(marked.append)
    return marked[0] if marked else frozenset()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--networks", type=int, default=200)
    parser.add_argument("--hosts", type=int, default=20, help="compute hosts (the network host is one more)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="andromede-bench-") as data:
        db = Database(f"sqlite:///{Path(data) / 'bench.sqlite'}")
        upgrade(db.engine)
        network_changes.watch(db, NETWORK_HOST)
        compute_hosts = [f"hv-{n:02d}" for n in range(args.hosts)]
        every_host = [NETWORK_HOST, *compute_hosts]
        started = time.perf_counter()
        network_ids = populate(db, args.networks, compute_hosts)
        drivers = {host: FakeNetworkDriver() for host in every_host}
        # Thorough passes (every spec re-applied) are the periodic resync's business, not a change's.
        agents = {host: NetworkReconciler(host, drivers[host], NoReports(), thorough_every=1_000_000)
                  for host in every_host}
        propagate(db, agents, drivers, every_host)  # each agent has applied its document once
        print(f"{args.networks} networks over {args.hosts} compute hosts (+ the network host, which runs every DHCP "
              f"server), built and applied in {time.perf_counter() - started:.1f} s\n")

        before: list[Work] = []
        after: list[Work] = []
        for round_ in range(args.rounds):
            target = network_ids[(round_ * 37) % len(network_ids)]
            change_one_network(db, target, 1400 - round_ * 2)  # before: any write wakes every host
            before.append(propagate(db, agents, drivers, every_host))
            scope = change_one_network(db, target, 1399 - round_ * 2)
            woken = every_host if scope is None else [h for h in every_host if h in scope]
            after.append(propagate(db, agents, drivers, woken))
        report(before, after)
        db.engine.dispose()


def report(before: list[Work], after: list[Work]) -> None:
    def median(works: list[Work], field: str) -> float:
        return statistics.median(getattr(w, field) for w in works)

    rows = [("hosts woken", "woken", "{:.0f}"), ("  of them compute hosts", "compute_woken", "{:.0f}"),
            ("network entries sent", "networks_sent", "{:.0f}"),
            ("  to compute hosts", "compute_networks_sent", "{:.0f}"), ("DHCP entries sent", "dhcp_sent", "{:.0f}"),
            ("agent driver calls", "driver_calls", "{:.0f}"), ("  on compute hosts", "compute_driver_calls", "{:.0f}"),
            ("build documents (ms)", "build_s", "{:.1f}"),
            ("agents apply (ms)", "apply_s", "{:.1f}")]
    print("a change to one network (median of rounds)   before: global generation   after: scoped marks   ratio")
    for label, field, fmt in rows:
        scale = 1000.0 if field.endswith("_s") else 1.0
        old, new = median(before, field) * scale, median(after, field) * scale
        ratio = f"{old / new:.1f}x" if new else "-"
        print(f"  {label:<42} {fmt.format(old):>24} {fmt.format(new):>20} {ratio:>7}")
    old_total = median(before, "build_s") + median(before, "apply_s")
    new_total = median(after, "build_s") + median(after, "apply_s")
    print(f"\ntime, build + apply: {old_total * 1000:.1f} ms before, {new_total * 1000:.1f} ms after: "
          f"ratio {old_total / new_total:.1f}x")
    print("'before' is measured, not recalled: the old scheme is gone from the code, so every host's document is "
          "built and applied, as one global generation made every host's long-poll do.")
    print("The network host carries every network (its DHCP servers), so it wakes in both schemes and its agent "
          "re-ensures each DHCP server on every pass.")


if __name__ == "__main__":
    main()
