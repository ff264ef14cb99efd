"""The kernel lab itself: real namespaces, real iptables/nftables, real packets (see tests/netcheck/kernel.py)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.netcheck.kernel import (
    NS_PREFIX,
    KernelLab,
    LabError,
    Probe,
    Proto,
    ZoneSpec,
    cleanup_stale_namespaces,
    iptables_backend,
    require_kernel_lab,
    tool_path,
)

ZONES = {
    "mynumber": ZoneSpec("eth0", "10.10.0.0/16", "2001:db8:10::/48"),
    "lgwan": ZoneSpec("eth1", "10.20.0.0/16", "2001:db8:20::/48"),
    "internet": ZoneSpec("eth2", "10.30.0.0/16"),
    "external": ZoneSpec("eth3", "0.0.0.0/0", "::/0"),
}
# A host in every zone; the external zone is "the rest of the world".
HOST = {"mynumber": "10.10.1.10", "lgwan": "10.20.1.10", "internet": "10.30.1.10", "external": "192.0.2.10"}

ONLY_443_IPTABLES = """\
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -i eth0 -o eth1 -p tcp -m tcp --dport 443 -j ACCEPT
COMMIT
"""

ONLY_443_NFT = """\
table inet filter {
    chain forward {
        type filter hook forward priority filter; policy drop;
        iifname "eth0" oifname "eth1" tcp dport 443 accept
    }
}
"""

# The probes of the "only tcp/443 from eth0 to eth1" tests, with the verdict the kernel must give.
ONLY_443_CASES = [
    (Probe("mynumber", "10.10.1.10", "10.20.1.10", "tcp", 443), True),
    (Probe("mynumber", "10.10.200.3", "10.20.99.7", "tcp", 443), True),  # any address of the zones
    (Probe("mynumber", "10.10.1.10", "10.20.1.10", "tcp", 80), False),
    (Probe("mynumber", "10.10.1.10", "10.20.1.10", "udp", 443), False),
    (Probe("lgwan", "10.20.1.10", "10.10.1.10", "tcp", 443), False),  # the reverse direction
    (Probe("mynumber", "10.10.1.10", "10.30.1.10", "tcp", 443), False),  # right port, wrong zone
    (Probe("mynumber", "10.10.1.10", "198.51.100.10", "tcp", 443), False),
]


@pytest.fixture(scope="module")
def lab() -> Iterator[KernelLab]:
    require_kernel_lab()
    with KernelLab(ZONES) as running:
        yield running


def _verdicts(lab: KernelLab, cases: list[tuple[Probe, bool]]) -> None:
    results = lab.probe_many_detailed([probe for probe, _ in cases])
    wrong = [(r.probe, expected) for r, (_, expected) in zip(results, cases, strict=True) if r.through != expected]
    assert not wrong, f"kernel disagrees with the expected verdict (probe, expected): {wrong}"
    for result in results:  # every probe reached the firewall on its source zone's interface
        assert result.entered_firewall_on == ZONES[result.probe.src_zone].interface, result


def test_empty_ruleset_forwards_between_every_zone_pair(lab: KernelLab) -> None:
    lab.reset()
    probes = []
    for src_zone, src in HOST.items():
        for dst_zone, dst in {**HOST, "external": "198.51.100.10"}.items():
            if src_zone != dst_zone:
                probes += [Probe(src_zone, src, dst, "tcp", 443), Probe(src_zone, src, dst, "udp", 53)]
    results = lab.probe_many_detailed(probes)
    assert [r.through for r in results] == [True] * len(probes)
    for r in results:
        assert r.arrived_zone == r.expected_zone == lab.zone_of(r.probe.dst)
        assert r.entered_firewall_on == ZONES[r.probe.src_zone].interface
        assert r.observed is not None
        assert (r.observed.src, r.observed.dst, r.observed.sport, r.observed.dport) == (
            r.probe.src, r.probe.dst, r.sport, r.probe.dport)
        assert r.observed.ttl == 63  # sent with 64, decremented once: it was routed by the firewall


def test_iptables_forward_drop_with_one_accept(lab: KernelLab) -> None:
    lab.load_iptables(ONLY_443_IPTABLES)
    _verdicts(lab, ONLY_443_CASES)


def test_nftables_forward_drop_with_one_accept(lab: KernelLab) -> None:
    lab.load_nft(ONLY_443_NFT)
    _verdicts(lab, ONLY_443_CASES)


def test_nftables_json_ruleset(lab: KernelLab) -> None:
    lab.load_nft(ONLY_443_NFT)
    dumped = lab.fw_exec("nft", "-j", "list", "ruleset").stdout
    lab.load_nft("table inet other { chain forward { type filter hook forward priority 0; policy accept; }\n}")
    lab.load_nft_json(dumped)  # replaces the ruleset above (flush ruleset in the same transaction)
    assert "other" not in lab.fw_exec("nft", "list", "ruleset").stdout
    assert json.loads(dumped)["nftables"]
    _verdicts(lab, ONLY_443_CASES)


def test_loading_replaces_the_previous_ruleset(lab: KernelLab) -> None:
    lab.load_nft(ONLY_443_NFT)
    lab.load_iptables("*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n")  # the nft drop policy must be gone
    assert lab.probe("mynumber", "10.10.1.10", "10.20.1.10", "tcp", 80)
    lab.load_iptables(ONLY_443_IPTABLES)
    lab.load_nft("")  # and the iptables tables too
    assert lab.probe("mynumber", "10.10.1.10", "10.20.1.10", "tcp", 80)


def test_reject_and_drop_both_count_as_not_through(lab: KernelLab) -> None:
    lab.load_iptables("""\
*filter
:FORWARD ACCEPT [0:0]
-A FORWARD -p tcp --dport 443 -j REJECT --reject-with tcp-reset
-A FORWARD -p tcp --dport 80 -j DROP
-A FORWARD -p udp --dport 53 -j REJECT --reject-with icmp-port-unreachable
-A FORWARD -p udp --dport 123 -j DROP
COMMIT
""")
    started = time.monotonic()
    _verdicts(lab, [
        (Probe("mynumber", "10.10.1.10", "10.20.1.10", "tcp", 443), False),
        (Probe("mynumber", "10.10.1.10", "10.20.1.10", "tcp", 80), False),
        (Probe("mynumber", "10.10.1.10", "10.20.1.10", "udp", 53), False),
        (Probe("mynumber", "10.10.1.10", "10.20.1.10", "udp", 123), False),
        (Probe("mynumber", "10.10.1.10", "10.20.1.10", "tcp", 22), True),  # control: the lab forwards
        (Probe("mynumber", "10.10.1.10", "10.20.1.10", "udp", 514), True),
    ])
    assert time.monotonic() - started < 1.5  # blocked probes cost one settle period, not a timeout each


def test_spoofed_source_reaches_the_firewall_and_is_judged(lab: KernelLab) -> None:
    lab.load_iptables("""\
*filter
:FORWARD DROP [0:0]
-A FORWARD -s 10.20.0.0/16 -o eth2 -p tcp --dport 443 -j ACCEPT
-A FORWARD -i eth1 -s 10.20.0.0/16 -o eth2 -p udp --dport 53 -j ACCEPT
COMMIT
""")
    _verdicts(lab, [
        # lgwan's address, sent from the mynumber namespace: enters on eth0 and matches -s.
        (Probe("mynumber", "10.20.7.7", "10.30.1.10", "tcp", 443), True),
        (Probe("mynumber", "10.10.7.7", "10.30.1.10", "tcp", 443), False),  # its own address does not match -s
        (Probe("mynumber", "10.20.7.7", "10.30.1.10", "udp", 53), False),  # -i eth1 does not match a spoof on eth0
        (Probe("lgwan", "10.20.7.7", "10.30.1.10", "udp", 53), True),
        (Probe("external", "10.20.7.7", "10.30.1.10", "tcp", 443), True),  # spoofed from outside, too
    ])


def test_explicit_source_port(lab: KernelLab) -> None:
    lab.load_iptables("*filter\n:FORWARD DROP [0:0]\n-A FORWARD -p udp --sport 5353 --dport 53 -j ACCEPT\nCOMMIT\n")
    assert lab.probe("internet", "10.30.1.10", "10.20.1.10", "udp", 53, sport=5353)
    assert not lab.probe("internet", "10.30.1.10", "10.20.1.10", "udp", 53, sport=5354)
    assert not lab.probe("internet", "10.30.1.10", "10.20.1.10", "udp", 53)  # default: a fresh ephemeral port


def test_stateful_ruleset_without_reply_rule(lab: KernelLab) -> None:
    # Replies are never needed: only the SYN has to cross the firewall.
    lab.load_nft("""\
table ip filter {
    chain forward {
        type filter hook forward priority 0; policy drop;
        ct state invalid drop
        iifname "eth0" ct state new tcp flags & (syn | ack) == syn tcp dport 22 accept
    }
}
""")
    _verdicts(lab, [
        (Probe("mynumber", "10.10.1.10", "10.20.1.10", "tcp", 22), True),
        (Probe("lgwan", "10.20.1.10", "10.10.1.10", "tcp", 22), False),
    ])


def test_destination_nat_is_observed(lab: KernelLab) -> None:
    lab.load_nft("""\
table ip nat {
    chain prerouting {
        type nat hook prerouting priority dstnat; policy accept;
        ip daddr 10.30.5.5 tcp dport 8443 dnat to 10.20.5.5:443
    }
}
""")
    [result] = lab.probe_many_detailed([Probe("external", "203.0.113.9", "10.30.5.5", "tcp", 8443)])
    assert result.through
    assert (result.expected_zone, result.arrived_zone) == ("internet", "lgwan")
    assert result.observed is not None
    assert (result.observed.dst, result.observed.dport) == ("10.20.5.5", 443)


def test_ipv6_probes(lab: KernelLab) -> None:
    lab.load_nft("""\
table inet filter {
    chain forward {
        type filter hook forward priority 0; policy drop;
        iifname "eth0" oifname "eth1" meta nfproto ipv6 tcp dport 443 accept
        iifname "eth0" oifname "eth3" ip6 daddr 2001:db8:ffff::/48 udp dport 53 accept
    }
}
""")
    _verdicts(lab, [
        (Probe("mynumber", "2001:db8:10::10", "2001:db8:20::10", "tcp", 443), True),
        (Probe("mynumber", "10.10.1.10", "10.20.1.10", "tcp", 443), False),  # the rule is IPv6 only
        (Probe("mynumber", "2001:db8:10::10", "2001:db8:20::10", "tcp", 80), False),
        (Probe("mynumber", "2001:db8:10::10", "2001:db8:ffff::53", "udp", 53), True),
        (Probe("mynumber", "2001:db8:10::10", "2001:db8:eeee::53", "udp", 53), False),
        (Probe("external", "2001:db8:ffff::1", "2001:db8:10::10", "udp", 53), False),
    ])


def test_iptables_and_ip6tables_together(lab: KernelLab) -> None:
    lab.load_iptables("*filter\n:FORWARD DROP [0:0]\n-A FORWARD -p tcp --dport 25 -j ACCEPT\nCOMMIT\n")
    lab.load_ip6tables("*filter\n:FORWARD DROP [0:0]\n-A FORWARD -p tcp --dport 587 -j ACCEPT\nCOMMIT\n", flush=False)
    _verdicts(lab, [
        (Probe("lgwan", "10.20.1.10", "10.10.1.10", "tcp", 25), True),
        (Probe("lgwan", "10.20.1.10", "10.10.1.10", "tcp", 587), False),
        (Probe("lgwan", "2001:db8:20::10", "2001:db8:10::10", "tcp", 587), True),
        (Probe("lgwan", "2001:db8:20::10", "2001:db8:10::10", "tcp", 25), False),
    ])


def test_two_hundred_probes_quickly(lab: KernelLab) -> None:
    lab.load_nft("""\
table inet filter {
    chain forward {
        type filter hook forward priority 0; policy drop;
        tcp dport 1000-1049 accept
        udp dport 2000-2049 accept
        oifname "eth3" tcp dport 1050-1099 accept
    }
}
""")
    cases = []
    zones = list(HOST)
    for i in range(200):
        src_zone, dst_zone = zones[i % 4], zones[(i // 4 + 1 + i) % 4]
        if src_zone == dst_zone:
            dst_zone = zones[(zones.index(dst_zone) + 1) % 4]
        dst = "198.51.100.10" if dst_zone == "external" else HOST[dst_zone]
        proto: Proto = "tcp" if i % 2 == 0 else "udp"
        port = (1000 if proto == "tcp" else 2000) + i % 100
        expected = port < (1050 if proto == "tcp" else 2050) or (proto == "tcp" and dst_zone == "external")
        cases.append((Probe(src_zone, HOST[src_zone], dst, proto, port), expected))
    assert 50 < sum(expected for _, expected in cases) < 150
    started = time.monotonic()
    _verdicts(lab, cases)
    elapsed = time.monotonic() - started
    print(f"200 probes (mixed verdicts) in {elapsed:.3f}s")
    assert elapsed < 10


def test_errors_carry_the_tools_message(lab: KernelLab) -> None:
    with pytest.raises(LabError, match=r"iptables-restore.*(line|Bad|unknown|fail)"):
        lab.load_iptables("*filter\n-A FORWARD --no-such-option\nCOMMIT\n")
    with pytest.raises(LabError, match="syntax error"):
        lab.load_nft("table inet x { chain y { this is not nft } }")
    with pytest.raises(ValueError, match="unknown zone"):
        lab.probe("nowhere", "10.10.1.1", "10.20.1.1", "tcp", 1)
    with pytest.raises(ValueError, match="families"):
        lab.probe("mynumber", "10.10.1.1", "2001:db8:20::1", "tcp", 1)


def test_ensure_address_gives_the_zone_a_real_host(lab: KernelLab) -> None:
    lab.reset()
    lab.ensure_address("lgwan", "10.20.44.44")
    lab.ensure_address("external", "2001:db8:abcd::1")
    addresses = lab.zone_exec("lgwan", "ip", "addr").stdout
    assert "10.20.44.44/32" in addresses
    assert lab.probe("mynumber", "10.10.1.10", "10.20.44.44", "tcp", 22)
    assert lab.probe("mynumber", "2001:db8:10::1:10", "2001:db8:abcd::1", "udp", 22)


def test_addressing_and_routing(lab: KernelLab) -> None:
    assert lab.fw_address("lgwan") == "10.20.0.1"
    assert lab.fw_address("lgwan", 6) == "2001:db8:20::1"
    assert str(lab.fw_address("external")).startswith("169.254.")  # 0.0.0.0/0 has no sensible "first address"
    assert lab.zone_of("192.0.2.10") == "external"
    assert lab.zone_of("10.20.255.254") == "lgwan"
    routes = lab.fw_exec("ip", "route").stdout
    assert "default via" in routes and "dev eth3" in routes
    assert "10.20.0.0/16 via 10.20.0.2 dev eth1" in routes
    for key, value in [("ipv4/ip_forward", "1"), ("ipv4/conf/all/rp_filter", "0"), ("ipv4/conf/eth0/rp_filter", "0"),
                       ("ipv6/conf/all/forwarding", "1")]:
        assert lab.fw_exec("cat", f"/proc/sys/net/{key}").stdout.strip() == value, key
    assert lab.zone_exec("mynumber", "cat", "/proc/sys/net/ipv4/conf/uplink/rp_filter").stdout.strip() == "0"
    assert all(name.startswith(f"{NS_PREFIX}-") for name in lab.namespaces)
    assert iptables_backend() in ("nf_tables", "legacy")


def _namespaces() -> set[str]:
    out = subprocess.run([tool_path("ip"), "netns", "list"], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def test_namespaces_are_deleted_even_when_the_test_fails() -> None:
    require_kernel_lab()
    zones = {"a": ZoneSpec("lan", "192.168.1.0/24"), "b": ZoneSpec("wan", "0.0.0.0/0")}
    with pytest.raises(RuntimeError, match="boom"), KernelLab(zones) as lab:
        created = set(lab.namespaces)
        agents = [agent.proc for agent in lab._agents()]
        assert created <= _namespaces()
        assert lab.probe("a", "192.168.1.5", "8.8.8.8", "udp", 53)
        raise RuntimeError("boom")
    assert not created & _namespaces()
    assert all(proc.poll() is not None for proc in agents)


def test_stale_namespaces_of_dead_processes_are_cleaned_up() -> None:
    require_kernel_lab()
    ip = tool_path("ip")
    dead = subprocess.Popen(["true"])
    dead.wait()  # its pid is now free: a "crashed run"
    stale, ours = f"{NS_PREFIX}-{dead.pid}-1-fw", f"{NS_PREFIX}-{os.getpid()}-999-zz"
    for name in (stale, ours):
        subprocess.run([ip, "netns", "add", name], check=True)
    try:
        removed = cleanup_stale_namespaces()
        # (another xdist worker's first lab may have cleaned it up a moment earlier)
        assert stale in removed or stale not in _namespaces()
        assert stale not in _namespaces()
        assert ours in _namespaces()  # a live process's lab is left alone
    finally:
        for name in (stale, ours):
            subprocess.run([ip, "netns", "delete", name], capture_output=True)


def test_zone_spec_validation() -> None:
    with pytest.raises(ValueError, match="interface name"):
        ZoneSpec("an-interface-name-too-long", "10.0.0.0/8")
    with pytest.raises(ValueError, match="no subnets"):
        ZoneSpec("eth0")
    with pytest.raises(ValueError, match=r"has host bits"):
        ZoneSpec("eth0", "10.0.0.1/8")
    with pytest.raises(ValueError, match="both"):
        KernelLab({"a": ZoneSpec("eth0", "10.0.0.0/8"), "b": ZoneSpec("eth1", "10.0.0.0/8")})
    with pytest.raises(ValueError, match="two zones"):
        KernelLab({"a": ZoneSpec("eth0", "10.0.0.0/8"), "b": ZoneSpec("eth0", "11.0.0.0/8")})
    lab = KernelLab(ZONES)  # not started: pure bookkeeping
    assert lab.zone_of("10.10.3.4") == "mynumber"
    assert lab.zone_of("2001:db8:20::5") == "lgwan"
    assert lab.zone_of("2001:db8:99::5") == "external"
    with pytest.raises(LabError, match="not running"):
        lab.probe("mynumber", "10.10.1.1", "10.20.1.1", "tcp", 1)
