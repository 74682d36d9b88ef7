"""The Linux driver's pure parts: names, the nftables ruleset, dnsmasq files and spec validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from andromede.network.agent.drivers.base import (
    AddressPair,
    DhcpHost,
    DhcpSpec,
    DhcpSubnet,
    NetworkSpec,
    PortSpec,
)
from andromede.network.agent.drivers.linux import dnsmasq, names, nft

NET = "ca57e0d3-44f0-45f3-bde4-5ad47a451a8f"
PORT = "8a0cf1ac-5fea-49d1-a351-fe32b90dbd48"
SUBNET = "11111111-2222-3333-4444-555555555555"


def test_names_fit_ifnamsiz_and_follow_neutron() -> None:
    assert names.tap_name(PORT) == "tap8a0cf1ac-5f"
    assert names.bridge_name(NET) == "brqca57e0d3-44"
    assert names.vxlan_name(16_777_215) == "vxlan-16777215"
    assert names.dhcp_inner_name(PORT) == "ns-8a0cf1ac-5f"
    assert all(len(n) <= 15 for n in (names.tap_name(PORT), names.bridge_name(NET), names.vxlan_name(16_777_215)))


def test_aliases_round_trip() -> None:
    assert names.parse_port_alias(names.port_alias(PORT, NET)) == (PORT, NET)
    assert names.parse_network_alias(names.network_alias(NET)) == NET
    assert names.parse_port_alias("something else") is None
    assert names.port_of_table(names.port_table(PORT)) == PORT


def test_link_local_is_eui64() -> None:
    assert nft.link_local("fa:16:3e:00:00:31") == "fe80::f816:3eff:fe00:31"


def test_port_ruleset_allows_own_addresses_and_pairs_only() -> None:
    spec = PortSpec(
        port_id=PORT,
        network_id=NET,
        mac="fa:16:3e:00:00:31",
        fixed_ips=("10.0.0.5", "2001:db8::5"),
        allowed_address_pairs=(AddressPair(cidr="10.0.1.0/24", mac="fa:16:3e:00:00:99"),),
    )
    text = nft.render_port(spec, marks=(0x11, 0x80000011))

    # Any table an older agent made for the port goes in the same transaction.
    assert text.startswith(f"table bridge andromede-port-{PORT} {{}}\ndelete table bridge andromede-port-{PORT}\n")
    assert f"add element bridge andromede-ports p-{PORT}-macs {{ fa:16:3e:00:00:31, fa:16:3e:00:00:99 }}" in text
    assert "fa:16:3e:00:00:31 . 10.0.0.5/32, fa:16:3e:00:00:99 . 10.0.1.0/24" in text
    assert "fa:16:3e:00:00:31 . 2001:db8::5/128" in text
    assert "fa:16:3e:00:00:99 . fe80::f816:3eff:fe00:99/128" in text
    assert f'add element bridge andromede-ports from_ports {{ "tap8a0cf1ac-5f" : jump p-{PORT} }}' in text
    # The fast path reads exact pairs from a plain hash set; the CIDR pair is left to the interval set.
    assert f"add element bridge andromede-ports p-{PORT}-v4host {{ fa:16:3e:00:00:31 . 10.0.0.5 }}" in text
    assert f"ether saddr . ip saddr @p-{PORT}-v4host meta l4proto != udp accept" in text
    for rule in ("udp sport 67 drop", "nd-router-advert drop", f"arp saddr ether . arp saddr ip != @p-{PORT}-v4 drop"):
        assert rule in text


def test_port_without_addresses_renders_empty_sets() -> None:
    text = nft.render_port(PortSpec(port_id=PORT, network_id=NET, mac="fa:16:3e:00:00:31"), marks=(1, 2))
    assert f"flush set bridge andromede-ports p-{PORT}-v4\n" in text
    assert f"add element bridge andromede-ports p-{PORT}-v4 " not in text


def test_port_deletion_keeps_other_ports_elements_on_a_name_clash() -> None:
    full, own = nft.render_delete(PORT, 0x8A0CF1AC), nft.render_delete(PORT, None)
    assert 'delete element bridge andromede-ports from_ports { "tap8a0cf1ac-5f" }' in full
    assert 'add element bridge andromede-ports to_ports { "tap8a0cf1ac-5f" : 0x8a0cf1ac }' in full
    assert "element" not in own and f"delete chain bridge andromede-ports p-{PORT}" in own
    assert nft.port_of_chain(nft.port_chain(PORT)) == PORT and nft.port_of_chain(f"p-{PORT}-v4") is None


def dhcp_spec(*hosts: DhcpHost, **subnet: object) -> DhcpSpec:
    sub = DhcpSubnet(subnet_id=SUBNET, cidr="10.0.0.0/24", server_address="10.0.0.2", **subnet)  # type: ignore[arg-type]
    return DhcpSpec(network_id=NET, port_id=PORT, mac="fa:16:3e:00:00:02", subnets=(sub,), hosts=hosts)


def test_dnsmasq_files_and_command() -> None:
    spec = dhcp_spec(
        DhcpHost(mac="fa:16:3e:00:00:05", ip="10.0.0.5", hostname="web-1"),
        gateway="10.0.0.1",
        dns_servers=("192.0.2.53",),
        host_routes=(("192.0.2.0/24", "10.0.0.254"),),
    )
    assert dnsmasq.render_hosts(spec) == "fa:16:3e:00:00:05,10.0.0.5,web-1\n"
    assert dnsmasq.render_options(spec).splitlines() == [
        "tag:subnet0,option:router,10.0.0.1",
        "tag:subnet0,option:dns-server,192.0.2.53",
        "tag:subnet0,option:classless-static-route,192.0.2.0/24,10.0.0.254,0.0.0.0/0,10.0.0.1",
    ]
    argv = dnsmasq.command(spec, dnsmasq.DhcpPaths(Path("/x")), "ns-8a0cf1ac-5f")
    assert "--dhcp-range=set:subnet0,10.0.0.0,static,255.255.255.0,86400s" in argv
    assert "--port=0" in argv and "--conf-file=/dev/null" in argv


def test_no_gateway_means_an_empty_router_option() -> None:
    assert dnsmasq.render_options(dhcp_spec()) == "tag:subnet0,option:router\n"


def test_parse_hosts_round_trips() -> None:
    spec = dhcp_spec(DhcpHost(mac="fa:16:3e:00:00:05", ip="10.0.0.5", hostname="a.b"))
    assert dnsmasq.parse_hosts(dnsmasq.render_hosts(spec)) == spec.hosts


@pytest.mark.parametrize(
    "hostname",
    ["a\nb", "a,b", "a b", "-a", "a-", "", "a" * 64, "A", "a..b", "a#b", "dhcp-range=x", "é"],
)
def test_hostnames_that_could_inject_dnsmasq_directives_are_refused(hostname: str) -> None:
    with pytest.raises(ValueError):
        DhcpHost(mac="fa:16:3e:00:00:05", ip="10.0.0.5", hostname=hostname)


@pytest.mark.parametrize(
    ("field", "value"),
    [("mac", "FA:16:3e:00:00:05"), ("mac", "01:16:3e:00:00:05"), ("mac", "fa:16:3e:00:00:05\n"), ("ip", "10.0.0.05")],
)
def test_bad_host_fields_are_refused(field: str, value: str) -> None:
    good = {"mac": "fa:16:3e:00:00:05", "ip": "10.0.0.5", "hostname": "h"}
    with pytest.raises(ValueError):
        DhcpHost(**{**good, field: value})


def test_dhcp_spec_checks_addresses_against_subnets() -> None:
    with pytest.raises(ValueError, match="none of the network's subnets"):
        dhcp_spec(DhcpHost(mac="fa:16:3e:00:00:05", ip="10.9.0.5", hostname="h"))
    with pytest.raises(ValueError, match="not inside"):
        dhcp_spec(gateway="10.1.0.1")
    with pytest.raises(ValueError, match="host bits"):
        DhcpSubnet(subnet_id=SUBNET, cidr="10.0.0.1/24", server_address="10.0.0.2")
    with pytest.raises(ValueError, match="duplicate"):
        host = DhcpHost(mac="fa:16:3e:00:00:05", ip="10.0.0.5", hostname="h")
        dhcp_spec(host, host)


@pytest.mark.parametrize(("vni", "mtu"), [(0, 1450), (2**24, 1450), (1, 100), (1, 65000)])
def test_network_spec_bounds(vni: int, mtu: int) -> None:
    with pytest.raises(ValueError):
        NetworkSpec(network_id=NET, vni=vni, mtu=mtu)


def test_ids_must_be_canonical_uuids() -> None:
    with pytest.raises(ValueError):
        PortSpec(port_id="../../etc", network_id=NET, mac="fa:16:3e:00:00:05")
    with pytest.raises(ValueError):
        NetworkSpec(network_id=NET.upper(), vni=1)


def test_unsafe_values_never_reach_dnsmasq_files_even_past_the_specs() -> None:
    with pytest.raises(Exception, match="refusing"):
        dnsmasq._safe("a,b\nc")


def test_gratuitous_arp_frame_announces_the_address_as_its_own() -> None:
    from andromede.network.agent.drivers.linux import garp

    frame = garp.frame("fa:16:3e:00:00:31", "172.24.4.10")
    assert len(frame) == 42 and frame[:6] == b"\xff" * 6 and frame[12:14] == b"\x08\x06"
    sender_mac, sender_ip, target_ip = frame[22:28], frame[28:32], frame[38:42]
    assert sender_mac == bytes.fromhex("fa163e000031") and sender_ip == target_ip == bytes([172, 24, 4, 10])
    assert frame[20:22] == b"\x00\x01"  # a request, which every neighbour processes


def test_bridge_mac_is_fixed_unicast_and_locally_administered() -> None:
    mac = names.bridge_mac(NET)
    first = int(mac[:2], 16)
    assert mac == names.bridge_mac(NET) != names.bridge_mac(PORT) and len(mac) == 17
    assert first & 0x01 == 0 and first & 0x02 == 0x02


def test_a_hosts_own_dhcp_options_are_tagged_written_and_read_back() -> None:
    own = DhcpHost(mac="fa:16:3e:00:00:07", ip="10.0.0.7", hostname="host-10-0-0-7",
                   options=(("mtu", "1400"), ("42", "10.0.0.9,10.0.0.10"), ("bootfile-name", "pxelinux.0")))
    plain = DhcpHost(mac="fa:16:3e:00:00:08", ip="10.0.0.8", hostname="host-10-0-0-8")
    spec = dhcp_spec(own, plain)
    hosts = dnsmasq.render_hosts(spec)
    assert hosts.splitlines() == ["fa:16:3e:00:00:07,set:host-fa163e000007,10.0.0.7,host-10-0-0-7",
                                  "fa:16:3e:00:00:08,10.0.0.8,host-10-0-0-8"]
    options = dnsmasq.render_options(spec)
    # Both tags: more specific than the subnet's own lines, so the port's MTU wins over the network's.
    assert "tag:host-fa163e000007,tag:subnet0,option:mtu,1400" in options.splitlines()
    assert "tag:host-fa163e000007,tag:subnet0,42,10.0.0.9,10.0.0.10" in options.splitlines()
    assert dnsmasq.parse_hosts(hosts, options) == (own, plain)


@pytest.mark.parametrize("name, value", [("mtu", "1400\ndhcp-script=/tmp/x"), ("mtu", "1 2"), ("mtu", "#x"),
                                         ("mtu\n", "1"), ("option:mtu", "1"), ("mtu", "")])
def test_dhcp_options_that_could_become_directives_are_refused(name: str, value: str) -> None:
    with pytest.raises(ValueError):
        DhcpHost(mac="fa:16:3e:00:00:07", ip="10.0.0.7", hostname="h", options=((name, value),))
