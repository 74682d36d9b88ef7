"""Security-group benchmark: TCP through a filtered port with 10,000 rules against the same port with one rule.

Not a test: it never asserts speed. Run as root: .venv/bin/python bench/secgroups.py [--seconds S] [--rounds N]
Two guest namespaces on one bridge, wired by the real LinuxNetworkDriver (anti-spoofing + security groups in
nftables, conntrack). The receiving port's group has either 1 rule (the baseline: the one the benchmark flow
needs) or that rule plus 10,000 others (distinct prefixes and ports); runs alternate ABAB in the same process.
Measured: bulk TCP throughput (one long flow: only its first packet meets the rules), new TCP connections
per second (every SYN meets the rule sets), and the time ensure_security_groups takes to add or remove one
rule with 10,000 present (target: well under 1 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.contract.network.harness import LinuxHarness, linux_unavailable, new_id

from andromede.network.agent.drivers.base import (
    NetworkSpec,
    PortSpec,
    SecurityGroupRule,
    SecurityGroupSpec,
)

PORT = 5201
RULES = 10_000

PEER = r"""
import socket, sys, time
mode, host, port, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
if mode == "sink":
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(512)
    print("ready", flush=True)
    buf = bytearray(1 << 20)
    while True:
        c, _ = s.accept()
        try:
            while c.recv_into(buf):
                pass
        except OSError:
            pass
        c.close()
elif mode == "bulk":
    data = b"x" * (1 << 20)
    c = socket.create_connection((host, port)); sent = 0; end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        c.sendall(data); sent += len(data)
    c.close(); print(sent / seconds)
elif mode == "connect":
    n = 0; end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        c = socket.create_connection((host, port), timeout=2)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST: no TIME_WAIT
        c.close(); n += 1
    print(n / seconds)
"""


def rule(
    direction: str,
    protocol: str | None = None,
    low: int | None = None,
    high: int | None = None,
    prefix: str | None = None,
) -> SecurityGroupRule:
    return SecurityGroupRule(
        direction=direction,
        ethertype="IPv4",
        protocol=protocol,
        port_range_min=low,
        port_range_max=high,
        remote_ip_prefix=prefix,
    )


def many_rules(count: int) -> tuple[SecurityGroupRule, ...]:
    """Rules that never match the benchmark flow (other prefixes), with varied ports."""
    return tuple(
        rule(
            "ingress",
            "tcp" if i % 3 else "udp",
            1000 + i % 4000,
            1000 + i % 4000 + i % 7,
            f"172.{16 + i // 4096 % 16}.{i // 16 % 256}.{(i % 16) * 16}/28",
        )
        for i in range(count)
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each throughput run")
    parser.add_argument("--rounds", type=int, default=3, help="ABAB rounds")
    args = parser.parse_args()
    if reason := linux_unavailable():
        sys.exit(f"cannot run: {reason}")
    harness = LinuxHarness()
    try:
        run(harness, args.seconds, args.rounds)
    finally:
        harness.close()


def run(harness: LinuxHarness, seconds: float, rounds: int) -> None:
    driver = harness.driver
    net = NetworkSpec(network_id=new_id(), vni=4100)
    client_group, server_group = new_id(), new_id()
    client = SecurityGroupSpec(group_id=client_group, rules=(rule("egress"),))
    needed = rule("ingress", "tcp", PORT, PORT, "10.40.0.1/32")
    small = SecurityGroupSpec(group_id=server_group, rules=(needed,))
    big = SecurityGroupSpec(group_id=server_group, rules=(*many_rules(RULES), needed))
    driver.ensure_network(net)
    driver.ensure_security_groups((client, small))
    a = PortSpec(
        port_id=new_id(),
        network_id=net.network_id,
        mac="fa:16:3e:00:40:01",
        fixed_ips=("10.40.0.1",),
        security_group_ids=(client_group,),
    )
    b = PortSpec(
        port_id=new_id(),
        network_id=net.network_id,
        mac="fa:16:3e:00:40:02",
        fixed_ips=("10.40.0.2",),
        security_group_ids=(server_group,),
    )
    vm_a = harness.vm(a.port_id, a.mac, "10.40.0.1/24")
    vm_b = harness.vm(b.port_id, b.mac, "10.40.0.2/24")
    driver.ensure_port(a)
    driver.ensure_port(b)
    script = harness.state_dir / "bench-peer.py"
    script.write_text(PEER)

    def peer(netns: str, *argv: str, cpu: int) -> list[str]:
        # Sender and sink pinned to CPUs of their own (as in bench/dataplane.py): the scheduler's placement
        # otherwise moves each run by several per cent, more than what is measured.
        pin = ["taskset", "-c", str(cpu)] if (os.cpu_count() or 1) >= 2 else []
        return ["ip", "netns", "exec", netns, *pin, sys.executable, str(script), *argv]

    sink = subprocess.Popen(peer(vm_b, "sink", "-", str(PORT), "0", cpu=1), stdout=subprocess.PIPE, text=True)
    assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"

    def measure(mode: str) -> float:
        out = subprocess.run(
            peer(vm_a, mode, "10.40.0.2", str(PORT), str(seconds), cpu=0),
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=True,
        )
        return float(out.stdout.strip())

    results: dict[str, dict[str, list[float]]] = {
        "1 rule": {"bulk": [], "connect": []},
        f"{RULES} rules": {"bulk": [], "connect": []},
    }
    apply_ms: dict[str, list[float]] = {"load 10,000": [], "add one": [], "remove one": []}
    extra = rule("ingress", "tcp", 443, 443, "192.0.2.0/24")
    for _ in range(rounds):
        for label, group in (("1 rule", small), (f"{RULES} rules", big)):
            t0 = time.perf_counter()
            driver.ensure_security_groups((client, group))
            if group is big:
                apply_ms["load 10,000"].append((time.perf_counter() - t0) * 1000)
            for mode in ("bulk", "connect"):
                results[label][mode].append(measure(mode))
        # One rule change with 10,000 present (the group is loaded as `big` now).
        t0 = time.perf_counter()
        driver.ensure_security_groups((client, SecurityGroupSpec(group_id=server_group, rules=(*big.rules, extra))))
        apply_ms["add one"].append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        driver.ensure_security_groups((client, big))
        apply_ms["remove one"].append((time.perf_counter() - t0) * 1000)
    os.kill(sink.pid, 9)
    sink.wait()

    med = {label: {mode: statistics.median(v) for mode, v in modes.items()} for label, modes in results.items()}
    base, loaded = med["1 rule"], med[f"{RULES} rules"]
    print(f"security groups: {rounds} ABAB rounds, {seconds:.1f} s per run, 2 guests on one bridge (veth)")
    for label, figures in med.items():
        runs = " ".join(f"{value * 8 / 1e9:.2f}" for value in results[label]["bulk"])
        print(
            f"  {label:>12}: bulk TCP {figures['bulk'] * 8 / 1e9:6.2f} Gbit/s ({runs}), "
            f"new connections {figures['connect']:7.0f}/s"
        )
    for label, values in apply_ms.items():
        print(
            f"  apply ({label} rule{'s' if label.startswith('load') else ''}): "
            f"median {statistics.median(values):.0f} ms, max {max(values):.0f} ms"
        )
    ratio = loaded["bulk"] / base["bulk"]
    print(f"throughput ratio ({RULES} rules / 1 rule): {ratio:.3f} (target >= 0.95)")
    print(f"new-connection ratio ({RULES} rules / 1 rule): {loaded['connect'] / base['connect']:.3f}")
    print(f"rule change with {RULES} present: {statistics.median(apply_ms['add one']):.0f} ms (target <= 1000 ms)")


if __name__ == "__main__":
    main()
