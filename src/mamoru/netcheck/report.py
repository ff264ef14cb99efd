"""Judge each firewall of an inventory against the zone policy: violations, warnings, unsupported traffic.

For every ordered pair of zones a policy rule restricts, the traffic the firewall forwards between them
is computed exactly (``analysis.outcomes``) minus what the policy allows (gateways on their ports,
registered exceptions); every rule or chain policy that still accepts some of it is a violation, with
one concrete packet as proof. The zones of a packet come from the interfaces it crosses where the
inventory maps them, else from its addresses. A packet whose source belongs to another zone than its
inbound interface's is spoofed: what the firewall lets through of those is an anti-spoofing warning.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mamoru.netcheck import analysis
from mamoru.netcheck.analysis import Space
from mamoru.netcheck.inventory import Firewall, Inventory, PolicyRule, Zone
from mamoru.netcheck.model import (
    ALL_PORTS,
    ALL_PROTOCOLS,
    IntervalSet,
    Origin,
    Packet,
    ParseError,
    Rule,
    Ruleset,
    Verdict,
)
from mamoru.netcheck.parsers import parse_ruleset

PROTOCOL_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6", 132: "sctp"}


@dataclass(frozen=True)
class Finding:
    """A violation, a warning or an unsupported stretch of traffic, with the rule behind it."""

    kind: str  # violation | spoofing | shadowed | redundant | unsupported
    firewall: str
    from_zone: str | None
    to_zone: str | None
    rule: Origin | None
    example: Packet | None
    clause: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "firewall": self.firewall, "from_zone": self.from_zone, "to_zone": self.to_zone,
            "rule": origin_dict(self.rule), "example": packet_dict(self.example), "clause": self.clause,
            "message": self.message,
        }


@dataclass
class Report:
    inventory: str
    violations: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    unsupported: list[Finding] = field(default_factory=list)
    allowed: list[dict[str, Any]] = field(default_factory=list)  # per firewall and zone pair: accepting rules

    @property
    def compliant(self) -> bool:
        return not self.violations

    def as_dict(self) -> dict[str, Any]:
        return {
            "inventory": self.inventory, "compliant": self.compliant,
            "violations": [f.as_dict() for f in self.violations],
            "warnings": [f.as_dict() for f in self.warnings],
            "unsupported": [f.as_dict() for f in self.unsupported],
            "allowed": self.allowed,
        }


def origin_dict(origin: Origin | None) -> dict[str, Any] | None:
    return None if origin is None else {"file": origin.file, "line": origin.line, "text": origin.text}


def packet_dict(packet: Packet | None) -> dict[str, Any] | None:
    if packet is None:
        return None
    return {"src": str(packet.src), "dst": str(packet.dst), "proto": PROTOCOL_NAMES.get(packet.proto, packet.proto),
            "sport": packet.sport, "dport": packet.dport, "in": packet.in_iface, "out": packet.out_iface}


def load_ruleset(firewall: Firewall) -> Ruleset:
    """The firewall's ruleset file, parsed. Raises ParseError (unreadable file, or the parser's own)."""
    try:
        data = firewall.path.read_bytes()
    except OSError as exc:
        raise ParseError(str(firewall.path), 0, f"cannot read the ruleset of firewall {firewall.name}: "
                                                f"{exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp932")
        except UnicodeDecodeError as exc:
            raise ParseError(str(firewall.path), 0, "the ruleset is neither UTF-8 nor CP932 text") from exc
    return parse_ruleset(text, format=firewall.format, source=str(firewall.path))


def _services_spaces(base: Space, *, src: IntervalSet | None = None, dst: IntervalSet | None = None,
                     services: Sequence[Any] = ()) -> list[Space]:
    out = []
    for service in services:
        space = Space(base.in_iface, base.out_iface,
                      base.src.intersection(src) if src is not None else base.src,
                      base.dst.intersection(dst) if dst is not None else base.dst,
                      base.proto.intersection(service.proto), base.sport, base.dport.intersection(service.ports))
        if space.src and space.dst and space.proto and space.dport:
            out.append(space)
    return out


def allowed_spaces(inventory: Inventory, rule: PolicyRule, a: Zone, b: Zone, base: Space) -> list[Space]:
    """What the policy lets through between zones a → b inside ``base``: gateways on their ports and the
    registered exceptions from a."""
    if rule.allow == "any":
        return [base]
    spaces: list[Space] = []
    if rule.allow == "gateways":
        for gw in inventory.gateways:
            if rule.gateway_kinds and gw.kind not in rule.gateway_kinds:
                continue
            point = IntervalSet.point(gw.value)
            spaces += _services_spaces(base, src=point, services=gw.services)
            spaces += _services_spaces(base, dst=point, services=gw.services)
    for exc in inventory.exceptions:
        if exc.source == a.name:
            spaces += _services_spaces(base, dst=exc.destination_addresses, services=exc.services)
    return spaces


def _pairs(inventory: Inventory, firewall: Firewall) -> list[tuple[Zone, Zone, frozenset[str] | None,
                                                                   frozenset[str] | None]]:
    """(from zone, to zone, inbound interfaces, outbound interfaces) to judge on this firewall."""
    zones = inventory.zones
    if firewall.interfaces:
        return [(zones[zi], zones[zo], frozenset({i}), frozenset({o}))
                for i, zi in firewall.interfaces.items() for o, zo in firewall.interfaces.items() if i != o]
    return [(a, b, None, None) for a in zones.values() for b in zones.values() if a is not b]


def verify_firewall(inventory: Inventory, firewall: Firewall, report: Report) -> None:
    ruleset = load_ruleset(firewall)
    interfaces = list(firewall.interfaces)
    prepared = analysis.prepare(ruleset, interfaces)  # one universe pass shared by every query below
    for item in ruleset.unsupported:
        report.unsupported.append(Finding("unsupported", firewall.name, None, None, item.origin, None, "",
                                          item.reason))
    for a, b, ins, outs in _pairs(inventory, firewall):
        if not a.addresses or not b.addresses:
            continue
        rule = inventory.rule_for(a, b)
        base = Space(ins, outs, a.addresses, b.addresses, ALL_PROTOCOLS, ALL_PORTS, ALL_PORTS)
        accepting: list[str] = []
        for outcome in analysis.outcomes(ruleset, base, interfaces=interfaces, prepared=prepared):
            if outcome.verdict == Verdict.ACCEPT:
                accepting.append(_origin_text(outcome.rule, ruleset, outcome.chain))
        if accepting:
            report.allowed.append({"firewall": firewall.name, "from_zone": a.name, "to_zone": b.name,
                                   "rules": accepting})
        if rule is not None and rule.allow != "any":
            exclude = allowed_spaces(inventory, rule, a, b, base)
            for outcome in analysis.outcomes(ruleset, base, exclude=exclude, interfaces=interfaces,
                                                 prepared=prepared):
                origin = _origin(outcome.rule, ruleset, outcome.chain)
                if outcome.verdict == Verdict.ACCEPT:
                    report.violations.append(Finding(
                        "violation", firewall.name, a.name, b.name, origin, outcome.example, rule.clause,
                        f"{a.name} → {b.name}: the policy allows "
                        f"{_allowance(rule)}, and this rule lets other traffic through"))
                elif outcome.verdict == Verdict.UNKNOWN:
                    report.unsupported.append(Finding(
                        "unsupported", firewall.name, a.name, b.name, origin, outcome.example, rule.clause,
                        f"{a.name} → {b.name}: the verdict is unknown ({'; '.join(outcome.unknown)})"))
        if ins is not None:  # spoofed sources arriving on a's interface
            spoofed = ruleset.addresses.difference(a.addresses)
            if spoofed:
                space = Space(ins, outs, spoofed, b.addresses, ALL_PROTOCOLS, ALL_PORTS, ALL_PORTS)
                for outcome in analysis.outcomes(ruleset, space, interfaces=interfaces, prepared=prepared):
                    if outcome.verdict == Verdict.ACCEPT:
                        report.warnings.append(Finding(
                            "spoofing", firewall.name, a.name, b.name, _origin(outcome.rule, ruleset, outcome.chain),
                            outcome.example, "6(3)",
                            f"packets arriving from {a.name} with a source address of another zone pass"))
    for shadowed, cover in analysis.shadowed_rules(ruleset, interfaces=interfaces, prepared=prepared):
        by = f" (by line {cover.origin.line})" if cover is not None else ""
        report.warnings.append(Finding("shadowed", firewall.name, None, None, shadowed.origin, None, "",
                                       f"this rule never decides a new packet: earlier rules cover it{by}"))
    for redundant, later in analysis.redundant_rules(ruleset, interfaces=interfaces, prepared=prepared):
        report.warnings.append(Finding("redundant", firewall.name, None, None, redundant.origin, None, "",
                                       f"removing this rule changes nothing: line {later.origin.line} "
                                       f"decides the same"))


def _allowance(rule: PolicyRule) -> str:
    if rule.allow == "none":
        return "no traffic (registered exceptions only)"
    kinds = ", ".join(rule.gateway_kinds) if rule.gateway_kinds else "any kind"
    return f"only traffic to or from registered gateways ({kinds}) on their ports"


def _origin(rule: Rule | None, ruleset: Ruleset, chain: str) -> Origin:
    if rule is not None:
        return rule.origin
    found = ruleset.chains.get(chain)
    if found is not None and found.policy_origin is not None:
        return found.policy_origin
    return Origin(ruleset.source, 0, f"policy of chain {chain}")


def _origin_text(rule: Rule | None, ruleset: Ruleset, chain: str) -> str:
    origin = _origin(rule, ruleset, chain)
    return f"{origin.line}: {origin.text}"


def verify(inventory: Inventory, *, firewalls: Sequence[str] = ()) -> Report:
    """Judge the firewalls (all, or those named). Raises ParseError for an unreadable ruleset."""
    report = Report(inventory=inventory.source)
    for firewall in inventory.firewalls:
        if not firewalls or firewall.name in firewalls:
            verify_firewall(inventory, firewall, report)
    return report


def packet_verdict(inventory: Inventory, firewall_name: str, *, in_iface: str | None, out_iface: str | None,
                   src: str, dst: str, proto: int, sport: int = 0, dport: int = 0,
                   rulesets: dict[str, Ruleset] | None = None) -> dict[str, Any]:
    """What the firewall does with one new packet on its forwarding path ("will this flow pass?")."""
    firewall = inventory.firewall(firewall_name)
    cache = rulesets if rulesets is not None else {}
    if firewall.name not in cache:
        cache[firewall.name] = load_ruleset(firewall)
    ruleset = cache[firewall.name]
    packet = Packet(ipaddress.ip_address(src), ipaddress.ip_address(dst), proto, sport, dport, in_iface, out_iface)
    decision = analysis.evaluate(ruleset, packet)
    origin = _origin(decision.rule, ruleset, decision.chain)
    from_zone = inventory.zones[firewall.interfaces[in_iface]] if in_iface in firewall.interfaces else \
        inventory.zone_of(packet.src)
    to_zone = inventory.zones[firewall.interfaces[out_iface]] if out_iface in firewall.interfaces else \
        inventory.zone_of(packet.dst)
    return {
        "firewall": firewall.name, "packet": packet_dict(packet), "verdict": str(decision.verdict),
        "rule": origin_dict(origin), "by_policy": decision.rule is None, "chain": decision.chain,
        "unknown": list(decision.unknown),
        "from_zone": from_zone.name if from_zone else None, "to_zone": to_zone.name if to_zone else None,
    }


__all__ = ["Finding", "Report", "packet_verdict", "verify"]
