"""Deterministic generation of a large, realistic iptables ruleset for benchmarks and tests.

The firewall joins five zones, one interface each. ``FORWARD`` accepts established traffic first, drops a few
broad things, then jumps per (inbound, outbound) interface pair into a user chain ``fw-<in>-<out>`` holding host-
and subnet-specific accept/drop/reject rules with ports (some duplicated, as real rulesets have); its policy is
DROP. :func:`generate_iptables` renders ``iptables-save`` text, :func:`generate_ruleset` builds the same rules
directly as model objects (with the same line numbers), for tests that must not depend on the parser.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass

from mamoru.netcheck.model import (
    IPV4_ADDRESSES,
    Action,
    ActionKind,
    Chain,
    InterfaceMatch,
    IntervalSet,
    Match,
    Origin,
    Rule,
    Ruleset,
    Verdict,
    parse_network,
    protocol_number,
)


@dataclass(frozen=True)
class Zone:
    name: str
    interface: str
    network: str  # CIDR


ZONES: tuple[Zone, ...] = (
    Zone("mynumber", "eth1", "10.10.0.0/16"),
    Zone("lgwan", "eth2", "10.20.0.0/16"),
    Zone("internet", "eth3", "10.30.0.0/16"),
    Zone("dmz", "eth4", "172.16.0.0/16"),
    Zone("mgmt", "eth5", "192.168.0.0/16"),
)
INTERFACES: tuple[str, ...] = tuple(z.interface for z in ZONES)

_PORTS: dict[str, tuple[int, ...]] = {"tcp": (22, 25, 80, 110, 143, 389, 443, 445, 636, 1433, 3306, 3389, 5432, 8080,
                                              8443),
                                      "udp": (53, 67, 123, 161, 514, 1812)}


@dataclass(frozen=True)
class Gateway:
    """An allowed flow of the zone policy: a gateway host of one zone to a host (or subnet) of another."""

    src: str  # CIDR
    dst: str
    proto: str
    dport: int


@dataclass(frozen=True)
class _Spec:
    chain: str
    src: str | None = None
    dst: str | None = None
    proto: str | None = None
    dport: tuple[int, int] | None = None  # a range
    dports: tuple[int, ...] | None = None  # multiport
    in_iface: str | None = None
    out_iface: str | None = None
    ctstate: str | None = None
    target: str = "ACCEPT"
    extra: str = ""  # text after the target (e.g. --reject-with ...)

    def text(self) -> str:
        parts = [f"-A {self.chain}"]
        if self.src:
            parts.append(f"-s {self.src}")
        if self.dst:
            parts.append(f"-d {self.dst}")
        if self.in_iface:
            parts.append(f"-i {self.in_iface}")
        if self.out_iface:
            parts.append(f"-o {self.out_iface}")
        if self.proto:
            parts.append(f"-p {self.proto}")
        if self.dport is not None:
            lo, hi = self.dport
            parts.append(f"-m {self.proto} --dport {lo}" if lo == hi else f"-m {self.proto} --dport {lo}:{hi}")
        if self.dports is not None:
            parts.append("-m multiport --dports " + ",".join(str(p) for p in self.dports))
        if self.ctstate:
            parts.append(f"-m conntrack --ctstate {self.ctstate}")
        parts.append(f"-j {self.target}")
        if self.extra:
            parts.append(self.extra)
        return " ".join(parts)

    def rule(self, source: str, line: int) -> Rule:
        dport: IntervalSet | None = None
        if self.dport is not None:
            dport = IntervalSet.span(*self.dport)
        elif self.dports is not None:
            dport = IntervalSet((p, p) for p in self.dports)
        match = Match(
            src=parse_network(self.src) if self.src else None, dst=parse_network(self.dst) if self.dst else None,
            proto=IntervalSet.point(protocol_number(self.proto)) if self.proto else None, dport=dport,
            in_iface=InterfaceMatch((self.in_iface,)) if self.in_iface else None,
            out_iface=InterfaceMatch((self.out_iface,)) if self.out_iface else None,
            matches_new=self.ctstate is None or "NEW" in self.ctstate.split(","))
        kinds = {"ACCEPT": ActionKind.ACCEPT, "DROP": ActionKind.DROP, "REJECT": ActionKind.REJECT,
                 "RETURN": ActionKind.RETURN, "LOG": ActionKind.CONTINUE}
        action = Action(kinds[self.target]) if self.target in kinds else Action(ActionKind.JUMP, self.target)
        return Rule(match, action, Origin(source, line, self.text()))


def pair_chain(a: Zone, b: Zone) -> str:
    return f"fw-{a.interface}-{b.interface}"


def _host(rng: random.Random, zone: Zone, pool: int) -> str:
    net = ipaddress.IPv4Network(zone.network)
    index = rng.randrange(pool)
    return f"{net.network_address + (index // 200) * 256 + 2 + index % 200}/32"


def _subnet(rng: random.Random, zone: Zone) -> str:
    net = ipaddress.IPv4Network(zone.network)
    return f"{net.network_address + rng.randrange(8) * 256}/24"


def _specs(rules: int, seed: int) -> list[_Spec]:
    rng = random.Random(seed)  # noqa: S311 (benchmark data, not secrets)
    forward = [
        _Spec("FORWARD", ctstate="RELATED,ESTABLISHED"),
        _Spec("FORWARD", ctstate="INVALID", target="DROP"),
        _Spec("FORWARD", src=ZONES[2].network, dst=ZONES[0].network, target="DROP"),
        _Spec("FORWARD", proto="tcp", dport=(23, 23), target="DROP"),
        _Spec("FORWARD", proto="udp", dport=(137, 139), target="DROP"),
        _Spec("FORWARD", proto="tcp", dport=(135, 139), target="REJECT", extra="--reject-with tcp-reset"),
    ]
    pairs = [(a, b) for a in ZONES for b in ZONES if a is not b]
    forward += [_Spec("FORWARD", in_iface=a.interface, out_iface=b.interface, target=pair_chain(a, b))
                for a, b in pairs]
    forward.append(_Spec("FORWARD", target="LOG", extra='--log-prefix "FORWARD drop: "'))
    budget = max(rules - len(forward), 0)
    specs: list[_Spec] = []
    for number, (a, b) in enumerate(pairs):
        count = budget // len(pairs) + (1 if number < budget % len(pairs) else 0)
        chain = pair_chain(a, b)
        body: list[_Spec] = []
        tail = ([_Spec(chain, target="LOG", extra=f'--log-prefix "{chain}: "'), _Spec(chain, target="DROP")]
                if number % 2 else [_Spec(chain, target="RETURN")])
        for _ in range(max(count - len(tail), 0)):
            r = rng.random()
            proto = "tcp" if rng.random() < 0.8 else "udp"
            port = rng.choice(_PORTS[proto])
            if r < 0.60:
                body.append(_Spec(chain, _host(rng, a, 2000), _host(rng, b, 400), proto, (port, port)))
            elif r < 0.70:
                body.append(_Spec(chain, _subnet(rng, a), _host(rng, b, 400), proto, (port, port)))
            elif r < 0.75:
                ports = tuple(sorted(rng.sample(_PORTS[proto], 3)))
                body.append(_Spec(chain, _host(rng, a, 2000), _host(rng, b, 400), proto, dports=ports))
            elif r < 0.80:
                lo = rng.choice((8000, 9000, 10000))
                body.append(_Spec(chain, _host(rng, a, 2000), _subnet(rng, b), proto, (lo, lo + 99)))
            elif r < 0.88:
                body.append(_Spec(chain, _host(rng, a, 2000), _host(rng, b, 400), target="DROP"))
            elif r < 0.93:
                body.append(_Spec(chain, _host(rng, a, 2000), _host(rng, b, 400), "tcp", (port, port),
                                  target="REJECT", extra="--reject-with icmp-port-unreachable"))
            elif r < 0.935:
                odd = rng.choice((6667, 31337, 4444, 12345))
                body.append(_Spec(chain, None, b.network, "tcp", (odd, odd), target="DROP"))
            elif body and r < 0.97:
                body.append(rng.choice(body))  # a duplicate: shadowed
            else:
                body.append(_Spec(chain, _host(rng, a, 2000), _host(rng, b, 400), proto, (port, port)))
        specs += body + tail
    return forward + specs


def _header(specs: list[_Spec]) -> list[str]:
    chains = sorted({s.chain for s in specs} - {"FORWARD"})
    return (["# Generated by mamoru.netcheck.generate", "*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]",
             ":OUTPUT ACCEPT [0:0]"] + [f":{c} - [0:0]" for c in chains])


def generate_iptables(rules: int, *, seed: int = 1) -> str:
    """``iptables-save`` text with about ``rules`` rules (at least the ~27 of FORWARD) over :data:`ZONES`."""
    specs = _specs(rules, seed)
    return "\n".join([*_header(specs), *(s.text() for s in specs), "COMMIT", "# Completed"]) + "\n"


def generate_ruleset(rules: int, *, seed: int = 1, source: str = "generated.rules") -> Ruleset:
    """The ruleset :func:`generate_iptables` renders, built directly (origins carry the same lines)."""
    specs = _specs(rules, seed)
    header = _header(specs)
    chains: dict[str, Chain] = {"INPUT": Chain("INPUT", policy=Verdict.ACCEPT, hook="input"),
                                "FORWARD": Chain("FORWARD", policy=Verdict.DROP, hook="forward"),
                                "OUTPUT": Chain("OUTPUT", policy=Verdict.ACCEPT, hook="output")}
    for line in header[5:]:
        name = line[1:].split(" ", 1)[0]
        chains[name] = Chain(name)
    for number, spec in enumerate(specs, start=len(header) + 1):
        chains[spec.chain].rules.append(spec.rule(source, number))
    return Ruleset(source, "iptables", chains, ["FORWARD"], IPV4_ADDRESSES)


def gateways(a: Zone, b: Zone, *, count: int = 5, seed: int = 1) -> list[Gateway]:
    """``count`` allowed flows from zone ``a`` to zone ``b`` (deterministic): the exclude list of a zone query."""
    rng = random.Random(f"{seed}:{a.name}:{b.name}")  # noqa: S311
    out: list[Gateway] = []
    for _ in range(count):
        proto = "tcp" if rng.random() < 0.8 else "udp"
        dst = _host(rng, b, 400) if rng.random() < 0.7 else _subnet(rng, b)
        out.append(Gateway(_host(rng, a, 2000), dst, proto, rng.choice(_PORTS[proto])))
    return out
