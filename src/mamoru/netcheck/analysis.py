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

import gc
import ipaddress
import operator
import weakref
from bisect import bisect_left, bisect_right, insort
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


_new = object.__new__


class Box:
    """Seven sets (see IN .. DPORT) with their hulls flattened for fast tests.

    A *simple* box (every set one interval, the common case) is fully described by its hulls ``h``; its sets are
    only built when asked for (``s``)."""

    __slots__ = ("_s", "h", "multi", "simple")

    def __init__(self, sets: Sequence[IntervalSet]) -> None:
        self._s: tuple[IntervalSet, ...] | None = tuple(sets)
        h: list[int] = []
        multi: list[int] = []
        for i, x in enumerate(self._s):
            iv = x.intervals
            h.append(iv[0][0])
            h.append(iv[-1][1])
            if len(iv) != 1:
                multi.append(i)
        self.h: tuple[int, ...] = tuple(h)
        self.multi: tuple[int, ...] = tuple(multi)  # the dimensions whose set is not one interval
        self.simple = not multi  # every set is one interval: the hulls are the sets

    @property
    def s(self) -> tuple[IntervalSet, ...]:
        sets = self._s
        if sets is None:
            h = self.h
            sets = self._s = (_span(h[0], h[1]), _span(h[2], h[3]), _span(h[4], h[5]), _span(h[6], h[7]),
                              _span(h[8], h[9]), _span(h[10], h[11]), _span(h[12], h[13]))
        return sets


def _hbox(h: tuple[int, ...]) -> Box:
    """The simple box of hulls ``h`` (14 bounds, each low ≤ high)."""
    box: Box = _new(Box)
    box.h = h
    box._s = None
    box.multi = ()
    box.simple = True
    return box


_NO_BOX: Box = _new(Box)  # a rule's box not computed yet (None: the rule matches no new packet)


def _span(lo: int, hi: int) -> IntervalSet:
    out = IntervalSet.__new__(IntervalSet)
    out.intervals = ((lo, hi),)
    out._hash = None
    return out


def _make(sets: Sequence[IntervalSet]) -> Box | None:
    """The box of ``sets``, or None when one of them is empty."""
    simple = True
    for x in sets:
        if not x.intervals:
            return None
        if len(x.intervals) != 1:
            simple = False
    if not simple:
        return Box(sets)
    (a, b), (c, d), (e, f), (g, h), (i, j), (k, m), (n, o) = (x.intervals[0] for x in sets)
    return _hbox((a, b, c, d, e, f, g, h, i, j, k, m, n, o))


def _clip(intervals: tuple[tuple[int, int], ...], lo: int, hi: int) -> tuple[tuple[int, int], ...]:
    return tuple((a if a > lo else lo, b if b < hi else hi) for a, b in intervals if a <= hi and b >= lo)


def _meets(a: Box, b: Box) -> bool:
    ah, bh = a.h, b.h
    if (ah[7] < bh[6] or bh[7] < ah[6] or ah[5] < bh[4] or bh[5] < ah[4] or ah[13] < bh[12] or bh[13] < ah[12]
            or ah[9] < bh[8] or bh[9] < ah[8] or ah[11] < bh[10] or bh[11] < ah[10] or ah[1] < bh[0]
            or bh[1] < ah[0] or ah[3] < bh[2] or bh[3] < ah[2]):
        return False
    if a.simple and b.simple:
        return True
    return _multi_meet(a, b) and _multi_meet(b, a)


def _multi_meet(a: Box, b: Box) -> bool:
    """Whether each multi-interval set of ``a`` meets the same dimension of ``b`` (whose hulls meet ``a``'s)."""
    if a.simple:
        return True
    sa = a.s
    bh, bmulti = b.h, b.multi
    for i in a.multi:
        if i in bmulti:
            if not sa[i].intersects(b.s[i]):
                return False
        else:
            lo, hi = bh[2 * i], bh[2 * i + 1]
            for x, y in sa[i].intervals:
                if x <= hi and y >= lo:
                    break
            else:
                return False
    return True


def _intersect(a: Box, b: Box) -> Box | None:
    ah, bh = a.h, b.h
    if (ah[7] < bh[6] or bh[7] < ah[6] or ah[5] < bh[4] or bh[5] < ah[4] or ah[13] < bh[12] or bh[13] < ah[12]
            or ah[9] < bh[8] or bh[9] < ah[8] or ah[11] < bh[10] or bh[11] < ah[10] or ah[1] < bh[0]
            or bh[1] < ah[0] or ah[3] < bh[2] or bh[3] < ah[2]):
        return None
    a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13 = ah
    b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13 = bh
    hull = (a0 if a0 > b0 else b0, a1 if a1 < b1 else b1, a2 if a2 > b2 else b2, a3 if a3 < b3 else b3,
            a4 if a4 > b4 else b4, a5 if a5 < b5 else b5, a6 if a6 > b6 else b6, a7 if a7 < b7 else b7,
            a8 if a8 > b8 else b8, a9 if a9 < b9 else b9, a10 if a10 > b10 else b10,
            a11 if a11 < b11 else b11, a12 if a12 > b12 else b12, a13 if a13 < b13 else b13)
    if a.simple and b.simple:
        return _hbox(hull)
    # Some dimension holds several intervals: clip them; the result is simple again when each dimension is.
    h = list(hull)
    amulti, bmulti = a.multi, b.multi
    extra: dict[int, tuple[tuple[int, int], ...]] | None = None
    for i in amulti if not bmulti else bmulti if not amulti else sorted({*amulti, *bmulti}):
        lo, hi = h[2 * i], h[2 * i + 1]
        if i in amulti and i in bmulti:
            iv = a.s[i].intersection(b.s[i]).intervals
        else:
            iv = (a if i in amulti else b).s[i].intervals
            if lo == hi:  # a single value: a membership test
                for first, last in iv:
                    if first <= lo:
                        if lo <= last:
                            iv = ((lo, lo),)
                            break
                    else:
                        return None
                else:
                    return None
                continue
            iv = _clip(iv, lo, hi)
        if not iv:
            return None
        h[2 * i], h[2 * i + 1] = iv[0][0], iv[-1][1]
        if len(iv) > 1:
            if extra is None:
                extra = {}
            extra[i] = iv
    if extra is None:
        return _hbox(tuple(h))
    box: Box = _new(Box)
    box.h = tuple(h)
    box.multi = tuple(sorted(extra))
    box.simple = False
    sets: list[IntervalSet] = []
    for i in range(7):
        if i in extra:
            x = IntervalSet.__new__(IntervalSet)
            x.intervals = extra[i]
            x._hash = None
            sets.append(x)
        else:
            sets.append(_span(h[2 * i], h[2 * i + 1]))
    box._s = tuple(sets)
    return box


def _subset(a: Box, b: Box) -> bool:
    ah, bh = a.h, b.h
    if not (bh[0] <= ah[0] and ah[1] <= bh[1] and bh[2] <= ah[2] and ah[3] <= bh[3] and bh[4] <= ah[4]
            and ah[5] <= bh[5] and bh[6] <= ah[6] and ah[7] <= bh[7] and bh[8] <= ah[8] and ah[9] <= bh[9]
            and bh[10] <= ah[10] and ah[11] <= bh[11] and bh[12] <= ah[12] and ah[13] <= bh[13]):
        return False  # (a set lies within its hull, so a subset's hull lies within the other's)
    if b.simple:
        return True
    # Where b's set is one interval, it is its hull; elsewhere the sets decide.
    sa, sb = a.s, b.s
    return all(sa[i].issubset(sb[i]) for i in b.multi)


def _contains(box: Box, p: Point) -> bool:
    h = box.h
    if (p[3] < h[6] or p[3] > h[7] or p[2] < h[4] or p[2] > h[5] or p[6] < h[12] or p[6] > h[13]
            or p[4] < h[8] or p[4] > h[9] or p[5] < h[10] or p[5] > h[11] or p[0] < h[0] or p[0] > h[1]
            or p[1] < h[2] or p[1] > h[3]):
        return False
    if box.simple:
        return True
    s = box.s
    for i in box.multi:  # noqa: SIM110 (the hulls already hold the point: only multi-interval sets can miss it)
        if p[i] not in s[i]:
            return False
    return True


def _minus(a: Box, b: Box) -> list[Box]:
    """``a − b`` as disjoint boxes (at most seven)."""
    if not _meets(a, b):
        return [a]
    pieces: list[Box] = []
    if a.simple and b.simple:
        bh = b.h
        rest = list(a.h)
        for d in _SPLIT_ORDER:
            lo, hi, blo, bhi = rest[2 * d], rest[2 * d + 1], bh[2 * d], bh[2 * d + 1]
            left, right = lo < blo, bhi < hi
            if left or right:
                if left and right:
                    sets = [_span(rest[2 * i], rest[2 * i + 1]) for i in range(7)]
                    sets[d] = IntervalSet(((lo, blo - 1), (bhi + 1, hi)))
                    pieces.append(Box(sets))
                else:
                    piece = list(rest)
                    if left:
                        piece[2 * d + 1] = blo - 1
                    else:
                        piece[2 * d] = bhi + 1
                    pieces.append(_hbox(tuple(piece)))
                if left:
                    rest[2 * d] = blo
                if right:
                    rest[2 * d + 1] = bhi
        return pieces
    rest_sets = list(a.s)
    bs = b.s
    for d in _SPLIT_ORDER:
        outside = rest_sets[d].difference(bs[d])
        if outside:
            piece_sets = list(rest_sets)
            piece_sets[d] = outside
            pieces.append(Box(piece_sets))
        rest_sets[d] = rest_sets[d].intersection(bs[d])
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
        if len(_ADDRESS_PICKS) > 100_000:
            _ADDRESS_PICKS.clear()
        found = _ADDRESS_PICKS[s.intervals] = _pick_address_uncached(s)
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
    if box.simple:
        h = box.h
        plo, phi = h[8], h[9]
        p = 6 if plo <= 6 <= phi else 17 if plo <= 17 <= phi else (plo if plo >= 1 else 1) if phi >= 1 else plo
        slo, shi = h[10], h[11]
        sport = (40000 if slo <= 40000 <= shi else (slo if slo >= 1024 else 1024) if shi >= 1024
                 else (slo if slo >= 1 else 1) if shi >= 1 else slo)
        dlo, dhi = h[12], h[13]
        dport = (dlo if dlo >= 1 else 1) if dhi >= 1 else dlo
        picks = _ADDRESS_PICKS
        key = ((h[4], h[5]),)
        src = picks.get(key)
        if src is None:
            src = _pick_address(_span(h[4], h[5]))
        key = ((h[6], h[7]),)
        dst = picks.get(key)
        if dst is None:
            dst = _pick_address(_span(h[6], h[7]))
        return (h[0], h[2], src, dst, p, sport, dport)
    s = box.s
    proto = s[PROTO]
    p = 6 if 6 in proto else 17 if 17 in proto else _pick_port(proto, None, 1)
    return (s[IN].first, s[OUT].first, _pick_address(s[SRC]), _pick_address(s[DST]), p,
            _pick_port(s[SPORT], 40000, 1024), _pick_port(s[DPORT], None, 1))


def _pick_hosts(box: Box) -> Point:
    """:func:`_pick` of a simple box of one source and one destination address (each its own pick)."""
    h = box.h
    plo, phi = h[8], h[9]
    p = 6 if plo <= 6 <= phi else 17 if plo <= 17 <= phi else (plo if plo >= 1 else 1) if phi >= 1 else plo
    slo, shi = h[10], h[11]
    sport = (40000 if slo <= 40000 <= shi else (slo if slo >= 1024 else 1024) if shi >= 1024
             else (slo if slo >= 1 else 1) if shi >= 1 else slo)
    dlo, dhi = h[12], h[13]
    dport = (dlo if dlo >= 1 else 1) if dhi >= 1 else dlo
    return (h[0], h[2], h[4], h[6], p, sport, dport)


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


def _holding(boxes: list[Box], p: Point) -> bool:
    """Whether a box of ``boxes`` holds ``p``."""
    p0, p1, p2, p3, p4, p5, p6 = p
    for box in boxes:
        h = box.h
        if (p3 < h[6] or p3 > h[7] or p2 < h[4] or p2 > h[5] or p6 < h[12] or p6 > h[13] or p4 < h[8]
                or p4 > h[9] or p5 < h[10] or p5 > h[11] or p0 < h[0] or p0 > h[1] or p1 < h[2] or p1 > h[3]):
            continue
        if box.simple or _contains(box, p):
            return True
    return False


def _find_first(box: Box, blockers: list[Box]) -> tuple[Point | None, bool]:
    """:func:`_find`, and whether the point is the box's own first pick (no blocker holds it)."""
    point = _pick(box)
    for other in blockers:
        if _contains(other, point):
            return _find(box, blockers), False
    return point, True


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
        self._cache: dict[tuple[tuple[str, ...], bool], IntervalSet] = {}
        self._seen: dict[int, tuple[InterfaceMatch, IntervalSet]] = {}  # by identity: parsers share the objects

    def of_names(self, names: Iterable[str]) -> IntervalSet:
        return IntervalSet((self.index[n], self.index[n]) for n in names)

    def of_match(self, match: InterfaceMatch | None) -> IntervalSet:
        if match is None:
            return self.full
        seen = self._seen.get(id(match))
        if seen is not None and seen[0] is match:
            return seen[1]
        value = self._of_match(match)
        self._seen[id(match)] = (match, value)  # the match is kept: its id stays its own
        return value

    def _of_match(self, match: InterfaceMatch) -> IntervalSet:
        key = (match.names, match.negate)
        cached = self._cache.get(key)
        if cached is None:
            cached = IntervalSet((i, i) for i, n in enumerate(self.names) if match.matches(n))
            self._cache[key] = cached
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
    enabled = gc.isenabled()
    gc.disable()  # a young collection here would walk a freshly parsed ruleset's objects (see _settle)
    try:
        fingerprint = (len(ruleset.forward), *[len(c.rules) for c in ruleset.chains.values()])
        cached = _IFACE_CACHE.get(id(ruleset))
        fresh = not (cached is not None and cached[0]() is ruleset and cached[1] == fingerprint)
        matches = _interface_matches(ruleset) if fresh else cached[2]  # type: ignore[index]
    finally:
        if enabled:
            if fresh and sum(fingerprint[1:]) >= _SETTLE_INSTANCES:
                _settle()
            gc.enable()
    if not fresh:
        return _Interfaces(listed, matches)
    for key in [k for k, v in _IFACE_CACHE.items() if v[0]() is None]:
        del _IFACE_CACHE[key]
    _IFACE_CACHE[id(ruleset)] = (weakref.ref(ruleset), fingerprint, matches)
    return _Interfaces(listed, matches)


def _interface_matches(ruleset: Ruleset) -> frozenset[InterfaceMatch]:
    found: dict[tuple[tuple[str, ...], bool], InterfaceMatch] = {}  # keyed by the fields: cheaper than the hash
    for chain in _forward_chains(ruleset):
        for rule in chain.rules:
            m = rule.match
            i, o = m.in_iface, m.out_iface
            if i is not None:
                found.setdefault((i.names, i.negate), i)
            if o is not None:
                found.setdefault((o.names, o.negate), o)
    return frozenset(found.values())


# ---------------------------------------------------------------------------------------------------------------
# The index of blocking boxes


class _Entry:
    """A box in the index: a terminal's (rewritten) piece or an exit."""

    __slots__ = ("box", "rule", "scope", "seq")

    def __init__(self, seq: int, box: Box, rule: Rule | None, scope: int) -> None:
        self.seq = seq
        self.box = box
        self.rule = rule
        self.scope = scope  # -1: blocks everything after it; else: the scope an exit leaves


class _Grid:
    """The boxes of one (address dimension, level) bucketed by ``bound >> level``. The bucket keys are also kept
    sorted (a range of keys is found by bisection) with their insertion rank: a range is visited in ascending key
    order when it is narrower than the number of buckets (and 4096), else in the order the buckets were made (the
    order of a scan of ``buckets``), exactly as a scan of the key range or of every bucket would visit them."""

    __slots__ = ("buckets", "dhi", "dlo", "keys", "ohi", "olo", "rank")

    def __init__(self) -> None:
        self.buckets: dict[int, list[_Entry]] = {}
        self.keys: list[int] = []  # sorted
        self.rank: dict[int, int] = {}  # key -> its bucket's insertion rank
        # The hull of the boxes' destination ports and of their other address dimension: a box outside it meets none.
        self.dlo = self.olo = 1 << 130
        self.dhi = self.ohi = -1

    def add(self, key: int, entry: _Entry) -> None:
        bucket = self.buckets.get(key)
        if bucket is None:
            self.new_bucket(key, entry)
        else:
            bucket.append(entry)

    def new_bucket(self, key: int, entry: _Entry) -> None:
        self.buckets[key] = [entry]
        self.rank[key] = len(self.rank)
        keys = self.keys
        if not keys or key > keys[-1]:
            keys.append(key)
        else:
            insort(keys, key)

    def span(self, a: int, b: int) -> list[list[_Entry]]:
        """The buckets of keys ``a`` to ``b`` (a < b), in visiting order (see the class docstring)."""
        keys = self.keys
        i = bisect_left(keys, a)
        j = bisect_right(keys, b, i)
        if i == j:
            return []
        buckets = self.buckets
        if j - i == 1:
            return [buckets[keys[i]]]
        chosen = keys[i:j]
        if not (b - a < len(buckets) and b - a < 4096):
            chosen.sort(key=self.rank.__getitem__)
        return [buckets[k] for k in chosen]


_Plan = list[tuple[int, int, _Grid]]


class _Index:
    """Boxes grouped by their single inbound and outbound interface, then by their single destination port (-1: not
    a single value), then bucketed by their narrower address dimension (a grid per power-of-256 level). A query
    returns a superset of the boxes meeting it; a rule of one interface pair never looks at the boxes of another.

    The order of the answer matters (the witness search splits a box by the first blocking box holding its pick), and
    is that of a plain scan: the groups and ports that can meet the box in dictionary order, each port's grids in
    dictionary order, a grid's buckets as :class:`_Grid` says. What the caches and shortcuts below leave out is only
    boxes that cannot meet the box, so the boxes meeting it come in the same order.

    The grids a box with one inbound and outbound interface and one destination port visits are kept flattened per
    (inbound, outbound, port) in ``plans`` (in the order :meth:`query` visits them; without the grids whose ports
    exclude that port), until a new grid appears or a grid's port hull grows; those of a box with one inbound and
    outbound interface and a range (``range_plans``) or a set (``set_plans``) of destination ports until a new grid
    appears. A range of buckets is skipped when the box misses the hull of the grid's ports or other address."""

    def __init__(self) -> None:
        self.groups: dict[tuple[int, int], dict[int, dict[tuple[int, int], _Grid]]] = {}
        self.plans: dict[tuple[int, int, int], _Plan] = {}
        self.range_plans: dict[tuple[int, int, int, int], _Plan] = {}
        self.set_plans: dict[tuple[int, int, tuple[tuple[int, int], ...]], _Plan] = {}
        self.grids: dict[tuple[int, int, int, int, int], _Grid] = {}  # every grid by (in, out, port, dim, level)

    def add(self, entry: _Entry) -> None:
        h0, h1, h2, h3, h4, h5, h6, h7, _, _, _, _, h12, h13 = entry.box.h
        ls = ((h4 ^ h5).bit_length() + 7) // 8 * 8  # the level of each address interval: a power of 256
        ld = ((h6 ^ h7).bit_length() + 7) // 8 * 8
        if ls < ld:
            key = (h0 if h0 == h1 else -1, h2 if h2 == h3 else -1, h12 if h12 == h13 else -1, 0, ls)
            lo = h4 >> ls
        else:
            key = (h0 if h0 == h1 else -1, h2 if h2 == h3 else -1, h12 if h12 == h13 else -1, 1, ld)
            lo = h6 >> ld
        grid = self.grids.get(key)
        if grid is None:
            grid = self.new_grid(key)
        if h12 < grid.dlo or h13 > grid.dhi:  # the grid now holds other ports: the plans may have to visit it
            if h12 < grid.dlo:
                grid.dlo = h12
            if h13 > grid.dhi:
                grid.dhi = h13
            self.plans.clear()
        olo, ohi = (h6, h7) if ls < ld else (h4, h5)
        if olo < grid.olo:
            grid.olo = olo
        if ohi > grid.ohi:
            grid.ohi = ohi
        bucket = grid.buckets.get(lo)
        if bucket is None:
            grid.new_bucket(lo, entry)
        else:
            bucket.append(entry)

    def new_grid(self, key: tuple[int, int, int, int, int]) -> _Grid:
        """The grid of (inbound, outbound, port, dimension, level) ``key``, new."""
        i, o, port, dim, level = key
        ports = self.groups.get((i, o))
        if ports is None:
            ports = self.groups[(i, o)] = {}
        grids = ports.get(port)
        if grids is None:
            grids = ports[port] = {}
        grid = grids[(dim, level)] = self.grids[key] = _Grid()
        self.plans.clear()
        self.range_plans.clear()
        self.set_plans.clear()
        return grid

    def plan(self, i: int, o: int, d: int) -> _Plan:
        """The grids a box of inbound ``i``, outbound ``o`` and destination port ``d`` visits: (the index of its
        address bound in a box's hulls, level, grid)."""
        key = (i, o, d)
        found = self.plans.get(key)
        if found is None:
            found = []
            get = self.groups.get
            for ports in (get((i, o)), get((i, -1)), get((-1, o)), get((-1, -1))):
                if not ports:
                    continue
                for grids in (ports.get(d), ports.get(-1)):
                    if grids:
                        found.extend((4 if dim == 0 else 6, level, grid) for (dim, level), grid in grids.items()
                                     if grid.dlo <= d <= grid.dhi)  # (no box of the others holds port d)
            self.plans[key] = found
        return found

    def range_plan(self, i: int, o: int, d0: int, d1: int) -> _Plan:
        """:meth:`plan` for a box of destination ports ``d0`` to ``d1`` (d0 < d1): the grids of every port in the range
        and of -1, in the order of the port dictionaries."""
        key = (i, o, d0, d1)
        found = self.range_plans.get(key)
        if found is None:
            found = []
            get = self.groups.get
            for ports in (get((i, o)), get((i, -1)), get((-1, o)), get((-1, -1))):
                if not ports:
                    continue
                for d, grids in ports.items():
                    if d == -1 or d0 <= d <= d1:
                        found.extend((4 if dim == 0 else 6, level, grid) for (dim, level), grid in grids.items())
            self.range_plans[key] = found
        return found

    def set_plan(self, i: int, o: int, ports: tuple[tuple[int, int], ...]) -> _Plan:
        """:meth:`range_plan` for a box whose destination ports are the intervals ``ports``: the grids of the ports in
        the set and of -1."""
        found: _Plan = []
        get = self.groups.get
        values = ({v for lo, hi in ports for v in range(lo, hi + 1)}
                  if sum(hi - lo for lo, hi in ports) <= 256 else None)
        for group in (get((i, o)), get((i, -1)), get((-1, o)), get((-1, -1))):
            if not group:
                continue
            for d, grids in group.items():
                if d == -1 or (d in values if values is not None else any(lo <= d <= hi for lo, hi in ports)):
                    found.extend((4 if dim == 0 else 6, level, grid) for (dim, level), grid in grids.items())
        self.set_plans[(i, o, ports)] = found
        return found

    def query(self, box: Box) -> list[_Entry]:
        h = box.h
        i0, i1, o0, o1, d0, d1 = h[0], h[1], h[2], h[3], h[12], h[13]
        if i0 == i1 and o0 == o1:
            if d0 == d1:
                plan = self.plans.get((i0, o0, d0))
                if plan is None:
                    plan = self.plan(i0, o0, d0)
            elif DPORT in box.multi:  # only the ports of the set (an entry of another single port cannot meet it)
                dports = box.s[DPORT].intervals
                plan = self.set_plans.get((i0, o0, dports))
                if plan is None:
                    plan = self.set_plan(i0, o0, dports)
            else:
                plan = self.range_plans.get((i0, o0, d0, d1))
                if plan is None:
                    plan = self.range_plan(i0, o0, d0, d1)
        else:
            plan = []
            for (i, o), ports in self.groups.items():
                if (i == -1 or i0 <= i <= i1) and (o == -1 or o0 <= o <= o1):
                    if d0 == d1:
                        selected = [g for g in (ports.get(d0), ports.get(-1)) if g]
                    else:
                        selected = [g for d, g in ports.items() if d == -1 or d0 <= d <= d1]
                    for grids in selected:
                        plan.extend((4 if dim == 0 else 6, level, grid) for (dim, level), grid in grids.items())
        out: list[_Entry] = []
        for bound, level, grid in plan:
            a, b = h[bound] >> level, h[bound + 1] >> level
            if a == b:
                bucket = grid.buckets.get(a)
                if bucket:
                    out += bucket
            elif not (grid.dlo > d1 or grid.dhi < d0 or grid.olo > h[11 - bound] or grid.ohi < h[10 - bound]):
                for bucket in grid.span(a, b):
                    out += bucket
        return out

    def meeting(self, box: Box, open_scopes: set[int]) -> list[_Entry]:
        """``_meeting(self.query(box), box, open_scopes)``, in the same order, without the intermediate list."""
        h = box.h
        h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13 = h
        if not (h0 == h1 and h2 == h3 and h12 == h13 and box.simple):
            return _meeting(self.query(box), box, open_scopes)
        plan = self.plans.get((h0, h2, h12))
        if plan is None:
            plan = self.plan(h0, h2, h12)
        out: list[_Entry] = []
        for bound, level, grid in plan:
            a, b = h[bound] >> level, h[bound + 1] >> level
            if a == b:
                bucket = grid.buckets.get(a)
                if not bucket:
                    continue
                buckets: Iterable[list[_Entry]] = (bucket,)
            elif (grid.dlo > h12 or grid.dhi < h12 or grid.olo > h[11 - bound] or grid.ohi < h[10 - bound]):
                continue  # outside the hull of the grid's boxes
            else:
                buckets = grid.span(a, b)
            for bucket in buckets:
                for e in bucket:
                    if e.scope >= 0 and e.scope not in open_scopes:
                        continue
                    b_ = e.box
                    eh = b_.h
                    if (eh[7] < h6 or h7 < eh[6] or eh[5] < h4 or h5 < eh[4] or eh[13] < h12 or h13 < eh[12]
                            or eh[9] < h8 or h9 < eh[8] or eh[11] < h10 or h11 < eh[10] or eh[1] < h0
                            or h1 < eh[0] or eh[3] < h2 or h3 < eh[2]):
                        continue
                    if b_.simple or _multi_meet(b_, box):  # (box is simple)
                        out.append(e)
        return out

    def stab(self, p: Point, open_scopes: Sequence[int] | set[int], limit: int) -> bool:
        """Whether an entry added before ``limit`` (and not an exit of a scope outside ``open_scopes``) holds ``p``."""
        p0, p1, p2, p3, p4, p5, p6 = p
        plan = self.plans.get((p0, p1, p6))
        if plan is None:
            plan = self.plan(p0, p1, p6)
        for bound, level, grid in plan:
            bucket = grid.buckets.get((p2 if bound == 4 else p3) >> level)
            if not bucket:
                continue
            for e in bucket:
                if e.seq >= limit or (e.scope >= 0 and e.scope not in open_scopes):
                    continue
                box = e.box
                h = box.h
                if (p3 < h[6] or p3 > h[7] or p2 < h[4] or p2 > h[5] or p6 < h[12] or p6 > h[13]
                        or p4 < h[8] or p4 > h[9] or p5 < h[10] or p5 > h[11] or p0 < h[0] or p0 > h[1]
                        or p1 < h[2] or p1 > h[3]):
                    continue
                if box.simple or _contains(box, p):
                    return True
        return False


def _meeting(entries: list[_Entry], box: Box, open_scopes: set[int] | tuple[int, ...] | None = None,
             limit: int | None = None) -> list[_Entry]:
    """The entries meeting ``box`` (and, when given, of an open scope and added before ``limit``)."""
    h = box.h
    h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13 = h
    out: list[_Entry] = []
    simple = box.simple
    sets = _multi_sets(box)
    for e in entries:
        if limit is not None and e.seq >= limit:
            continue
        if open_scopes is not None and e.scope >= 0 and e.scope not in open_scopes:
            continue
        b = e.box
        eh = b.h
        if (eh[7] < h6 or h7 < eh[6] or eh[5] < h4 or h5 < eh[4] or eh[13] < h12 or h13 < eh[12]
                or eh[9] < h8 or h9 < eh[8] or eh[11] < h10 or h11 < eh[10] or eh[1] < h0
                or h1 < eh[0] or eh[3] < h2 or h3 < eh[2]):
            continue
        if b.simple:
            if simple or _hull_meets_sets(eh, sets):
                out.append(e)
        elif _meets(b, box):
            out.append(e)
    return out


def _multi_sets(box: Box) -> list[tuple[int, tuple[tuple[int, int], ...]]]:
    """The dimensions of several intervals of ``box``, as (index of the low bound in the hulls, intervals)."""
    if box.simple:
        return []
    s = box.s
    return [(2 * i, s[i].intervals) for i in box.multi]


def _hull_meets_sets(h: tuple[int, ...], sets: list[tuple[int, tuple[tuple[int, int], ...]]]) -> bool:
    """Whether a simple box of hulls ``h``, which meet those of a box, meets the box: ``_multi_meet(box, simple)``,
    the box's dimensions of several intervals being ``sets`` (see :func:`_multi_sets`)."""
    for j, intervals in sets:
        lo, hi = h[j], h[j + 1]
        for x, y in intervals:
            if x <= hi and y >= lo:
                break
        else:
            return False
    return True


def _meeting_boxes(boxes: list[Box], box: Box) -> list[Box]:
    """The boxes of ``boxes`` meeting ``box``."""
    h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13 = box.h
    simple = box.simple
    sets = _multi_sets(box)
    out: list[Box] = []
    for b in boxes:
        eh = b.h
        if (eh[7] < h6 or h7 < eh[6] or eh[5] < h4 or h5 < eh[4] or eh[13] < h12 or h13 < eh[12]
                or eh[9] < h8 or h9 < eh[8] or eh[11] < h10 or h11 < eh[10] or eh[1] < h0
                or h1 < eh[0] or eh[3] < h2 or h3 < eh[2]):
            continue
        if b.simple:
            if simple or _hull_meets_sets(eh, sets):
                out.append(b)
        elif _meets(b, box):
            out.append(b)
    return out


# ---------------------------------------------------------------------------------------------------------------
# The prepared universe pass


_TERMINAL, _EXIT, _JUMP = 0, 1, 2
_LIST_LIMIT = 256  # a node keeps its blocking boxes in a list up to this many; beyond, they come from the index
_POLICY_RANK = 1 << 62


class _Node:
    """One place of the inlined sequence of a base chain, as the universe pass found it: a terminal, an exit or a
    jump (whose target chain is inlined in ``children``). ``blockers`` are the boxes blocking it (None: too many,
    see :meth:`Prepared._blockers`), ``point`` a universe witness of class ``cls``, ``first`` whether that witness
    is the first pick of its part (then it is also the first pick of any smaller query that holds it)."""

    __slots__ = ("blockers", "box", "chain", "children", "cls", "first", "kind", "limit", "live", "point",
                 "reasons", "rule", "scope", "scopes", "verdict")

    def __init__(self, kind: int, rule: Rule | None, chain: str, verdict: Verdict | None, reasons: tuple[str, ...],
                 box: Box, region: _Region, limit: int, scopes: tuple[int, ...], scope: int = -1) -> None:
        self.kind = kind
        self.rule = rule
        self.chain = chain
        self.verdict = verdict
        self.reasons = reasons
        self.box = box
        self.point, self.first, self.cls, entries, _parts = region
        self.live = self.point is not None
        self.blockers: list[Box] | None = [e.box for e in entries] if len(entries) <= _LIST_LIMIT else None
        self.limit = limit  # index entries with a smaller seq were added before this place
        self.scopes = scopes  # the scopes open here
        self.scope = scope  # an exit: the scope it leaves
        self.children: list[_Item] = []


_Item = tuple[int | None, _Node | None]  # (id of the rule, for ranks; None for a policy), the live place or None
_Region = tuple[Point | None, bool, int, list[_Entry], list[Box]]
_CONTINUE, _ACCEPT, _DROP, _REJECT, _RETURN, _UNKNOWN = (ActionKind.CONTINUE, ActionKind.ACCEPT, ActionKind.DROP,
                                                     ActionKind.REJECT, ActionKind.RETURN, ActionKind.UNKNOWN)
_UniversePart = tuple[int, Box, tuple[tuple[int, int, int], ...] | None]  # see Prepared.universe_for_protocols


class _BaseState:
    """The universe pass of one base chain: the inlined tree, the terminals and exits in order, the final index."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.items: list[_Item] = []
        self.instances: list[_Node] = []
        self.order: dict[int, int] = {}  # this base chain's own rule ranks
        self.index = _Index()
        self.instance_index: _Index | None = None


def _fingerprint(ruleset: Ruleset) -> tuple[object, ...]:
    return (tuple(ruleset.forward), ruleset.addresses,
            tuple((name, chain.policy, tuple(map(id, chain.rules))) for name, chain in ruleset.chains.items()))


class Prepared:
    """The query-independent analysis of a ruleset for one list of interface names (see :func:`prepare`).

    One universe pass per base chain inlines the jumps and finds, for every place of every rule, the earlier boxes
    that block it (a rule's *blocking boxes* do not depend on the query), whether any packet reaches it, a witness,
    and the shadowing facts. A query then only intersects each place with the query, subtracts the excluded boxes
    and, unless the universe witness already lies in the query and outside the excludes, searches a witness among
    the blocking boxes. Exact: a packet of the query reaches a place iff it reaches it in the universe.

    Valid while the ruleset is not modified; :func:`outcomes` and friends check that (and prepare afresh if not).
    """

    def __init__(self, ruleset: Ruleset, ifs: _Interfaces) -> None:
        self._ruleset = weakref.ref(ruleset)  # weak: the cache of prepared analyses must not keep rulesets alive
        self.ruleset = ruleset  # dropped after the pass
        self.ifs = ifs
        self.names = tuple(ifs.names)
        self.fingerprint = _fingerprint(ruleset)
        self._keep = tuple(tuple(c.rules) for c in ruleset.chains.values())  # the ids above stay unique
        self._forward = tuple(ruleset.forward)
        self._addresses = ruleset.addresses
        self._chains = tuple((name, chain.policy, rules)
                             for (name, chain), rules in zip(ruleset.chains.items(), self._keep, strict=True))
        self.boxes: dict[int, Box | None] = {}
        self.universe_box = Box((ifs.full, ifs.full, ALL_ADDRESSES, ALL_ADDRESSES, ALL_PROTOCOLS, ALL_PORTS,
                                 ALL_PORTS))
        self.universe: list[tuple[int, Box]] = _split_classes(self.universe_box, ruleset.addresses)[0]
        # When the universe parts hold several intervals only in the protocol dimension, the parts a simple box
        # meets and their protocol intervals depend on the box's protocol interval alone (see universe_for_protocols)
        self.universe_memo: dict[tuple[int, int], list[_UniversePart]] | None = (
            {} if all(q.multi in ((), (PROTO,)) for _, q in self.universe) else None)
        self.order: dict[int, int] = {}  # rule ranks across the base chains (shadowing)
        self.shadow: dict[int, tuple[Rule, bool, Rule | None, bool]] = {}  # rule -> (rule, live, coverer, same)
        self.bases: list[_BaseState] = []
        enabled = gc.isenabled()
        gc.disable()  # the pass allocates many long-lived objects: generational collections only cost time
        try:
            if self.universe:
                for base in range(len(ruleset.forward)):
                    self.bases.append(_Build(self, base).run())
        finally:
            if enabled:
                if sum(len(state.instances) for state in self.bases) >= _SETTLE_INSTANCES:
                    _settle()
                gc.enable()
        del self.ruleset

    def valid_for(self, ruleset: Ruleset, names: Sequence[str]) -> bool:
        return self._ruleset() is ruleset and self.names == tuple(names) and self.unchanged(ruleset)

    def unchanged(self, ruleset: Ruleset) -> bool:
        """Whether ``ruleset`` still has this pass's fingerprint (same forward chains, addresses, chain names and
        policies, and the very same rule objects): as ``_fingerprint(ruleset) == self.fingerprint``, without building
        a tuple of every rule's id (identity tests against the rules kept)."""
        if (tuple(ruleset.forward) != self._forward or ruleset.addresses != self._addresses
                or len(ruleset.chains) != len(self._chains)):
            return False
        for (name, policy, kept), (current, chain) in zip(self._chains, ruleset.chains.items(), strict=True):
            rules = chain.rules
            if (name != current or chain.policy != policy or len(rules) != len(kept)
                    or not all(map(operator.is_, rules, kept))):
                return False
        return True

    def rule_box(self, rule: Rule) -> Box | None:
        key = id(rule)
        box = self.boxes.get(key, _NO_BOX)
        if box is not _NO_BOX:
            return box
        m: Match = rule.match
        box = None
        if m.matches_new:
            of_match = self.ifs.of_match
            s0, s1, s2, s3, s4, s5, s6 = (
                of_match(m.in_iface), of_match(m.out_iface),
                ALL_ADDRESSES if m.src is None else m.src, ALL_ADDRESSES if m.dst is None else m.dst,
                ALL_PROTOCOLS if m.proto is None else m.proto, ALL_PORTS if m.sport is None else m.sport,
                ALL_PORTS if m.dport is None else m.dport)
            try:  # the common case: every set one interval
                ((a, b),) = s0.intervals
                ((c, d),) = s1.intervals
                ((e, f),) = s2.intervals
                ((g, h),) = s3.intervals
                ((i, j),) = s4.intervals
                ((k, n),) = s5.intervals
                ((o, q),) = s6.intervals
            except ValueError:
                box = _make((s0, s1, s2, s3, s4, s5, s6))
            else:
                box = _hbox((a, b, c, d, e, f, g, h, i, j, k, n, o, q))
        self.boxes[key] = box
        return box

    def universe_for_protocols(self, lo: int, hi: int) -> list[_UniversePart]:
        """The universe parts, for a box whose protocols are the interval ``lo``-``hi``: those it can meet, each as the
        box whose intersection with the box is the part's (the part with its protocols clipped to ``lo``-``hi``, a
        simple box, when that leaves one interval; the part itself otherwise), with, for a simple one, the bounds where
        it is narrower than the universe box: (index in the hulls, low, high). Every box of the pass lies in the
        universe box, so a box whose hulls lie within those bounds lies in the part, and is its own intersection with
        it."""
        out: list[_UniversePart] = []
        full = self.universe_box.h
        for cls, q in self.universe:
            if not q.simple:
                clipped = _clip(q.s[PROTO].intervals, lo, hi)
                if not clipped:
                    continue
                if len(clipped) > 1:
                    out.append((cls, q, None))
                    continue
                h = list(q.h)
                h[2 * PROTO], h[2 * PROTO + 1] = clipped[0]
                q = _hbox(tuple(h))
            qh = q.h
            narrower = tuple((2 * d, qh[2 * d], qh[2 * d + 1]) for d in range(7)
                             if qh[2 * d] != full[2 * d] or qh[2 * d + 1] != full[2 * d + 1])
            out.append((cls, q, narrower))
        return out

    def note_shadow(self, rule: Rule, live: bool, cover: Rule | None) -> None:
        key = id(rule)
        previous = self.shadow.get(key)
        if previous is None:
            self.shadow[key] = (rule, live, cover, True)
        else:
            same = previous[3] and previous[2] is cover
            self.shadow[key] = (rule, previous[1] or live, previous[2], same)

    @staticmethod
    def blockers(state: _BaseState, node: _Node, box: Box) -> list[Box]:
        """The boxes blocking ``node`` that meet ``box`` (a part of the node's box)."""
        if node.blockers is not None:
            return _meeting_boxes(node.blockers, box)
        return [e.box for e in _meeting(state.index.query(box), box, node.scopes, node.limit)]

    def packet(self, p: Point) -> Packet:
        names = self.ifs.names
        return Packet(_address(p[SRC]), _address(p[DST]), p[PROTO], p[SPORT], p[DPORT], names[p[IN]],
                      names[p[OUT]])


class _Build:
    """The universe pass of one base chain (jumps inlined; see the module docstring)."""

    def __init__(self, prepared: Prepared, base: int) -> None:
        self.p = prepared
        self.name = prepared.ruleset.forward[base]
        self.state = _BaseState(self.name)
        self.index = self.state.index
        self.seq = 0
        self.open: set[int] = set()
        self.scopes: tuple[int, ...] = ()
        self.exits: list[_Entry] = []
        self.next_scope = 0

    def run(self) -> _BaseState:
        p = self.p
        chain = p.ruleset.chains.get(self.name)
        universe = p.universe_box
        if chain is None:
            node = self.terminal(None, self.name, Verdict.UNKNOWN, (f"forward chain {self.name!r} is not defined",),
                                 universe)
            self.state.items = [(None, node)]
        else:
            items = self.chain(chain, universe, (self.name,))
            items.append((None, self.terminal(None, self.name, chain.policy or Verdict.ACCEPT, (), universe)))
            self.state.items = items
        return self.state

    def parts(self, box: Box) -> list[tuple[int, Box]]:
        """The universe parts of ``box``, each with its class."""
        parts: list[tuple[int, Box]] = []
        memo = self.p.universe_memo
        if memo is not None and (box.simple or PROTO not in box.multi):  # (the box's protocols: one interval)
            h = box.h
            key = (h[8], h[9])
            universe = memo.get(key)
            if universe is None:
                universe = memo[key] = self.p.universe_for_protocols(h[8], h[9])
            for cls, q, narrower in universe:
                if narrower is not None:
                    for i, lo, hi in narrower:
                        if h[i] < lo or h[i + 1] > hi:
                            break
                    else:  # the box lies in the part
                        parts.append((cls, box))
                        continue
                part = _intersect(q, box)
                if part is not None:
                    parts.append((cls, part))
            return parts
        for cls, q in self.p.universe:
            part = _intersect(q, box)
            if part is not None:
                parts.append((cls, part))
        return parts

    def region(self, box: Box, parts: list[tuple[int, Box]] | None = None,
               entries: list[_Entry] | None = None) -> _Region:
        """A universe point reaching ``box`` here (whether a first pick, its class), the blocking entries meeting
        it, the universe parts of ``box`` (``parts``, when given, are :meth:`parts`; ``entries``, when given with a
        single part, are the index entries meeting it)."""
        if parts is None:
            parts = self.parts(box)
        if not parts:
            return None, False, -1, [], []
        if len(parts) == 1:
            cls, part = parts[0]
            if entries is None:
                entries = self.index.meeting(part, self.open)
            if not entries:  # nothing blocks it: the first pick
                return _pick(part), True, cls, entries, [part]
            point, first = _find_first(part, [e.box for e in entries])
            return point, first, cls, entries, [part]
        entries = _meeting(self.index.query(box), box, self.open)
        boxes = [e.box for e in entries]
        for cls, part in parts:
            # _find_first(part, _meeting_boxes(boxes, part)): a box holding the part's first pick meets the part, so
            # when no box holds it, it is the answer (without listing the boxes meeting the part).
            pick = _pick(part)
            if not _holding(boxes, pick):
                return pick, True, cls, entries, [q for _, q in parts]
            point = _find(part, _meeting_boxes(boxes, part))
            if point is not None:
                return point, False, cls, entries, [q for _, q in parts]
        return None, False, -1, entries, [q for _, q in parts]

    def chain(self, chain: Chain, path: Box, stack: tuple[str, ...]) -> list[_Item]:
        p = self.p
        order, own = p.order, self.state.order
        scope = self.next_scope
        self.next_scope += 1
        self.open.add(scope)
        outer = self.scopes
        self.scopes = scopes = (*outer, scope)
        exits_before = len(self.exits)
        items: list[_Item] = []
        name = chain.name
        boxes, rule_box, memo, shadow = p.boxes, p.rule_box, p.universe_memo, p.shadow
        index, instances, open_scopes = self.index, self.state.instances, self.open
        psimple = path.simple
        p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12, p13 = path.h
        for rule in chain.rules:
            kind = rule.action.kind
            if kind is _CONTINUE:
                continue
            rid = id(rule)
            if rid not in order:
                order[rid] = len(order)
            if rid not in own:
                own[rid] = len(own)
            rbox = boxes.get(rid, _NO_BOX)
            if rbox is _NO_BOX:
                rbox = rule_box(rule)
            box: Box | None
            if rbox is None:
                box = None
            elif psimple and rbox.simple:  # _intersect(path, rbox), inlined
                a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13 = rbox.h
                if a6 < p6:
                    a6 = p6
                if a7 > p7:
                    a7 = p7
                if a4 < p4:
                    a4 = p4
                if a5 > p5:
                    a5 = p5
                if a12 < p12:
                    a12 = p12
                if a13 > p13:
                    a13 = p13
                if a8 < p8:
                    a8 = p8
                if a9 > p9:
                    a9 = p9
                if a10 < p10:
                    a10 = p10
                if a11 > p11:
                    a11 = p11
                if a0 < p0:
                    a0 = p0
                if a1 > p1:
                    a1 = p1
                if a2 < p2:
                    a2 = p2
                if a3 > p3:
                    a3 = p3
                if a6 > a7 or a4 > a5 or a12 > a13 or a8 > a9 or a10 > a11 or a0 > a1 or a2 > a3:
                    box = None
                else:
                    box = _new(Box)
                    box.h = h = (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13)
                    box._s = None
                    box.multi = ()
                    box.simple = True
                    if (kind is _ACCEPT or kind is _DROP or kind is _REJECT) and memo is not None and not (
                            self.exits or rule.unsupported):
                        # The common case, as decide() with its parts() inlined: one universe part holding the box.
                        universe = memo.get((a8, a9))
                        if universe is None:
                            universe = memo[(a8, a9)] = p.universe_for_protocols(a8, a9)
                        cls, _, narrower = universe[0] if len(universe) == 1 else (0, box, None)
                        if narrower is not None:
                            for i, lo, hi in narrower:
                                if h[i] < lo or h[i + 1] > hi:
                                    break
                            else:
                                verdict = TERMINAL_VERDICT[kind]
                                entries = index.meeting(box, open_scopes)
                                if entries:
                                    items.append((rid, self.terminal(rule, name, verdict, (), box, [(cls, box)],
                                                                     entries)))
                                    continue
                                # Nothing blocks the box: it is live, its witness the first pick (see decide()).
                                self.seq = seq = self.seq + 1
                                previous = shadow.get(rid)
                                if previous is None:
                                    shadow[rid] = (rule, True, None, True)
                                else:  # as note_shadow(rule, True, None)
                                    shadow[rid] = (rule, True, previous[2], previous[3] and previous[2] is None)
                                live: _Node = _new(_Node)
                                live.kind = _TERMINAL
                                live.rule = rule
                                live.chain = name
                                live.verdict = verdict
                                live.reasons = ()
                                live.box = box
                                live.point = _pick(box) if a4 != a5 or a6 != a7 else _pick_hosts(box)
                                live.first = True
                                live.cls = cls
                                live.live = True
                                live.blockers = []
                                live.limit = seq
                                live.scopes = scopes
                                live.scope = -1
                                live.children = []
                                instances.append(live)
                                entry = _new(_Entry)
                                entry.seq = seq
                                entry.box = box
                                entry.rule = rule
                                entry.scope = -1
                                index.add(entry)
                                items.append((rid, live))
                                continue
            else:
                box = _intersect(path, rbox)
            node: _Node | None = None
            if box is None:
                if rule.match.matches_new and kind is not _RETURN:
                    p.note_shadow(rule, False, None)
            elif rule.unsupported or kind is _UNKNOWN:
                node = self.terminal(rule, name, Verdict.UNKNOWN, _rule_reasons(rule), box)
            elif kind is _ACCEPT or kind is _DROP or kind is _REJECT:
                if box.simple and not self.exits:
                    node = self.decide(rule, name, TERMINAL_VERDICT[kind], box)
                else:
                    node = self.terminal(rule, name, TERMINAL_VERDICT[kind], (), box)
            elif kind is _RETURN:
                self.exit(rule, box, scope)
            else:
                target = _jump_target(p.ruleset, rule, stack)
                if isinstance(target, tuple):
                    node = self.terminal(rule, name, Verdict.UNKNOWN, target, box)
                else:
                    region = self.region(box)
                    reached = region[0] is not None
                    p.note_shadow(rule, reached, None if reached else _coverer(region[3], region[4]))
                    if reached:
                        node = _Node(_JUMP, rule, name, None, (), box, region, self.seq + 1, scopes)
                        node.children = self.chain(target, box, (*stack, target.name))
                        if kind is ActionKind.GOTO:
                            self.exit(rule, box, scope)
            items.append((rid, node))
        # close the scope: its exits stop blocking
        self.open.discard(scope)
        del self.exits[exits_before:]
        self.scopes = outer
        return items

    def decide(self, rule: Rule, chain: str, verdict: Verdict, box: Box) -> _Node | None:
        """:meth:`terminal` for a rule of a simple ``box`` with no exit live before it; inlined for the common case
        of one universe part that no earlier box meets (then the witness is the part's first pick)."""
        parts = self.parts(box)
        if len(parts) != 1:
            return self.terminal(rule, chain, verdict, (), box, parts)
        cls, part = parts[0]
        entries = self.index.meeting(part, self.open)
        if entries:
            return self.terminal(rule, chain, verdict, (), box, parts, entries)
        self.seq = seq = self.seq + 1
        shadow = self.p.shadow
        key = id(rule)
        previous = shadow.get(key)
        if previous is None:
            shadow[key] = (rule, True, None, True)
        else:  # as note_shadow(rule, True, None)
            shadow[key] = (rule, True, previous[2], previous[3] and previous[2] is None)
        node: _Node = _new(_Node)
        node.kind = _TERMINAL
        node.rule = rule
        node.chain = chain
        node.verdict = verdict
        node.reasons = ()
        node.box = box
        node.point = _pick(part)
        node.first = True
        node.cls = cls
        node.live = True
        node.blockers = []
        node.limit = seq
        node.scopes = self.scopes
        node.scope = -1
        node.children = []
        self.state.instances.append(node)
        self.index.add(_Entry(seq, box, rule, -1))
        return node

    def exit(self, rule: Rule, box: Box, scope: int) -> None:
        region = self.region(box)
        self.seq += 1
        node = _Node(_EXIT, rule, "", None, (), box, region, self.seq, self.scopes, scope)
        self.state.instances.append(node)
        if node.live:
            entry = _Entry(self.seq, box, rule, scope)
            self.index.add(entry)
            self.exits.append(entry)

    def terminal(self, rule: Rule | None, chain: str, verdict: Verdict, reasons: tuple[str, ...],
                 box: Box, parts: list[tuple[int, Box]] | None = None,
                 entries: list[_Entry] | None = None) -> _Node | None:
        region = self.region(box, parts, entries)
        self.seq += 1
        live = region[0] is not None
        if rule is not None:
            self.p.note_shadow(rule, live, None if live else _coverer(region[3], region[4]))
        node = _Node(_TERMINAL, rule, chain, verdict, reasons, box, region, self.seq, self.scopes)
        self.state.instances.append(node)
        if not live:
            return None
        # Later places are blocked by this box minus the exits live here (see the module docstring).
        pieces = [box]
        for ex in self.exits:
            if _meets(ex.box, box):
                pieces = [q for piece in pieces for q in _minus(piece, ex.box)]
        for piece in pieces:
            self.index.add(_Entry(self.seq, piece, rule, -1))
        return node


def _coverer(entries: list[_Entry], parts: list[Box]) -> Rule | None:
    """The earliest rule whose blocking entry alone covers every part."""
    best: _Entry | None = None
    for e in entries:
        if e.rule is not None and (best is None or e.seq < best.seq) and all(_subset(q, e.box) for q in parts):
            best = e
    return None if best is None else best.rule


class _Query:
    """One :func:`outcomes` call over a prepared ruleset."""

    def __init__(self, prepared: Prepared) -> None:
        self.p = prepared
        self.order: dict[int, int] = {}
        self.found: dict[object, tuple[tuple[int, int], Outcome]] = {}

    def run(self, base: int, queries: list[tuple[int, Box]], excluded: list[Box]) -> None:
        state = self.p.bases[base]
        self.walk(base, state, state.items, queries, excluded)

    def walk(self, base: int, state: _BaseState, items: list[_Item], queries: list[tuple[int, Box]],
             excluded: list[Box]) -> None:
        order = self.order
        found = self.found
        last = base == len(self.p.bases) - 1
        blockers = self.p.blockers
        index = state.index
        packet = self.p.packet
        # The first query part of each class: its hulls and, per dimension of several intervals, a fast membership.
        firsts: dict[int, tuple[tuple[int, ...], tuple[tuple[int, frozenset[int] | IntervalSet], ...]]] = {}
        for cls, q in queries:
            if cls not in firsts:
                firsts[cls] = (q.h, () if q.simple else tuple((i, _members(q.s[i])) for i in q.multi))
        for rid, node in items:
            if rid is None:
                rank = _POLICY_RANK
            else:
                rank = order.get(rid, -1)
                if rank < 0:
                    rank = order[rid] = len(order)
            if node is None:
                continue
            point: Point | None = None
            k = node.cls
            if node.first:  # the universe witness, when the query holds it, is the query's own first pick
                first = firsts.get(k)
                if first is not None:
                    w = node.point
                    assert w is not None
                    w0, w1, w2, w3, w4, w5, w6 = w
                    h, members = first
                    if not (w3 < h[6] or w3 > h[7] or w2 < h[4] or w2 > h[5] or w6 < h[12] or w6 > h[13]
                            or w4 < h[8] or w4 > h[9] or w5 < h[10] or w5 > h[11] or w0 < h[0] or w0 > h[1]
                            or w1 < h[2] or w1 > h[3]):
                        for i, m in members:
                            if w[i] not in m:
                                break
                        else:
                            point = w
                            for e in excluded:
                                h = e.h
                                if (w3 < h[6] or w3 > h[7] or w2 < h[4] or w2 > h[5] or w6 < h[12] or w6 > h[13]
                                        or w4 < h[8] or w4 > h[9] or w5 < h[10] or w5 > h[11] or w0 < h[0]
                                        or w0 > h[1] or w1 < h[2] or w1 > h[3]):
                                    continue
                                if e.simple or _contains(e, w):
                                    point = None
                                    break
            if point is None:
                box = node.box
                for cls, q in queries:
                    if cls < k:  # no packet of an earlier class reaches this place at all
                        continue
                    part = _intersect(q, box)
                    if part is None:
                        continue
                    # _find's first try is the part's own first pick: when no excluded or blocking box holds it,
                    # that is the answer, found without listing the blocking boxes.
                    pick = _pick(part)
                    for e in excluded:
                        if _contains(e, pick):
                            break
                    else:
                        if not index.stab(pick, node.scopes, node.limit):
                            point = pick
                            break
                    point = _find(part, _meeting_boxes(excluded, part) + blockers(state, node, part))
                    if point is not None:
                        break
                if point is None:
                    continue
            if node.kind == _JUMP:
                self.walk(base, state, node.children, queries, excluded)
            elif node.verdict is Verdict.ACCEPT and not last:
                box = node.box
                parts = [(cls, part) for cls, part in ((c, _intersect(q, box)) for c, q in queries)
                         if part is not None]
                self.run(base + 1, parts, _meeting_boxes(excluded, box) + blockers(state, node, box))
            else:
                rule = node.rule
                key: object = id(rule) if rule is not None else ("policy", node.chain)
                if key not in found:
                    found[key] = ((base, rank), Outcome(node.verdict or Verdict.UNKNOWN, rule, node.chain,
                                                        packet(point), node.reasons))


def _members(s: IntervalSet) -> frozenset[int] | IntervalSet:
    """``s`` for membership tests: a frozenset when it holds few values."""
    if s.size() <= 1024:
        return frozenset(v for lo, hi in s.intervals for v in range(lo, hi + 1))
    return s


_SETTLE_INSTANCES = 10_000  # a universe pass this large moves the objects it made to the oldest generation


def _settle() -> None:
    """Move every object the collector tracks to its oldest generation without examining it (freeze, then unfreeze).

    A large parse and universe pass leave millions of long-lived objects in the young generations (both run with
    the collector disabled); the next young collections would walk them all (about 1.5 s for 100,000 rules) only
    to promote them. Collection is never skipped: cyclic garbage that is young now is found by the next full
    collection instead."""
    gc.freeze()
    gc.unfreeze()


# Prepared analyses per ruleset (a few interface lists each), kept while the ruleset lives.
_PREPARED: dict[int, tuple[weakref.ref[Ruleset], list[Prepared]]] = {}
_PREPARED_PER_RULESET = 4


def _prepared(ruleset: Ruleset, ifs: _Interfaces, given: Prepared | None = None) -> Prepared:
    names = ifs.names
    if given is not None and given.valid_for(ruleset, names):
        return given
    cached = _PREPARED.get(id(ruleset))
    if cached is not None and cached[0]() is ruleset:
        for found in cached[1]:
            if found.names == tuple(names) and found.unchanged(ruleset):
                return found
    prepared = Prepared(ruleset, ifs)
    _remember(ruleset, prepared)
    return prepared


def _remember(ruleset: Ruleset, prepared: Prepared) -> None:
    for key in [k for k, v in _PREPARED.items() if v[0]() is None]:
        del _PREPARED[key]
    key = id(ruleset)
    cached = _PREPARED.get(key)
    if cached is None or cached[0]() is not ruleset:

        def forget(ref: weakref.ref[Ruleset]) -> None:
            found = _PREPARED.get(key)
            if found is not None and found[0] is ref:
                del _PREPARED[key]

        cached = _PREPARED[key] = (weakref.ref(ruleset, forget), [])
    kept = [p for p in cached[1] if p.names != prepared.names and p.fingerprint == prepared.fingerprint]
    cached[1][:] = [*kept[-(_PREPARED_PER_RULESET - 1):], prepared]


def prepare(ruleset: Ruleset, interfaces: Sequence[str] = ()) -> Prepared:
    """The query-independent analysis of ``ruleset`` (see :class:`Prepared`), to pass as ``prepared=`` to
    :func:`outcomes`, :func:`shadowed_rules` and :func:`redundant_rules` called with the same ``interfaces`` (and
    queries whose interface names are among them). The functions also keep prepared analyses of the rulesets they
    see, while those live and stay unmodified; an explicit one just makes that independent of the cache."""
    return _prepared(ruleset, _interfaces(ruleset, interfaces))


# ---------------------------------------------------------------------------------------------------------------
# Queries


def _space_box(space: Space, ifs: _Interfaces) -> Box | None:
    return _make((ifs.full if space.in_iface is None else ifs.of_names(space.in_iface),
                  ifs.full if space.out_iface is None else ifs.of_names(space.out_iface),
                  space.src, space.dst, space.proto, space.sport, space.dport))


def _split_classes(box: Box, addresses: IntervalSet) -> tuple[list[tuple[int, Box]], list[Box]]:
    """``box`` as real packets: same-family addresses, ports 0 for protocols without ports. Returns the parts the
    ruleset filters, each with its class (0 IPv4 with ports, 1 IPv4 without, 2 and 3 the same for IPv6; best first)
    and the parts of a family the ruleset does not filter."""
    analysed: list[tuple[int, Box]] = []
    unknown: list[Box] = []
    for number, family in enumerate((IPV4_ADDRESSES, IPV6_ADDRESSES)):
        b = box.s
        src, dst = b[SRC].intersection(family), b[DST].intersection(family)
        if not src or not dst:
            continue
        for kind, (protos, ports) in enumerate(((b[PROTO].intersection(PORT_PROTOCOLS), None),
                                                (b[PROTO].difference(PORT_PROTOCOLS), _ZERO))):
            sport = b[SPORT] if ports is None else b[SPORT].intersection(ports)
            dport = b[DPORT] if ports is None else b[DPORT].intersection(ports)
            part = _make((b[IN], b[OUT], src, dst, protos, sport, dport))
            if part is None:
                continue
            inside = _make((b[IN], b[OUT], src.intersection(addresses), dst.intersection(addresses), protos,
                            sport, dport))
            if inside is not None:
                analysed.append((2 * number + kind, inside))
                unknown.extend(_minus(part, inside))
            else:
                unknown.append(part)
    return analysed, unknown


def outcomes(ruleset: Ruleset, query: Space, *, exclude: Sequence[Space] = (), interfaces: Sequence[str] = (),
             prepared: Prepared | None = None) -> list[Outcome]:
    """Every rule or chain policy deciding at least one new packet of ``query`` minus the ``exclude`` boxes, in
    rule order (policies after their chain's rules), each with an exact witness packet.

    Packets are real ones: source and destination of one address family, ports 0 unless the protocol has ports.
    Interfaces range over ``interfaces``, the names the query and the rules mention, and one made-up name per
    class of names the rules cannot tell apart. The part of the query the ruleset does not filter (another address
    family) is one UNKNOWN outcome with no rule and chain "".

    ``prepared`` (from :func:`prepare`) is used when it fits the ruleset and the interface names; otherwise the
    ruleset's cached preparation is used or made. Repeated queries on one ruleset share it.
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
    analysed, foreign = _split_classes(qbox, ruleset.addresses)
    result: list[Outcome] = []
    if analysed:
        if ruleset.forward:
            prep = _prepared(ruleset, ifs, prepared)
            ifs = prep.ifs
            run = _Query(prep)
            enabled = gc.isenabled()
            gc.disable()
            try:
                run.run(0, analysed, excluded)
            finally:
                if enabled:
                    gc.enable()
            result.extend(o for _, o in sorted(run.found.values(), key=operator.itemgetter(0)))
        else:
            for _, part in analysed:
                point = _find(part, [b for b in excluded if _meets(b, part)])
                if point is not None:
                    result.append(Outcome(Verdict.ACCEPT, None, "", _packet(ifs, point)))
                    break
    for part in foreign:
        point = _find(part, [b for b in excluded if _meets(b, part)])
        if point is not None:
            result.append(Outcome(Verdict.UNKNOWN, None, "", _packet(ifs, point), (FAMILY_REASON,)))
            break
    return result


_ADDRESSES: dict[int, ipaddress.IPv4Address | ipaddress.IPv6Address] = {}


def _address(value: int) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """``value_address(value)``, remembered (the addresses are immutable; witnesses repeat a few hosts)."""
    found = _ADDRESSES.get(value)
    if found is None:
        if len(_ADDRESSES) > 100_000:
            _ADDRESSES.clear()
        found = _ADDRESSES[value] = value_address(value)
    return found


def _packet(ifs: _Interfaces, p: Point) -> Packet:
    return Packet(src=value_address(p[SRC]), dst=value_address(p[DST]), proto=p[PROTO], sport=p[SPORT],
                  dport=p[DPORT], in_iface=ifs.names[p[IN]], out_iface=ifs.names[p[OUT]])


_WARNED = (ActionKind.ACCEPT, ActionKind.DROP, ActionKind.REJECT, ActionKind.JUMP, ActionKind.GOTO)


def shadowed_rules(ruleset: Ruleset, *, interfaces: Sequence[str] = (),
                   prepared: Prepared | None = None) -> list[tuple[Rule, Rule | None]]:
    """Rules on the forwarding path (accept, drop, reject, jump, goto) that no new packet reaching them meets.

    A rule is reported when it sits in a chain the forwarding path reaches and in none of its inlined places can a
    packet reach it with its match satisfied. The second element is the earliest rule that alone covers it (in
    every place), else None (several rules together cover it, or the rule can never match there). Each base chain
    is analysed as if every packet entered it, so with several base chains a rule shadowed only by an earlier base
    chain is not reported. Rules that only match established traffic are not reported.
    """
    prep = _prepared(ruleset, _interfaces(ruleset, interfaces), prepared)
    out: list[tuple[int, Rule, Rule | None]] = []
    for rule, live, cover, same in prep.shadow.values():
        if not live and rule.action.kind in _WARNED:
            out.append((prep.order.get(id(rule), 0), rule, cover if same else None))
    out.sort(key=lambda item: item[0])
    return [(rule, cover) for _, rule, cover in out]


def redundant_rules(ruleset: Ruleset, *, interfaces: Sequence[str] = (),
                    prepared: Prepared | None = None) -> list[tuple[Rule, Rule]]:
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
    prep = _prepared(ruleset, _interfaces(ruleset, interfaces), prepared)
    queries = [box for _, box in prep.universe]
    found: dict[int, tuple[Rule, Rule | None]] = {}
    order: dict[int, int] = {}
    enabled = gc.isenabled()
    gc.disable()
    try:
        for base, state in enumerate(prep.bases):
            for rule_id, rank in state.order.items():
                order.setdefault(rule_id, rank + base * (1 << 40))
            instances = state.instances
            index = state.instance_index
            if index is None:
                index = state.instance_index = _Index()
                for position, inst in enumerate(instances):
                    index.add(_Entry(position, inst.box, inst.rule, -1))
            for position, inst in enumerate(instances):
                if (inst.kind != _TERMINAL or not inst.live or inst.rule is None
                        or inst.verdict not in (Verdict.ACCEPT, Verdict.DROP, Verdict.REJECT)):
                    continue
                partner = _redundant_with(state, inst, position, instances, index, queries)
                key = id(inst.rule)
                if key not in found:
                    found[key] = (inst.rule, partner)
                elif partner is None:
                    found[key] = (inst.rule, None)
    finally:
        if enabled:
            gc.enable()
    out = sorted(((order.get(k, 0), r, j) for k, (r, j) in found.items() if j is not None), key=lambda t: t[0])
    return [(r, j) for _, r, j in out if j is not None]


def _redundant_with(state: _BaseState, r: _Node, position: int, instances: list[_Node], index: _Index,
                    queries: list[Box]) -> Rule | None:
    parts = [p for p in (_intersect(q, r.box) for q in queries) if p is not None]

    def meets_effective(box: Box) -> bool:
        for part in parts:
            inner = _intersect(part, box)
            if inner is not None and _find(inner, Prepared.blockers(state, r, inner)) is not None:
                return True
        return False

    def covers_effective(box: Box) -> bool:
        for part in parts:
            for piece in _minus(part, box):
                if _find(piece, Prepared.blockers(state, r, piece)) is not None:
                    return False
        return True

    leaving: set[int] = set()
    later = sorted(e.seq for e in _meeting(index.query(r.box), r.box) if e.seq > position)
    for k in later:
        other = instances[k]
        if other.kind != _TERMINAL:
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
