"""Exact first-match semantics over packet space.

:func:`evaluate` walks one new packet through the forwarding path of a :class:`~mamoru.netcheck.model.Ruleset`.
:func:`outcomes` answers, for a box of packet space minus some excluded boxes, every rule or chain policy that
decides at least one of its packets, each with a concrete witness packet that :func:`evaluate` decides the same
way. :func:`shadowed_rules` and :func:`redundant_rules` are warnings about rules that never matter.

How it works (exactly, without sampling). Packet space has seven dimensions, each an
:class:`~mamoru.netcheck.model.IntervalSet`; interfaces become indices into a finite list of names that holds one
representative of every class of names the ruleset can tell apart (the firewall's names, every exact name a rule
mentions, one name per wildcard prefix and one "other" name), so a box of packet space is a tuple of seven sets.

A base chain is *inlined*: jumps and gotos are expanded in place (bounded: a jump loop or nesting deeper than
:data:`MAX_DEPTH` is an unknown verdict), each inlined rule carrying the intersection of the jump conditions on
its path. The result is a flat sequence of *instances*: terminal ones (accept, drop, reject, unknown: they decide
every packet that reaches them and meets their box) and *exits* (RETURN, and the end of a goto's target: they
send the packets meeting their box out of their *scope* — the inlined body of one chain). A packet reaches an
instance exactly when it meets no earlier terminal and no earlier exit of a scope that contains the instance,
*provided* that every terminal's box has the boxes of the exits live before it (exits of scopes that contain it)
subtracted — otherwise a packet returned from a user chain before a later ``-j DROP`` of that chain would wrongly
count as dropped for the caller's later rules. With that rewriting, the packets a terminal decides are
``query ∩ box − (excluded boxes ∪ the earlier blocking boxes)``: a box minus a list of boxes, searched for a
witness by recursive splitting against only the blocking boxes that meet it (found through a grid index on the
source and destination address intervals). Several base chains (nft) are handled one after another: the packets
an accepting rule or policy of one base chain accepts (again a box minus boxes) are the query of the next.
"""

from __future__ import annotations

import ipaddress
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mamoru.netcheck.model import (
    ALL_ADDRESSES,
    ALL_PORTS,
    ALL_PROTOCOLS,
    IPV4_ADDRESSES,
    IPV6_ADDRESSES,
    TERMINAL_VERDICT,
    V4_BASE,
    ActionKind,
    Chain,
    InterfaceMatch,
    IntervalSet,
    Match,
    Packet,
    Rule,
    Ruleset,
    Verdict,
    address_value,
    value_address,
)

MAX_DEPTH = 16  # like nft's jump stack; deeper nesting is an unknown verdict
FAMILY_REASON = "not filtered by this ruleset (address family)"
NO_INTERFACE_REASON = "the packet's {} interface is not known and the rule has an interface condition"

# Dimensions of a box / point.
IN, OUT, SRC, DST, PROTO, SPORT, DPORT = range(7)
Point = tuple[int, int, int, int, int, int, int]
# Split the least interesting dimensions first so that witnesses keep tcp and low destination ports.
_SPLIT_ORDER = (SRC, DST, SPORT, OUT, IN, DPORT, PROTO)
_MEET_ORDER = (DST, SRC, DPORT, PROTO, SPORT, IN, OUT)

# Protocols whose packets carry ports; packets of the others have ports 0.
PORT_PROTOCOLS = IntervalSet(((6, 6), (17, 17), (33, 33), (132, 132), (136, 136)))
_ZERO = IntervalSet.point(0)


def _v4(a: str, b: str) -> tuple[int, int]:
    return V4_BASE + int(ipaddress.IPv4Address(a)), V4_BASE + int(ipaddress.IPv4Address(b))


def _v6(a: str, b: str) -> tuple[int, int]:
    return int(ipaddress.IPv6Address(a)), int(ipaddress.IPv6Address(b))


# Address ranges a witness prefers, best first: IPv4 unicast, IPv6 global unicast, unique local, other unicast.
_GOOD_ADDRESSES: tuple[tuple[int, int], ...] = (
    _v4("1.0.0.0", "126.255.255.255"), _v4("128.0.0.0", "223.255.255.255"),
    _v6("2000::", "3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), _v6("fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    _v6("::2", "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
)


# ---------------------------------------------------------------------------------------------------------------
# Public results


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    rule: Rule | None  # the deciding rule; None when a chain policy (or "no forward chain": accept) decided
    chain: str  # the chain whose rule or policy decided ("" when no chain did)
    unknown: tuple[str, ...] = ()  # reasons when verdict is UNKNOWN


@dataclass(frozen=True)
class Space:
    """A box of packet space."""

    in_iface: frozenset[str] | None  # None = any interface, including ones not in the firewall's list
    out_iface: frozenset[str] | None
    src: IntervalSet
    dst: IntervalSet
    proto: IntervalSet = ALL_PROTOCOLS
    sport: IntervalSet = ALL_PORTS
    dport: IntervalSet = ALL_PORTS


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    rule: Rule | None  # None = a chain policy
    chain: str
    example: Packet  # evaluate(ruleset, example) decides exactly (verdict, rule, chain)
    unknown: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------------------------
# evaluate: one packet


class _Unknown(Exception):
    def __init__(self, rule: Rule | None, chain: str, reasons: tuple[str, ...]) -> None:
        super().__init__(reasons)
        self.decision = Decision(Verdict.UNKNOWN, rule, chain, reasons)


def _rule_reasons(rule: Rule) -> tuple[str, ...]:
    if rule.unsupported:
        return rule.unsupported
    return (f"unsupported target {rule.action.target or ''}".rstrip(),)


def _iface_meets(match: InterfaceMatch | None, name: str | None, which: str, rule: Rule, chain: str) -> bool:
    if match is None:
        return True
    if name is None:
        if "" in {n[:-1] for n in match.names if n.endswith(("+", "*"))}:
            return not match.negate  # "-i +" meets every interface
        raise _Unknown(rule, chain, (NO_INTERFACE_REASON.format(which),))
    return match.matches(name)


def _packet_meets(rule: Rule, chain: str, packet: Packet, values: tuple[int, int]) -> bool:
    m = rule.match
    if not m.matches_new:
        return False
    if m.src is not None and values[0] not in m.src:
        return False
    if m.dst is not None and values[1] not in m.dst:
        return False
    if m.proto is not None and packet.proto not in m.proto:
        return False
    if m.sport is not None and packet.sport not in m.sport:
        return False
    if m.dport is not None and packet.dport not in m.dport:
        return False
    return _iface_meets(m.in_iface, packet.in_iface, "inbound", rule, chain) and _iface_meets(
        m.out_iface, packet.out_iface, "outbound", rule, chain)


def _walk(ruleset: Ruleset, chain: Chain, packet: Packet, values: tuple[int, int],
          stack: tuple[str, ...]) -> Decision | None:
    """The decision of ``chain``, or None when the packet returns from it (RETURN or end)."""
    for rule in chain.rules:
        kind = rule.action.kind
        if kind is ActionKind.CONTINUE or not _packet_meets(rule, chain.name, packet, values):
            continue
        if rule.unsupported or kind is ActionKind.UNKNOWN:
            raise _Unknown(rule, chain.name, _rule_reasons(rule))
        if kind in (ActionKind.ACCEPT, ActionKind.DROP, ActionKind.REJECT):
            return Decision(TERMINAL_VERDICT[kind], rule, chain.name)
        if kind is ActionKind.RETURN:
            return None
        target = _jump_target(ruleset, rule, stack)
        if isinstance(target, tuple):
            raise _Unknown(rule, chain.name, target)
        decision = _walk(ruleset, target, packet, values, (*stack, target.name))
        if decision is not None:
            return decision
        if kind is ActionKind.GOTO:
            return None
    return None


def _jump_target(ruleset: Ruleset, rule: Rule, stack: tuple[str, ...]) -> Chain | tuple[str]:
    """The target chain of a JUMP/GOTO rule, or the reason why the verdict is unknown."""
    name = rule.action.target or ""
    target = ruleset.chains.get(name)
    if target is None:
        return (f"jump to undefined chain {name!r}",)
    if name in stack:
        return (f"jump loop through chain {name!r}",)
    if len(stack) > MAX_DEPTH:
        return (f"jump nesting deeper than {MAX_DEPTH} chains",)
    return target


def evaluate(ruleset: Ruleset, packet: Packet) -> Decision:
    """The decision for one new packet on the forwarding path.

    Base chains of ``ruleset.forward`` are walked in order; a drop, reject or unknown verdict is final, an accept
    moves on to the next base chain. An accepted packet's decision names the accepting rule or policy of the
    *last* base chain. A packet whose interface is None meets any interface condition as unknown.
    """
    values = (address_value(packet.src), address_value(packet.dst))
    if values[0] not in ruleset.addresses or values[1] not in ruleset.addresses:
        return Decision(Verdict.UNKNOWN, None, "", (FAMILY_REASON,))
    last = Decision(Verdict.ACCEPT, None, "")
    for name in ruleset.forward:
        chain = ruleset.chains.get(name)
        if chain is None:
            return Decision(Verdict.UNKNOWN, None, name, (f"forward chain {name!r} is not defined",))
        try:
            decision = _walk(ruleset, chain, packet, values, (name,))
        except _Unknown as unknown:
            return unknown.decision
        if decision is None:
            decision = Decision(chain.policy or Verdict.ACCEPT, None, name)
        if decision.verdict is not Verdict.ACCEPT:
            return decision
        last = decision
    return last


# ---------------------------------------------------------------------------------------------------------------
# Boxes


class Box:
    """Seven sets (see IN .. DPORT) with their hulls flattened for fast tests."""

    __slots__ = ("h", "multi", "s", "simple")

    def __init__(self, sets: Sequence[IntervalSet]) -> None:
        self.s: tuple[IntervalSet, ...] = tuple(sets)
        h: list[int] = []
        multi: list[int] = []
        for i, x in enumerate(self.s):
            iv = x.intervals
            h.append(iv[0][0])
            h.append(iv[-1][1])
            if len(iv) != 1:
                multi.append(i)
        self.h: tuple[int, ...] = tuple(h)
        self.multi: tuple[int, ...] = tuple(multi)  # the dimensions whose set is not one interval
        self.simple = not multi  # every set is one interval: the hulls are the sets


def _span(lo: int, hi: int) -> IntervalSet:
    out = IntervalSet.__new__(IntervalSet)
    out.intervals = ((lo, hi),)
    out._hash = None
    return out


def _make(sets: Sequence[IntervalSet]) -> Box | None:
    """The box of ``sets``, or None when one of them is empty."""
    for x in sets:
        if not x.intervals:
            return None
    return Box(sets)


def _hulls_meet(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return not (a[7] < b[6] or b[7] < a[6] or a[5] < b[4] or b[5] < a[4] or a[13] < b[12] or b[13] < a[12]
                or a[9] < b[8] or b[9] < a[8] or a[11] < b[10] or b[11] < a[10] or a[1] < b[0] or b[1] < a[0]
                or a[3] < b[2] or b[3] < a[2])


def _meets(a: Box, b: Box) -> bool:
    ah, bh = a.h, b.h
    if (ah[7] < bh[6] or bh[7] < ah[6] or ah[5] < bh[4] or bh[5] < ah[4] or ah[13] < bh[12] or bh[13] < ah[12]
            or ah[9] < bh[8] or bh[9] < ah[8] or ah[11] < bh[10] or bh[11] < ah[10] or ah[1] < bh[0]
            or bh[1] < ah[0] or ah[3] < bh[2] or bh[3] < ah[2]):
        return False
    if a.simple and b.simple:
        return True
    sa, sb = a.s, b.s
    for i in a.multi:
        if not sa[i].intersects(sb[i]):
            return False
    for i in b.multi:  # noqa: SIM110 (a plain loop is faster than all() over a generator here)
        if not sa[i].intersects(sb[i]):
            return False
    return True


def _intersect(a: Box, b: Box) -> Box | None:
    if not _meets(a, b):
        return None
    ah, bh = a.h, b.h
    sa, sb = a.s, b.s
    sets: list[IntervalSet] = []
    for i in range(7):
        x, y = sa[i], sb[i]
        if len(x.intervals) == 1 and len(y.intervals) == 1:
            lo, hi = 2 * i, 2 * i + 1
            if bh[lo] <= ah[lo] and ah[hi] <= bh[hi]:
                sets.append(x)
            elif ah[lo] <= bh[lo] and bh[hi] <= ah[hi]:
                sets.append(y)
            else:
                sets.append(_span(max(ah[lo], bh[lo]), min(ah[hi], bh[hi])))
        else:
            z = x.intersection(y)
            if not z:
                return None
            sets.append(z)
    return Box(sets)


def _subset(a: Box, b: Box) -> bool:
    if a.simple and b.simple:
        ah, bh = a.h, b.h
        return all(bh[2 * i] <= ah[2 * i] and ah[2 * i + 1] <= bh[2 * i + 1] for i in range(7))
    return all(a.s[i].issubset(b.s[i]) for i in _MEET_ORDER)


def _contains(box: Box, p: Point) -> bool:
    h = box.h
    if (p[3] < h[6] or p[3] > h[7] or p[2] < h[4] or p[2] > h[5] or p[6] < h[12] or p[6] > h[13]
            or p[4] < h[8] or p[4] > h[9] or p[5] < h[10] or p[5] > h[11] or p[0] < h[0] or p[0] > h[1]
            or p[1] < h[2] or p[1] > h[3]):
        return False
    if box.simple:
        return True
    s = box.s
    for i in _MEET_ORDER:  # noqa: SIM110
        if p[i] not in s[i]:
            return False
    return True


def _minus(a: Box, b: Box) -> list[Box]:
    """``a − b`` as disjoint boxes (at most seven)."""
    if not _meets(a, b):
        return [a]
    pieces: list[Box] = []
    rest = list(a.s)
    for d in _SPLIT_ORDER:
        outside = rest[d].difference(b.s[d])
        if outside:
            piece = list(rest)
            piece[d] = outside
            pieces.append(Box(piece))
        rest[d] = rest[d].intersection(b.s[d])
    return pieces


def _lowest_at_least(s: IntervalSet, floor: int) -> int | None:
    for lo, hi in s.intervals:
        if hi >= floor:
            return max(lo, floor)
    return None


def _pick_port(s: IntervalSet, preferred: int | None, floor: int) -> int:
    if preferred is not None and preferred in s:
        return preferred
    for f in (floor, 1):
        value = _lowest_at_least(s, f)
        if value is not None:
            return value
    return s.first


_ADDRESS_PICKS: dict[tuple[tuple[int, int], ...], int] = {}


def _pick_address(s: IntervalSet) -> int:
    """A host-looking address of ``s``: unicast, last octet 2-254 when possible, the lowest such."""
    found = _ADDRESS_PICKS.get(s.intervals)
    if found is None:
        found = _ADDRESS_PICKS[s.intervals] = _pick_address_uncached(s)
        if len(_ADDRESS_PICKS) > 100_000:
            _ADDRESS_PICKS.clear()
    return found


def _pick_address_uncached(s: IntervalSet) -> int:
    for strict in (True, False):
        for glo, ghi in _GOOD_ADDRESSES:
            if s.hi < glo or s.lo > ghi:
                continue
            for lo, hi in s.intervals:
                lo, hi = max(lo, glo), min(hi, ghi)
                if lo > hi:
                    continue
                value = lo
                if strict:
                    octet = value & 0xFF
                    if octet < 2:
                        value += 2 - octet
                    elif octet == 0xFF:
                        value += 3
                if value <= hi:
                    return value
    return s.first


def _pick(box: Box) -> Point:
    s = box.s
    proto = s[PROTO]
    p = 6 if 6 in proto else 17 if 17 in proto else _pick_port(proto, None, 1)
    return (s[IN].first, s[OUT].first, _pick_address(s[SRC]), _pick_address(s[DST]), p,
            _pick_port(s[SPORT], 40000, 1024), _pick_port(s[DPORT], None, 1))


def _find(box: Box, blockers: list[Box]) -> Point | None:
    """A point of ``box`` outside every box of ``blockers`` (all of which meet ``box``), or None."""
    stack: list[tuple[Box, list[Box]]] = [(box, blockers)]
    while stack:
        current, around = stack.pop()
        point = _pick(current)
        hit = None
        for other in around:
            if _contains(other, point):
                hit = other
                break
        if hit is None:
            return point
        if _subset(current, hit):
            continue
        pieces = _minus(current, hit)
        for piece in reversed(pieces):
            stack.append((piece, [o for o in around if o is not hit and _meets(o, piece)]))
    return None


# ---------------------------------------------------------------------------------------------------------------
# Interface names


def _candidates(base: str) -> Iterable[str]:
    for c in "0123456789abcdefghijklmnopqrstuvwxyz":
        yield base + c
    for i in range(10000):
        yield f"{base}_{i}"


class _Interfaces:
    """A finite list of names with one representative of every class of names the conditions tell apart."""

    def __init__(self, listed: Iterable[str], matches: Iterable[InterfaceMatch]) -> None:
        names: list[str] = []
        seen: set[str] = set()

        def add(name: str) -> None:
            if name not in seen:
                seen.add(name)
                names.append(name)

        for name in listed:
            add(name)
        exact: set[str] = set()
        prefixes: set[str] = set()
        for m in matches:
            for n in m.names:
                if n.endswith(("+", "*")):
                    prefixes.add(n[:-1])
                else:
                    exact.add(n)
        for name in sorted(exact):
            add(name)
        ordered = sorted(prefixes, key=len, reverse=True)

        def longest(name: str) -> str | None:
            return next((p for p in ordered if name.startswith(p)), None)

        classes: list[str | None] = [*sorted(prefixes)]
        if "" not in prefixes:
            classes.append(None)
        for prefix in classes:
            for candidate in _candidates("other" if prefix is None else prefix):
                if candidate not in seen and longest(candidate) == prefix:
                    add(candidate)
                    break
        self.names = names
        self.index = {n: i for i, n in enumerate(names)}
        self.full = IntervalSet.span(0, len(names) - 1)
        self._cache: dict[InterfaceMatch, IntervalSet] = {}

    def of_names(self, names: Iterable[str]) -> IntervalSet:
        return IntervalSet((self.index[n], self.index[n]) for n in names)

    def of_match(self, match: InterfaceMatch | None) -> IntervalSet:
        if match is None:
            return self.full
        cached = self._cache.get(match)
        if cached is None:
            cached = IntervalSet((i, i) for i, n in enumerate(self.names) if match.matches(n))
            self._cache[match] = cached
        return cached


def _forward_chains(ruleset: Ruleset) -> list[Chain]:
    """Every chain reachable from the forward base chains."""
    seen: dict[str, Chain] = {}
    todo = [n for n in ruleset.forward if n in ruleset.chains]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        chain = seen[name] = ruleset.chains[name]
        for rule in chain.rules:
            if rule.action.kind in (ActionKind.JUMP, ActionKind.GOTO) and rule.action.target in ruleset.chains:
                todo.append(rule.action.target)
    return list(seen.values())


# Interface conditions per ruleset, kept while the ruleset lives and its chains keep their sizes.
_IFACE_CACHE: dict[int, tuple[weakref.ref[Ruleset], tuple[int, ...], frozenset[InterfaceMatch]]] = {}


def _interfaces(ruleset: Ruleset, listed: Iterable[str]) -> _Interfaces:
    fingerprint = (len(ruleset.forward), *(len(c.rules) for c in ruleset.chains.values()))
    cached = _IFACE_CACHE.get(id(ruleset))
    if cached is not None and cached[0]() is ruleset and cached[1] == fingerprint:
        return _Interfaces(listed, cached[2])
    matches: set[InterfaceMatch] = set()
    for chain in _forward_chains(ruleset):
        for rule in chain.rules:
            m = rule.match
            if m.in_iface is not None:
                matches.add(m.in_iface)
            if m.out_iface is not None:
                matches.add(m.out_iface)
    for key in [k for k, v in _IFACE_CACHE.items() if v[0]() is None]:
        del _IFACE_CACHE[key]
    _IFACE_CACHE[id(ruleset)] = (weakref.ref(ruleset), fingerprint, frozenset(matches))
    return _Interfaces(listed, matches)


# ---------------------------------------------------------------------------------------------------------------
# The inlined walk


class _Entry:
    """A box in the index: a terminal's (rewritten) piece, an exit, or an excluded box."""

    __slots__ = ("box", "rule", "scope", "seq")

    def __init__(self, seq: int, box: Box, rule: Rule | None, scope: int) -> None:
        self.seq = seq
        self.box = box
        self.rule = rule
        self.scope = scope  # -1: blocks everything after it; else: the scope an exit leaves


def _level(lo: int, hi: int) -> int:
    return ((lo ^ hi).bit_length() + 7) // 8 * 8


_Sub = tuple[int, int, int]  # (in interface, out interface, destination port); -1 = not a single value


class _Index:
    """Boxes bucketed by their narrower address dimension (a grid per power-of-256 level), then by interface pair
    and destination port when those are single values. A query returns a superset of the boxes meeting it."""

    def __init__(self) -> None:
        self.levels: dict[tuple[int, int], dict[int, dict[_Sub, list[_Entry]]]] = {}

    def add(self, entry: _Entry) -> None:
        h = entry.box.h
        ls, ld = _level(h[4], h[5]), _level(h[6], h[7])
        grid, level, lo = (0, ls, h[4]) if ls < ld else (1, ld, h[6])
        sub = (h[0] if h[0] == h[1] else -1, h[2] if h[2] == h[3] else -1, h[12] if h[12] == h[13] else -1)
        grid_level = self.levels.get((grid, level))
        if grid_level is None:
            grid_level = self.levels[(grid, level)] = {}
        bucket = grid_level.get(lo >> level)
        if bucket is None:
            bucket = grid_level[lo >> level] = {}
        found = bucket.get(sub)
        if found is None:
            bucket[sub] = [entry]
        else:
            found.append(entry)

    def query(self, box: Box) -> list[_Entry]:
        out: list[_Entry] = []
        h = box.h
        i0, i1, o0, o1, d0, d1 = h[0], h[1], h[2], h[3], h[12], h[13]
        for (grid, level), keys in self.levels.items():
            lo, hi = (h[4], h[5]) if grid == 0 else (h[6], h[7])
            a, b = lo >> level, hi >> level
            if a == b:
                bucket = keys.get(a)
                buckets = [bucket] if bucket else []
            elif b - a < len(keys):
                buckets = [k for k in (keys.get(key) for key in range(a, b + 1)) if k]
            else:
                buckets = [k for key, k in keys.items() if a <= key <= b]
            for bucket in buckets:
                for (i, o, d), found in bucket.items():
                    if ((i == -1 or i0 <= i <= i1) and (o == -1 or o0 <= o <= o1)
                            and (d == -1 or d0 <= d <= d1)):
                        out.extend(found)
        return out


@dataclass
class _Instance:
    """One instance of the inlined sequence, kept for the redundancy check."""

    seq: int
    terminal: bool  # else an exit
    rule: Rule | None
    verdict: Verdict | None
    box: Box
    scopes: tuple[int, ...]
    scope: int = -1  # for an exit: the scope it leaves
    blockers: tuple[Box, ...] = ()
    live: bool = False


_BOX_CACHE: dict[int, tuple[weakref.ref[Ruleset], tuple[int, ...], tuple[str, ...], dict[int, Box | None]]] = {}


def _rule_boxes(ruleset: Ruleset, ifs: _Interfaces) -> dict[int, Box | None]:
    """The per-rule box cache of ``ruleset`` (kept across calls while the ruleset and its chain sizes stay)."""
    fingerprint = (len(ruleset.forward), *(len(c.rules) for c in ruleset.chains.values()))
    names = tuple(ifs.names)
    cached = _BOX_CACHE.get(id(ruleset))
    if cached is not None and cached[0]() is ruleset and cached[1] == fingerprint and cached[2] == names:
        return cached[3]
    for key in [k for k, v in _BOX_CACHE.items() if v[0]() is None]:
        del _BOX_CACHE[key]
    boxes: dict[int, Box | None] = {}
    _BOX_CACHE[id(ruleset)] = (weakref.ref(ruleset), fingerprint, names, boxes)
    return boxes


class _Analysis:
    """State shared by the passes of one call."""

    def __init__(self, ruleset: Ruleset, ifs: _Interfaces, *, collect: bool = False, probe: bool = False,
                 record: bool = False) -> None:
        self.ruleset = ruleset
        self.ifs = ifs
        self.collect = collect  # collect outcomes (and chain accepted packets into the next base chain)
        self.probe = probe  # note, per rule, whether any instance decides/reaches something (shadowing)
        self.record = record  # keep the instance sequence (redundancy)
        self.boxes = _rule_boxes(ruleset, ifs)
        self.order: dict[int, int] = {}
        self.outcomes: dict[object, tuple[tuple[int, int], Outcome]] = {}
        self.shadow: dict[int, tuple[Rule, bool, Rule | None, bool]] = {}  # rule -> (rule, live, coverer, same)
        self.instances: list[_Instance] = []

    def rule_box(self, rule: Rule) -> Box | None:
        key = id(rule)
        if key in self.boxes:
            return self.boxes[key]
        m: Match = rule.match
        box: Box | None = None
        if m.matches_new:
            box = _make((self.ifs.of_match(m.in_iface), self.ifs.of_match(m.out_iface),
                         m.src if m.src is not None else ALL_ADDRESSES, m.dst if m.dst is not None else ALL_ADDRESSES,
                         m.proto if m.proto is not None else ALL_PROTOCOLS,
                         m.sport if m.sport is not None else ALL_PORTS, m.dport if m.dport is not None else ALL_PORTS))
        self.boxes[key] = box
        return box

    def rank(self, rule: Rule) -> int:
        return self.order.setdefault(id(rule), len(self.order))

    def note(self, base: int, key: object, rank: int, outcome: Outcome) -> None:
        if key not in self.outcomes:
            self.outcomes[key] = ((base, rank), outcome)

    def packet(self, p: Point) -> Packet:
        return Packet(src=value_address(p[SRC]), dst=value_address(p[DST]), proto=p[PROTO], sport=p[SPORT],
                      dport=p[DPORT], in_iface=self.ifs.names[p[IN]], out_iface=self.ifs.names[p[OUT]])

    def run(self, base: int, queries: list[Box], blockers: Iterable[Box]) -> None:
        _Pass(self, base, queries, blockers).run()


class _Pass:
    """One base chain, inlined, for one query (a list of boxes) minus blocking boxes."""

    def __init__(self, analysis: _Analysis, base: int, queries: list[Box], blockers: Iterable[Box]) -> None:
        self.a = analysis
        self.base = base
        self.name = analysis.ruleset.forward[base]
        self.last = base == len(analysis.ruleset.forward) - 1
        self.queries = queries
        self.index = _Index()
        self.seq = 0
        for box in blockers:
            self.index.add(_Entry(-1, box, None, -1))
        self.open: set[int] = set()
        self.scopes: tuple[int, ...] = ()
        self.exits: list[_Entry] = []
        self.next_scope = 0

    # -- region search
    def region(self, box: Box) -> tuple[Point | None, list[_Entry], list[Box]]:
        """A point of ``queries ∩ box`` reaching here, the blocking entries meeting ``box``, the query parts."""
        parts = [q for q in (_intersect(q, box) for q in self.queries) if q is not None]
        if not parts:
            return None, [], []
        if len(parts) == 1:
            part = parts[0]
            entries = [e for e in self.index.query(box)
                       if (e.scope < 0 or e.scope in self.open) and _meets(e.box, part)]
            return _find(part, [e.box for e in entries]), entries, parts
        entries = [e for e in self.index.query(box) if (e.scope < 0 or e.scope in self.open) and _meets(e.box, box)]
        for part in parts:
            point = _find(part, [e.box for e in entries if _meets(e.box, part)])
            if point is not None:
                return point, entries, parts
        return None, entries, parts

    def run(self) -> None:
        a = self.a
        chain = a.ruleset.chains.get(self.name)
        universe = Box((a.ifs.full, a.ifs.full, ALL_ADDRESSES, ALL_ADDRESSES, ALL_PROTOCOLS, ALL_PORTS, ALL_PORTS))
        if chain is None:
            self.terminal(None, self.name, Verdict.UNKNOWN, (f"forward chain {self.name!r} is not defined",),
                          universe, 1 << 62)
            return
        self.chain(chain, universe, (self.name,))
        self.terminal(None, self.name, chain.policy or Verdict.ACCEPT, (), universe, 1 << 62)

    def chain(self, chain: Chain, path: Box, stack: tuple[str, ...]) -> None:
        a = self.a
        scope = self.next_scope
        self.next_scope += 1
        self.open.add(scope)
        outer = self.scopes
        self.scopes = (*outer, scope)
        exits_before = len(self.exits)
        for rule in chain.rules:
            kind = rule.action.kind
            if kind is ActionKind.CONTINUE:
                continue
            rank = a.rank(rule)
            rbox = a.rule_box(rule)
            box = None if rbox is None else _intersect(path, rbox)
            if box is None:
                if a.probe and rule.match.matches_new and kind is not ActionKind.RETURN:
                    self.shadow(rule, None, False)
                continue
            if rule.unsupported or kind is ActionKind.UNKNOWN:
                self.terminal(rule, chain.name, Verdict.UNKNOWN, _rule_reasons(rule), box, rank)
            elif kind in (ActionKind.ACCEPT, ActionKind.DROP, ActionKind.REJECT):
                self.terminal(rule, chain.name, TERMINAL_VERDICT[kind], (), box, rank)
            elif kind is ActionKind.RETURN:
                self.exit(rule, box, scope)
            else:
                target = _jump_target(a.ruleset, rule, stack)
                if isinstance(target, tuple):
                    self.terminal(rule, chain.name, Verdict.UNKNOWN, target, box, rank)
                    continue
                point, entries, parts = self.region(box)
                if a.probe:
                    self.shadow(rule, point, point is None and self.coverer(entries, parts))
                if point is None:
                    continue
                self.chain(target, box, (*stack, target.name))
                if kind is ActionKind.GOTO:
                    self.exit(rule, box, scope)
        # close the scope: its exits stop blocking
        self.open.discard(scope)
        del self.exits[exits_before:]
        self.scopes = outer

    def shadow(self, rule: Rule, point: Point | None, coverer: Rule | bool | None) -> None:
        a = self.a
        key = id(rule)
        cover = coverer if isinstance(coverer, Rule) else None
        previous = a.shadow.get(key)
        if previous is None:
            a.shadow[key] = (rule, point is not None, cover, True)
        else:
            same = previous[3] and previous[2] is cover
            a.shadow[key] = (rule, previous[1] or point is not None, previous[2], same)

    def coverer(self, entries: list[_Entry], parts: list[Box]) -> Rule | None:
        for e in entries:
            if e.rule is not None and all(_subset(p, e.box) for p in parts):
                return e.rule
        return None

    def exit(self, rule: Rule, box: Box, scope: int) -> None:
        point, _, _ = self.region(box)
        self.seq += 1
        if self.a.record:
            self.a.instances.append(_Instance(self.seq, False, rule, None, box, self.scopes, scope,
                                              live=point is not None))
        if point is None:
            return
        entry = _Entry(self.seq, box, rule, scope)
        self.index.add(entry)
        self.exits.append(entry)

    def terminal(self, rule: Rule | None, chain: str, verdict: Verdict, reasons: tuple[str, ...], box: Box,
                 rank: int) -> None:
        a = self.a
        point, entries, parts = self.region(box)
        self.seq += 1
        if a.probe and rule is not None:
            self.shadow(rule, point, point is None and self.coverer(entries, parts))
        if a.record:
            self.a.instances.append(_Instance(self.seq, True, rule, verdict, box, self.scopes,
                                              blockers=tuple(e.box for e in entries), live=point is not None))
        if point is None:
            return
        if a.collect:
            key: object = id(rule) if rule is not None else ("policy", chain)
            if verdict is Verdict.ACCEPT and not self.last:
                a.run(self.base + 1, parts, (e.box for e in entries))
            else:
                a.note(self.base, key, rank, Outcome(verdict, rule, chain, a.packet(point), reasons))
        # Later instances are blocked by this box minus the exits live here (see the module docstring).
        pieces = [box]
        for ex in self.exits:
            if _meets(ex.box, box):
                pieces = [q for p in pieces for q in _minus(p, ex.box)]
        for piece in pieces:
            self.index.add(_Entry(self.seq, piece, rule, -1))


# ---------------------------------------------------------------------------------------------------------------
# Queries


def _space_box(space: Space, ifs: _Interfaces) -> Box | None:
    return _make((ifs.full if space.in_iface is None else ifs.of_names(space.in_iface),
                  ifs.full if space.out_iface is None else ifs.of_names(space.out_iface),
                  space.src, space.dst, space.proto, space.sport, space.dport))


def _split(box: Box, addresses: IntervalSet) -> tuple[list[Box], list[Box]]:
    """``box`` as real packets: same-family addresses, ports 0 for protocols without ports. Returns the parts the
    ruleset filters (best first: IPv4, port protocols) and the parts of a family it does not filter."""
    analysed: list[Box] = []
    unknown: list[Box] = []
    for family in (IPV4_ADDRESSES, IPV6_ADDRESSES):
        b = box.s
        src, dst = b[SRC].intersection(family), b[DST].intersection(family)
        if not src or not dst:
            continue
        for protos, ports in ((b[PROTO].intersection(PORT_PROTOCOLS), None),
                              (b[PROTO].difference(PORT_PROTOCOLS), _ZERO)):
            sport = b[SPORT] if ports is None else b[SPORT].intersection(ports)
            dport = b[DPORT] if ports is None else b[DPORT].intersection(ports)
            part = _make((b[IN], b[OUT], src, dst, protos, sport, dport))
            if part is None:
                continue
            inside = _make((b[IN], b[OUT], src.intersection(addresses), dst.intersection(addresses), protos,
                            sport, dport))
            if inside is not None:
                analysed.append(inside)
                unknown.extend(_minus(part, inside))
            else:
                unknown.append(part)
    return analysed, unknown


def outcomes(ruleset: Ruleset, query: Space, *, exclude: Sequence[Space] = (),
             interfaces: Sequence[str] = ()) -> list[Outcome]:
    """Every rule or chain policy deciding at least one new packet of ``query`` minus the ``exclude`` boxes, in
    rule order (policies after their chain's rules), each with an exact witness packet.

    Packets are real ones: source and destination of one address family, ports 0 unless the protocol has ports.
    Interfaces range over ``interfaces``, the names the query and the rules mention, and one made-up name per
    class of names the rules cannot tell apart. The part of the query the ruleset does not filter (another address
    family) is one UNKNOWN outcome with no rule and chain "".
    """
    extra = list(interfaces)
    for space in (query, *exclude):
        extra.extend(sorted(space.in_iface or ()))
        extra.extend(sorted(space.out_iface or ()))
    ifs = _interfaces(ruleset, extra)
    qbox = _space_box(query, ifs)
    if qbox is None:
        return []
    excluded = [b for b in (_space_box(s, ifs) for s in exclude) if b is not None and _meets(b, qbox)]
    analysed, foreign = _split(qbox, ruleset.addresses)
    analysis = _Analysis(ruleset, ifs, collect=True)
    result: list[Outcome] = []
    if analysed:
        if ruleset.forward:
            analysis.run(0, analysed, excluded)
        else:
            for part in analysed:
                point = _find(part, [b for b in excluded if _meets(b, part)])
                if point is not None:
                    result.append(Outcome(Verdict.ACCEPT, None, "", analysis.packet(point)))
                    break
    result.extend(o for _, o in sorted(analysis.outcomes.values(), key=lambda item: item[0]))
    for part in foreign:
        point = _find(part, [b for b in excluded if _meets(b, part)])
        if point is not None:
            result.append(Outcome(Verdict.UNKNOWN, None, "", analysis.packet(point), (FAMILY_REASON,)))
            break
    return result


_WARNED = (ActionKind.ACCEPT, ActionKind.DROP, ActionKind.REJECT, ActionKind.JUMP, ActionKind.GOTO)


def _universe(ruleset: Ruleset, ifs: _Interfaces) -> list[Box]:
    box = Box((ifs.full, ifs.full, ALL_ADDRESSES, ALL_ADDRESSES, ALL_PROTOCOLS, ALL_PORTS, ALL_PORTS))
    return _split(box, ruleset.addresses)[0]


def shadowed_rules(ruleset: Ruleset, *, interfaces: Sequence[str] = ()) -> list[tuple[Rule, Rule | None]]:
    """Rules on the forwarding path (accept, drop, reject, jump, goto) that no new packet reaching them meets.

    A rule is reported when it sits in a chain the forwarding path reaches and in none of its inlined places can a
    packet reach it with its match satisfied. The second element is one earlier rule that alone covers it (in
    every place), else None (several rules together cover it, or the rule can never match there). Each base chain
    is analysed as if every packet entered it, so with several base chains a rule shadowed only by an earlier base
    chain is not reported. Rules that only match established traffic are not reported.
    """
    ifs = _interfaces(ruleset, interfaces)
    analysis = _Analysis(ruleset, ifs, probe=True)
    queries = _universe(ruleset, ifs)
    if queries:
        for base in range(len(ruleset.forward)):
            _Pass(analysis, base, queries, ()).run()
    out: list[tuple[int, Rule, Rule | None]] = []
    for rule, live, cover, same in analysis.shadow.values():
        if not live and rule.action.kind in _WARNED:
            out.append((analysis.order.get(id(rule), 0), rule, cover if same else None))
    out.sort(key=lambda item: item[0])
    return [(rule, cover) for _, rule, cover in out]


def redundant_rules(ruleset: Ruleset, *, interfaces: Sequence[str] = ()) -> list[tuple[Rule, Rule]]:
    """Terminal rules whose removal would change no verdict, each with the later rule that would then decide.

    Definition (sound, not complete), per base chain with jumps inlined: a terminal (accept, drop, reject) rule
    ``r`` that decides some packets (its *effective space* E: the packets reaching it and meeting it) is redundant
    with the first later terminal rule ``j`` of the same verdict that meets E when
      * ``j`` covers E (every packet of E meets ``j``'s conditions, including the jumps that lead to ``j``),
      * no terminal rule of another verdict (or unknown) between them meets E, and
      * no RETURN or goto between them that meets E leaves a chain that holds ``j``.
    Then every packet of E, without ``r``, reaches a rule of ``r``'s verdict. A rule with several inlined places is
    reported when this holds in each. Redundancy with a chain policy is not reported (no rule to name).
    """
    ifs = _interfaces(ruleset, interfaces)
    queries = _universe(ruleset, ifs)
    found: dict[int, tuple[Rule, Rule | None]] = {}
    order: dict[int, int] = {}
    for base in range(len(ruleset.forward) if queries else 0):
        analysis = _Analysis(ruleset, ifs, record=True)
        _Pass(analysis, base, queries, ()).run()
        for rule_id, rank in analysis.order.items():
            order.setdefault(rule_id, rank + base * (1 << 40))
        instances = analysis.instances
        index = _Index()
        for position, inst in enumerate(instances):
            index.add(_Entry(position, inst.box, inst.rule, -1))
        for position, inst in enumerate(instances):
            if (not inst.terminal or not inst.live or inst.rule is None
                    or inst.verdict not in (Verdict.ACCEPT, Verdict.DROP, Verdict.REJECT)):
                continue
            partner = _redundant_with(inst, position, instances, index, queries)
            key = id(inst.rule)
            if key not in found:
                found[key] = (inst.rule, partner)
            elif partner is None:
                found[key] = (inst.rule, None)
    out = sorted(((order.get(k, 0), r, j) for k, (r, j) in found.items() if j is not None), key=lambda t: t[0])
    return [(r, j) for _, r, j in out if j is not None]


def _redundant_with(r: _Instance, position: int, instances: list[_Instance], index: _Index,
                    queries: list[Box]) -> Rule | None:
    parts = [p for p in (_intersect(q, r.box) for q in queries) if p is not None]

    def meets_effective(box: Box) -> bool:
        for part in parts:
            inner = _intersect(part, box)
            if inner is not None and _find(inner, [b for b in r.blockers if _meets(b, inner)]) is not None:
                return True
        return False

    def covers_effective(box: Box) -> bool:
        for part in parts:
            for piece in _minus(part, box):
                if _find(piece, [b for b in r.blockers if _meets(b, piece)]) is not None:
                    return False
        return True

    leaving: set[int] = set()
    later = sorted(e.seq for e in index.query(r.box) if e.seq > position and _meets(e.box, r.box))
    for k in later:
        other = instances[k]
        if not other.terminal:
            if other.scope not in leaving and meets_effective(other.box):
                leaving.add(other.scope)
            continue
        if other.verdict != r.verdict:
            if meets_effective(other.box):
                return None
            continue
        if other.rule is None or not meets_effective(other.box):
            continue
        if covers_effective(other.box) and not leaving.intersection(other.scopes):
            return other.rule
    return None
