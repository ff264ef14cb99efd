"""The shared vocabulary of the netcheck engine.

Every parser produces a :class:`Ruleset`; the analysis consumes nothing else. Packet space has
seven dimensions: inbound interface, outbound interface, source address, destination address,
IP protocol, source port and destination port. Addresses live in one 128-bit space: IPv4
addresses are mapped into ``::ffff:0:0/96`` (RFC 4291 §2.5.5.2), so one ruleset can hold IPv4
and IPv6 rules and a longest-prefix zone lookup works across both families.

Only *new* packets (the first packet of a flow) are analysed: a rule that matches only
ESTABLISHED/RELATED traffic answers replies and never decides a new flow
(:attr:`Match.matches_new` is then False).
"""

from __future__ import annotations

import enum
import ipaddress
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

ADDRESS_MAX = (1 << 128) - 1
V4_BASE = 0xFFFF << 32  # ::ffff:0.0.0.0
V4_MAX = V4_BASE + (1 << 32) - 1
PROTO_MAX = 255
PORT_MAX = 65535

PROTOCOLS: dict[str, int] = {"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ah": 51,
                             "icmpv6": 58, "ipv6-icmp": 58, "sctp": 132, "udplite": 136}


class IntervalSet:
    """An immutable set of integers stored as sorted, disjoint, non-adjacent inclusive intervals."""

    __slots__ = ("_hash", "intervals")

    def __init__(self, intervals: Iterable[tuple[int, int]] = ()) -> None:
        merged: list[tuple[int, int]] = []
        for lo, hi in sorted(intervals):
            if lo > hi:
                continue
            if merged and lo <= merged[-1][1] + 1:
                if hi > merged[-1][1]:
                    merged[-1] = (merged[-1][0], hi)
            else:
                merged.append((lo, hi))
        self.intervals: tuple[tuple[int, int], ...] = tuple(merged)
        self._hash: int | None = None

    @classmethod
    def span(cls, lo: int, hi: int) -> IntervalSet:
        return cls(((lo, hi),))

    @classmethod
    def point(cls, value: int) -> IntervalSet:
        return cls(((value, value),))

    def __bool__(self) -> bool:
        return bool(self.intervals)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IntervalSet) and self.intervals == other.intervals

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(self.intervals)
        return self._hash

    def __repr__(self) -> str:
        return f"IntervalSet({list(self.intervals)!r})"

    def __contains__(self, value: int) -> bool:
        index = bisect_right(self.intervals, (value, PORT_MAX_SENTINEL)) - 1
        return index >= 0 and self.intervals[index][0] <= value <= self.intervals[index][1]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(self.intervals)

    @property
    def first(self) -> int:
        return self.intervals[0][0]

    @property
    def lo(self) -> int:
        return self.intervals[0][0]

    @property
    def hi(self) -> int:
        return self.intervals[-1][1]

    def size(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self.intervals)

    def union(self, other: IntervalSet) -> IntervalSet:
        return IntervalSet(self.intervals + other.intervals)

    def intersection(self, other: IntervalSet) -> IntervalSet:
        out: list[tuple[int, int]] = []
        a, b = self.intervals, other.intervals
        i = j = 0
        while i < len(a) and j < len(b):
            lo = max(a[i][0], b[j][0])
            hi = min(a[i][1], b[j][1])
            if lo <= hi:
                out.append((lo, hi))
            if a[i][1] < b[j][1]:
                i += 1
            else:
                j += 1
        result = IntervalSet()
        result.intervals = tuple(out)
        return result

    def intersects(self, other: IntervalSet) -> bool:
        a, b = self.intervals, other.intervals
        if not a or not b or a[-1][1] < b[0][0] or b[-1][1] < a[0][0]:
            return False
        i = j = 0
        while i < len(a) and j < len(b):
            if a[i][0] <= b[j][1] and b[j][0] <= a[i][1]:
                return True
            if a[i][1] < b[j][1]:
                i += 1
            else:
                j += 1
        return False

    def complement(self, lo: int, hi: int) -> IntervalSet:
        """The values of ``[lo, hi]`` not in this set."""
        out: list[tuple[int, int]] = []
        cursor = lo
        for a, b in self.intervals:
            if b < lo or a > hi:
                continue
            if a > cursor:
                out.append((cursor, a - 1))
            cursor = max(cursor, b + 1)
        if cursor <= hi:
            out.append((cursor, hi))
        return IntervalSet(out)

    def difference(self, other: IntervalSet) -> IntervalSet:
        if not self.intervals:
            return self
        return self.intersection(other.complement(self.lo, self.hi))

    def issubset(self, other: IntervalSet) -> bool:
        return not self.difference(other)


PORT_MAX_SENTINEL = ADDRESS_MAX + 1

ALL_ADDRESSES = IntervalSet.span(0, ADDRESS_MAX)
IPV4_ADDRESSES = IntervalSet.span(V4_BASE, V4_MAX)
IPV6_ADDRESSES = ALL_ADDRESSES.difference(IPV4_ADDRESSES)
ALL_PROTOCOLS = IntervalSet.span(0, PROTO_MAX)
ALL_PORTS = IntervalSet.span(0, PORT_MAX)


def address_value(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int:
    """The address as a point of the unified 128-bit space."""
    if address.version == 4:
        return V4_BASE + int(address)
    return int(address)


def value_address(value: int) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if V4_BASE <= value <= V4_MAX:
        return ipaddress.IPv4Address(value - V4_BASE)
    return ipaddress.IPv6Address(value)


def network_interval(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> tuple[int, int]:
    lo = address_value(network.network_address)
    return lo, lo + network.num_addresses - 1


def parse_network(text: str) -> IntervalSet:
    """``10.0.0.0/8``, ``10.1.2.3``, ``10.0.0.0/255.0.0.0``, ``2001:db8::/32`` (host bits ignored, as the kernel does).

    Raises ValueError with a readable reason.
    """
    network = ipaddress.ip_network(text.strip(), strict=False)
    return IntervalSet((network_interval(network),))


def parse_address_range(first: str, last: str) -> IntervalSet:
    """An iprange/nft range ``first-last`` (inclusive)."""
    a, b = ipaddress.ip_address(first.strip()), ipaddress.ip_address(last.strip())
    if a.version != b.version:
        raise ValueError(f"range {first}-{last} mixes IPv4 and IPv6")
    lo, hi = address_value(a), address_value(b)
    if lo > hi:
        raise ValueError(f"range {first}-{last} is empty (first address after last)")
    return IntervalSet(((lo, hi),))


class Verdict(enum.StrEnum):
    ACCEPT = "accept"
    DROP = "drop"
    REJECT = "reject"
    UNKNOWN = "unknown"


class ActionKind(enum.StrEnum):
    ACCEPT = "accept"
    DROP = "drop"
    REJECT = "reject"
    JUMP = "jump"  # evaluate chain ``target``; on RETURN or its end, continue after this rule
    GOTO = "goto"  # evaluate chain ``target``; on RETURN or its end, return from the *current* chain
    RETURN = "return"
    CONTINUE = "continue"  # LOG, counters, marks: the packet goes on to the next rule
    UNKNOWN = "unknown"  # a target the parser does not understand: matching packets get an unknown verdict


TERMINAL_VERDICT = {ActionKind.ACCEPT: Verdict.ACCEPT, ActionKind.DROP: Verdict.DROP,
                    ActionKind.REJECT: Verdict.REJECT, ActionKind.UNKNOWN: Verdict.UNKNOWN}


@dataclass(frozen=True)
class Origin:
    """Where a rule or policy came from: file (as given to the parser), 1-based line, the line's text."""

    file: str
    line: int
    text: str


@dataclass(frozen=True)
class InterfaceMatch:
    """``-i eth0`` / ``iifname "eth0"``; a name ending in ``+`` (iptables) or ``*`` (nft) is a prefix wildcard."""

    names: tuple[str, ...]
    negate: bool = False

    def matches(self, interface: str) -> bool:
        hit = any(interface.startswith(n[:-1]) if n.endswith(("+", "*")) else interface == n for n in self.names)
        return hit != self.negate


@dataclass(frozen=True)
class Match:
    """A conjunction of conditions; ``None`` means "any". Negations are already folded into the sets."""

    src: IntervalSet | None = None
    dst: IntervalSet | None = None
    proto: IntervalSet | None = None
    sport: IntervalSet | None = None
    dport: IntervalSet | None = None
    in_iface: InterfaceMatch | None = None
    out_iface: InterfaceMatch | None = None
    matches_new: bool = True  # False: a conntrack condition that a new packet never meets (e.g. ESTABLISHED)

    def is_empty(self) -> bool:
        return not self.matches_new or any(
            s is not None and not s for s in (self.src, self.dst, self.proto, self.sport, self.dport))


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    target: str | None = None  # chain name for JUMP/GOTO; the raw target for UNKNOWN


@dataclass(frozen=True)
class Rule:
    match: Match
    action: Action
    origin: Origin
    # Constructs the parser could not model. A rule with any is "unknown": packets reaching it that
    # meet the understood part of ``match`` get an unknown verdict, never a guessed one.
    unsupported: tuple[str, ...] = ()


@dataclass
class Chain:
    """A chain. Base chains have a ``policy`` (iptables built-ins, nft base chains); user chains have None."""

    name: str
    rules: list[Rule] = field(default_factory=list)
    policy: Verdict | None = None
    policy_origin: Origin | None = None
    hook: str | None = None  # "forward", "input", ... for base chains
    priority: int = 0


@dataclass(frozen=True)
class Unsupported:
    """Something in the file the parser did not understand, with where it is."""

    origin: Origin
    reason: str


@dataclass
class Ruleset:
    """A parsed ruleset. ``forward`` names the base chains a forwarded packet traverses, in order: a packet
    is forwarded when every one of them accepts it (nft: one base chain per table and priority; iptables:
    ``FORWARD`` of the filter table)."""

    source: str
    format: str
    chains: dict[str, Chain] = field(default_factory=dict)
    forward: list[str] = field(default_factory=list)
    addresses: IntervalSet = ALL_ADDRESSES  # the address families the ruleset filters (iptables: IPv4 only)
    unsupported: list[Unsupported] = field(default_factory=list)


class ParseError(ValueError):
    """The input cannot be read at all. ``line`` is 1-based, 0 when the file as a whole is at fault."""

    def __init__(self, file: str, line: int, reason: str) -> None:
        super().__init__(f"{file}:{line}: {reason}" if line else f"{file}: {reason}")
        self.file = file
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class Packet:
    """One new packet on the forwarding path of a firewall."""

    src: ipaddress.IPv4Address | ipaddress.IPv6Address
    dst: ipaddress.IPv4Address | ipaddress.IPv6Address
    proto: int
    sport: int = 0
    dport: int = 0
    in_iface: str | None = None
    out_iface: str | None = None


def protocol_number(text: str) -> int:
    """``tcp`` → 6, ``17`` → 17. Raises ValueError."""
    text = text.strip().lower()
    if text.isdigit():
        value = int(text)
        if value > PROTO_MAX:
            raise ValueError(f"protocol number {value} is out of range")
        return value
    if text in PROTOCOLS:
        return PROTOCOLS[text]
    raise ValueError(f"unknown protocol {text!r}")
