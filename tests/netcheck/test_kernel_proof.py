"""The analyser's answers, proven against the Linux kernel (issue 5, "Proof against reality").

Each demo firewall's ruleset is loaded into a real firewall namespace between four zone namespaces
(tests/netcheck/kernel.py). Every violation's example packet and every spoofing warning's example must
get through the kernel; and for a few hundred packets drawn at random across every interface pair
(allowed, denied and spoofed alike) the kernel must do exactly what ``analysis.evaluate`` predicts.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from mamoru.netcheck import analysis
from mamoru.netcheck.inventory import load_inventory
from mamoru.netcheck.model import Packet, Verdict, protocol_number
from mamoru.netcheck.report import load_ruleset, verify
from tests.netcheck.kernel import KernelLab, Probe, ZoneSpec, require_kernel_lab

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "mamoru" / "netcheck" / "examples"
ZONES = {"mynumber": ZoneSpec("eth0", "10.10.0.0/16"), "lgwan": ZoneSpec("eth1", "10.20.0.0/16"),
         "internet": ZoneSpec("eth2", "10.30.0.0/16"), "external": ZoneSpec("eth3", "0.0.0.0/0")}
IFACE_ZONE = {spec.interface: name for name, spec in ZONES.items()}
# Addresses a zone's hosts may have (the external zone: documentation and public ranges).
HOSTS = {"mynumber": ["10.10.{}.{}"], "lgwan": ["10.20.{}.{}"], "internet": ["10.30.{}.{}", "10.30.0.25",
                                                                            "10.30.0.40"],
         "external": ["192.0.2.{1}", "198.51.100.{1}", "198.51.100.10", "203.0.113.{1}"]}
PORTS = [22, 25, 53, 80, 443, 3389, 8080, 1024, 65535]


@pytest.fixture(scope="module")
def lab() -> Iterator[KernelLab]:
    require_kernel_lab()
    with KernelLab(ZONES) as kernel_lab:
        yield kernel_lab


def host(rng: random.Random, zone: str) -> str:
    return rng.choice(HOSTS[zone]).format(rng.randrange(0, 256), rng.randrange(2, 255))


def random_packets(rng: random.Random, count: int) -> Iterator[tuple[str, Packet]]:
    """(sending zone, packet): every interface pair, sources mostly of the sending zone, some spoofed."""
    names = list(ZONES)
    for _ in range(count):
        a, b = rng.sample(names, 2)
        source_zone = a if rng.random() < 0.8 else rng.choice([n for n in names if n != a])
        proto = rng.choice(["tcp", "tcp", "udp"])
        yield a, Packet(ipaddress.ip_address(host(rng, source_zone)), ipaddress.ip_address(host(rng, b)),
                        protocol_number(proto), rng.randrange(1024, 65536), rng.choice(PORTS),
                        ZONES[a].interface, ZONES[b].interface)


def probe(zone: str, packet: Packet) -> Probe:
    proto = "tcp" if packet.proto == 6 else "udp"
    return Probe(zone, str(packet.src), str(packet.dst), proto, packet.dport, packet.sport)  # type: ignore[arg-type]


def load(lab: KernelLab, firewall: str) -> None:
    path = EXAMPLES / ("fw-core.rules" if firewall == "fw-core" else "fw-branch.json")
    text = path.read_text(encoding="utf-8")
    lab.load_iptables(text) if firewall == "fw-core" else lab.load_nft_json(text)


@pytest.mark.parametrize("firewall", ["fw-core", "fw-branch"])
def test_kernel_agrees_with_the_analyser_on_random_packets(lab: KernelLab, firewall: str) -> None:
    load(lab, firewall)
    inventory = load_inventory(EXAMPLES / "inventory.yaml")
    ruleset = load_ruleset(inventory.firewall(firewall))
    rng = random.Random(f"kernel-{firewall}")
    cases = list(random_packets(rng, 400))
    predicted = [analysis.evaluate(ruleset, packet) for _zone, packet in cases]
    assert not [d for d in predicted if d.verdict == Verdict.UNKNOWN]
    through = lab.probe_many([probe(zone, packet) for zone, packet in cases])
    disagreements = [(packet, decision.verdict, decision.rule.origin if decision.rule else decision.chain)
                     for (_zone, packet), decision, kernel in zip(cases, predicted, through, strict=True)
                     if (decision.verdict == Verdict.ACCEPT) != kernel]
    assert disagreements == []
    accepted = sum(d.verdict == Verdict.ACCEPT for d in predicted)
    assert 0 < accepted < len(cases)  # the sample holds both verdicts


def test_every_violation_and_spoofing_example_gets_through_the_kernel(lab: KernelLab) -> None:
    inventory = load_inventory(EXAMPLES / "inventory.yaml")
    report = verify(inventory)
    for firewall in ("fw-core", "fw-branch"):
        load(lab, firewall)
        findings = [f for f in report.violations + report.warnings
                    if f.firewall == firewall and f.example is not None]
        assert findings or firewall == "fw-core"
        for finding in findings:
            assert finding.example is not None and finding.example.in_iface is not None
        results = lab.probe_many([probe(IFACE_ZONE[f.example.in_iface], f.example)  # type: ignore[union-attr]
                                  for f in findings])
        assert results == [True] * len(findings), [f.as_dict() for f, ok in zip(findings, results, strict=True)
                                                    if not ok]
    assert {f.kind for f in report.violations} == {"violation"} and len(report.violations) == 3


def test_traffic_the_analyser_calls_denied_does_not_get_through(lab: KernelLab) -> None:
    """For each restricted zone pair of the compliant firewall, packets outside the policy's allowance."""
    load(lab, "fw-core")
    inventory = load_inventory(EXAMPLES / "inventory.yaml")
    ruleset = load_ruleset(inventory.firewall("fw-core"))
    samples = [("lgwan", "10.20.1.9", "10.30.0.26", "tcp", 25), ("lgwan", "10.20.1.9", "10.30.0.25", "tcp", 80),
               ("lgwan", "10.20.1.9", "10.30.0.25", "udp", 25), ("mynumber", "10.10.1.9", "10.20.1.9", "tcp", 443),
               ("mynumber", "10.10.1.9", "192.0.2.9", "udp", 443), ("internet", "10.30.2.2", "192.0.2.9", "tcp", 443),
               ("external", "192.0.2.9", "10.30.0.25", "tcp", 443), ("external", "10.20.1.9", "10.30.0.25", "tcp", 25),
               ("lgwan", "10.20.1.9", "10.10.1.9", "tcp", 22)]
    for zone, src, dst, proto, dport in samples:
        packet = Packet(ipaddress.ip_address(src), ipaddress.ip_address(dst), protocol_number(proto), 40000, dport,
                        ZONES[zone].interface, ZONES[inventory.zone_of(ipaddress.ip_address(dst)).name].interface)
        assert analysis.evaluate(ruleset, packet).verdict == Verdict.DROP, packet
    assert lab.probe_many([Probe(z, s, d, p, port, 40000) for z, s, d, p, port in samples]) == [False] * len(samples)
