"""Security groups' pure parts: the disjoint compilation, the nft text and the Python model."""

from __future__ import annotations

import ipaddress
import random

from andromede.network.agent.drivers import secgroup_model
from andromede.network.agent.drivers.base import PortSpec, SecurityGroupRule, SecurityGroupSpec
from andromede.network.agent.drivers.linux import nft, secgroups

NET = "ca57e0d3-44f0-45f3-bde4-5ad47a451a8f"
PORT = "8a0cf1ac-5fea-49d1-a351-fe32b90dbd48"
GROUP = "11111111-2222-4333-8444-555555555555"
REMOTE = "66666666-7777-4888-9999-000000000000"


def rule(
    direction: str = "ingress",
    protocol: str | None = None,
    low: int | None = None,
    high: int | None = None,
    **kw: object,
) -> SecurityGroupRule:
    return SecurityGroupRule(
        direction=direction,
        ethertype=str(kw.pop("ethertype", "IPv4")),
        protocol=protocol,
        port_range_min=low,
        port_range_max=high,
        **kw,
    )  # type: ignore[arg-type]


def test_disjoint_covers_the_same_points_without_overlaps() -> None:
    rng = random.Random(7)
    prefixes = [
        ipaddress.ip_network(p) for p in ("0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "11.0.0.0/8")
    ]
    for _ in range(200):
        boxes = []
        for _ in range(rng.randint(1, 8)):
            low = rng.randint(0, 30)
            boxes.append((rng.choice(prefixes), rng.choice([6, 17]), low, low + rng.randint(0, 10)))
        out = secgroups.disjoint(boxes)
        for address in ("10.1.2.3", "10.1.9.9", "10.9.9.9", "11.1.1.1", "12.0.0.1"):
            ip = ipaddress.ip_address(address)
            for key in (6, 17):
                for port in range(0, 45):
                    inside = sum(1 for n, k, lo, hi in out if ip in n and k == key and lo <= port <= hi)
                    wanted = any(ip in n and k == key and lo <= port <= hi for n, k, lo, hi in boxes)
                    assert inside == int(wanted), (boxes, address, key, port)


def test_ten_thousand_rules_compile_into_a_handful_of_sets() -> None:
    rules = tuple(
        rule("ingress", "tcp", 1000 + i % 5000, 1000 + i % 5000, remote_ip_prefix=f"10.{i // 250}.{i % 250}.0/24")
        for i in range(10_000)
    )
    compiled = secgroups.compile_group(SecurityGroupSpec(group_id=GROUP, rules=rules))
    name = secgroups.rule_set(GROUP, "ingress", 4, "t")
    assert len(compiled.sets[name][1]) == 10_000
    assert len(compiled.chains[secgroups.group_chain(GROUP, "ingress")]) == 6  # 3 kinds x 2 IP versions


def test_group_chain_and_elements() -> None:
    spec = SecurityGroupSpec(
        group_id=GROUP,
        rules=(
            rule("ingress", "tcp", 22, 22, remote_ip_prefix="0.0.0.0/0"),
            rule("ingress", "tcp", 20, 30, remote_ip_prefix="10.0.0.0/8"),  # overlaps: 10/8 keeps 20-21, 23-30
            rule("ingress", "icmp", 8),
            rule("ingress", "17"),
            rule("egress"),
            rule("ingress", remote_group_id=REMOTE, ethertype="IPv6"),
        ),
    )
    compiled = secgroups.compile_group(spec)
    assert compiled.sets[secgroups.rule_set(GROUP, "ingress", 4, "t")][1] == {
        "0.0.0.0/0 . 6 . 22",
        "10.0.0.0/8 . 6 . 20-21",
        "10.0.0.0/8 . 6 . 23-30",
    }
    assert compiled.sets[secgroups.rule_set(GROUP, "ingress", 4, "c")][1] == {"0.0.0.0/0 . 8 . 0-255"}
    assert compiled.sets[secgroups.rule_set(GROUP, "ingress", 4, "p")][1] == {"0.0.0.0/0 . 17"}
    assert compiled.sets[secgroups.rule_set(GROUP, "egress", 4, "p")][1] == {"0.0.0.0/0 . 0-255"}
    remote = secgroups.rule_set(GROUP, "ingress", 6, "p", REMOTE)
    assert compiled.sets[remote] == ("inet_proto", frozenset({"0-255"}))
    assert f"ip6 saddr @m-{REMOTE}-6 meta l4proto @{remote} accept" in compiled.chains[f"g-{GROUP}-in"]
    assert compiled.remotes == {REMOTE}


def test_port_wiring_text() -> None:
    spec = PortSpec(
        port_id=PORT, network_id=NET, mac="fa:16:3e:00:00:31", fixed_ips=("10.0.0.5",), security_group_ids=(GROUP,)
    )
    tag = secgroups.port_tag(PORT)
    assert tag == 0x0A0CF1AC and secgroups.ingress_mark(PORT) == tag | 0x80000000
    lines = secgroups.text(secgroups.render_port(spec, "brqca57e0d3-44", 3))
    assert f"jump g-{GROUP}-in" in lines and f"jump g-{GROUP}-out" in lines
    assert f"add element inet andromede-sg egress {{ {tag:#x} : jump p-{PORT}-out }}" in lines
    assert 'zones { "brqca57e0d3-44" : 3 }' in lines
    assert lines.index("meta mark set 0") < lines.index("ct state invalid drop")
    base = secgroups.render_base()
    for chain, dispatch in (("from_ports", "egress"), ("to_ports", "ingress")):
        prefix = f"add rule inet andromede-sg {chain} "
        rules = [line.removeprefix(prefix) for line in base if line.startswith(prefix)]
        # Known flows are accepted (their tag cleared) before the dispatch to port chains.
        assert rules == [secgroups.ESTABLISHED, f"meta mark vmap @{dispatch}"]
    bridge = nft.render_port(spec, marks=(tag, tag | 0x80000000))
    assert f"add rule bridge andromede-ports p-{PORT} meta mark set {tag:#x}" in bridge
    assert 'to_ports { "tap8a0cf1ac-5f" : 0x8a0cf1ac }' in bridge


def test_model_matches_neutron_semantics() -> None:
    groups = {
        GROUP: SecurityGroupSpec(
            group_id=GROUP,
            rules=(
                rule("ingress", "tcp", 22, 22, remote_ip_prefix="10.0.0.0/8"),
                rule("ingress", remote_group_id=GROUP),
                rule("ingress", "icmp", 8, 0),
            ),
            members_v4=("192.168.0.7", "172.16.0.0/12"),
        )
    }

    def allowed(remote: str, protocol: int, **kw: int) -> bool:
        packet = secgroup_model.Packet("ingress", 4, protocol, ipaddress.ip_address(remote), **kw)
        return secgroup_model.port_allows((GROUP,), packet, groups)

    assert allowed("10.1.2.3", 6, dport=22)
    assert not allowed("10.1.2.3", 6, dport=23)
    assert allowed("192.168.0.7", 17, dport=53) and allowed("172.20.0.1", 6, dport=1)  # members: anything
    assert not allowed("192.168.0.8", 17, dport=53)
    assert allowed("8.8.8.8", 1, icmp_type=8, icmp_code=0) and not allowed("8.8.8.8", 1, icmp_type=0, icmp_code=0)
    assert allowed("8.8.8.8", 17, sport=67, dport=68)  # DHCP replies always pass
    assert not secgroup_model.port_allows(
        (), secgroup_model.Packet("egress", 4, 6, ipaddress.ip_address("1.1.1.1"), dport=80), groups
    )
