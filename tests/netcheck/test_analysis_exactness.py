"""The faster universe pass, index and iptables reader give the very answers of the engine before them (ADR 0008).

* Golden digests: outcomes (verdicts, rules, witness packets), shadowed and redundant rules of generated and random
  rulesets, recorded with the engine before the speed-up; a change of any witness changes the digest.
* The blocking-box index: every query answers the entries meeting a box in the order of the original index (a
  reference copy below), which decides the witnesses the search finds.
* The iptables reader's path for common rule shapes gives the same ruleset as the general reader, errors included.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import random
import re

import pytest

from mamoru.netcheck import analysis
from mamoru.netcheck.analysis import (
    Box,
    Space,
    _Entry,
    _hbox,
    _holding,
    _Index,
    _intersect,
    _meeting,
    _subset,
    outcomes,
    redundant_rules,
    shadowed_rules,
)
from mamoru.netcheck.generate import INTERFACES, ZONES, gateways, generate_iptables, generate_ruleset
from mamoru.netcheck.model import (
    ALL_ADDRESSES,
    ALL_PORTS,
    ALL_PROTOCOLS,
    V4_BASE,
    IntervalSet,
    ParseError,
    Rule,
    Ruleset,
    parse_network,
    protocol_number,
)
from mamoru.netcheck.parsers import iptables
from mamoru.netcheck.parsers.iptables import parse_iptables

# ---------------------------------------------------------------------------------------------------------------
# Golden digests


def random_iptables(seed: int, rules: int) -> str:
    """iptables-save text over a small address space: overlaps, jumps, gotos, returns, negations, multiport, ranges,
    unmodelled matches and targets, interface wildcards."""
    rng = random.Random(seed)
    nets = ["10.0.0.0/24", "10.0.0.0/25", "10.0.0.128/25", "10.0.1.0/24", "10.0.0.0/16", "10.0.0.0/8"]

    def address() -> str:
        return f"10.0.{rng.randrange(2)}.{rng.randrange(8)}" if rng.random() < 0.6 else rng.choice(nets)

    users = [f"U{i}" for i in range(rng.randint(1, 5))]
    body: dict[str, list[str]] = {c: [] for c in ["FORWARD", *users]}
    ports = [22, 25, 53, 80, 443, 8080]
    for _ in range(rules):
        chain = rng.choice(["FORWARD", "FORWARD", *users])
        parts = [f"-A {chain}"]
        for option, chance in (("-s", 0.7), ("-d", 0.7)):
            if rng.random() < chance:
                parts.append(("! " if rng.random() < 0.05 else "") + f"{option} {address()}")
        if rng.random() < 0.3:
            parts.append(f"-i {rng.choice(['eth1', 'eth2', 'eth3', 'eth+', 'wan0'])}")
        if rng.random() < 0.3:
            parts.append(("! " if rng.random() < 0.1 else "") + f"-o {rng.choice(['eth1', 'eth2', 'eth3', 'eth+'])}")
        r = rng.random()
        if r < 0.6:
            proto = rng.choice(["tcp", "tcp", "udp"])
            parts.append(f"-p {proto}")
            r = rng.random()
            if r < 0.5:
                parts.append(f"-m {proto} --dport {rng.choice(ports)}")
            elif r < 0.6:
                parts.append(f"-m {proto} --dport {rng.choice([1000, 8000])}:{rng.choice([8080, 9000])}")
            elif r < 0.7:
                parts.append("-m multiport --dports " + ",".join(map(str, sorted(rng.sample(ports, 3)))))
            elif r < 0.75:
                parts.append(f"-m {proto} ! --dport {rng.choice(ports)}")
            elif r < 0.8:
                parts.append(f"-m {proto} --sport {rng.choice([1024, 40000])}:65535")
        elif r < 0.7:
            parts.append("-p icmp")
        elif r < 0.75:
            parts.append("-m iprange --src-range 10.0.0.3-10.0.1.5")
        if rng.random() < 0.03:
            parts.append("-m conntrack --ctstate ESTABLISHED")
        if rng.random() < 0.02:
            parts.append("-m limit --limit 5/s")
        later = users[users.index(chain) + 1:] if chain in users else users
        t = rng.random()
        if t < 0.3:
            parts.append("-j ACCEPT")
        elif t < 0.5:
            parts.append("-j DROP")
        elif t < 0.55:
            parts.append("-j REJECT --reject-with icmp-port-unreachable")
        elif t < 0.7 and later:
            parts.append(f"-j {rng.choice(later)}")
        elif t < 0.75 and later:
            parts.append(f"-g {rng.choice(later)}")
        elif t < 0.82 and chain != "FORWARD":
            parts.append("-j RETURN")
        elif t < 0.85:
            parts.append('-j LOG --log-prefix "x: "')
        elif t < 0.86:
            parts.append("-j NFQUEUE")
        else:
            parts.append("-j ACCEPT")
        body[chain].append(" ".join(parts))
    policy = rng.choice(["ACCEPT", "DROP"])
    lines = ["*filter", ":INPUT ACCEPT [0:0]", f":FORWARD {policy} [0:0]", ":OUTPUT ACCEPT [0:0]",
             *(f":{c} - [0:0]" for c in users), *(rule for c in body for rule in body[c]), "COMMIT"]
    return "\n".join(lines) + "\n"


def random_queries(seed: int, count: int) -> list[tuple[Space, list[Space]]]:
    rng = random.Random(seed)

    def addresses() -> IntervalSet:
        r = rng.random()
        if r < 0.3:
            return ALL_ADDRESSES
        if r < 0.6:
            return parse_network(rng.choice(["10.0.0.0/24", "10.0.0.0/16", "10.0.1.0/24", "10.0.0.0/30"]))
        value = V4_BASE + int(ipaddress.IPv4Address(f"10.0.{rng.randrange(2)}.{rng.randrange(8)}"))
        return IntervalSet.span(value, value + rng.randrange(4))

    def interfaces() -> frozenset[str] | None:
        if rng.random() < 0.5:
            return None
        return frozenset(rng.sample(["eth1", "eth2", "eth3", "wan0"], rng.randint(1, 2)))

    queries = []
    for _ in range(count):
        proto = rng.choice([ALL_PROTOCOLS, IntervalSet.point(6), IntervalSet.point(17),
                            IntervalSet([(6, 6), (17, 17)])])
        dport = rng.choice([ALL_PORTS, IntervalSet.point(80), IntervalSet.span(1, 1024)])
        query = Space(interfaces(), interfaces(), addresses(), addresses(), proto, ALL_PORTS, dport)
        exclude = [Space(interfaces(), None, addresses(), addresses(),
                         rng.choice([ALL_PROTOCOLS, IntervalSet.point(6)]),
                         dport=rng.choice([ALL_PORTS, IntervalSet.point(80), IntervalSet.point(443)]))
                   for _ in range(rng.randint(0, 3))]
        queries.append((query, exclude))
    return queries


def zone_queries() -> list[tuple[Space, list[Space]]]:
    queries = []
    for a in ZONES:
        for b in ZONES:
            if a is not b:
                query = Space(frozenset({a.interface}), frozenset({b.interface}), parse_network(a.network),
                              parse_network(b.network))
                exclude = [Space(None, None, parse_network(g.src), parse_network(g.dst),
                                 IntervalSet.point(protocol_number(g.proto)), dport=IntervalSet.point(g.dport))
                           for g in gateways(a, b)]
                queries.append((query, exclude))
    queries.append((Space(None, None, ALL_ADDRESSES, ALL_ADDRESSES), []))
    return queries


def answers_digest(ruleset: Ruleset, queries: list[tuple[Space, list[Space]]], interfaces: tuple[str, ...]) -> str:
    """A digest of every answer: outcomes (verdict, rule line, chain, witness, reasons), shadowed, redundant rules."""

    def line(rule: Rule | None) -> int | None:
        return None if rule is None else rule.origin.line

    found: list[object] = []
    for query, exclude in queries:
        for o in outcomes(ruleset, query, exclude=exclude, interfaces=interfaces):
            p = o.example
            found.append([str(o.verdict), line(o.rule), o.chain, str(p.src), str(p.dst), p.proto, p.sport, p.dport,
                          p.in_iface, p.out_iface, list(o.unknown)])
    found.append([[line(r), line(c)] for r, c in shadowed_rules(ruleset, interfaces=interfaces)])
    found.append([[line(r), line(c)] for r, c in redundant_rules(ruleset, interfaces=interfaces)])
    return hashlib.sha256(json.dumps(found).encode()).hexdigest()


# Recorded with the engine before the speed-up of the universe pass, index and reader (same rulesets and queries).
GOLDEN_GENERATED = {
    (2000, 3): "af78d919c82d7dcdfee3a4f03fb3fe4feed34f2ed7467b8dfb5fc4b6695018d9",
    (6000, 11): "890d2e05d379104d926d08679ca583a37c0f4520932ec522a738e3d7455a3777",
}
GOLDEN_RANDOM: dict[tuple[int, int], str] = {  # (seed, rules)
    (1, 120): "7b9769c59cdd1e5bc5ee8fea82cc377bb2d8329dac331ccb5ebfc57c930ff8c6",
    (2, 200): "47d0ed49fc8ea13fee59e6d879ff19e0505560e34b0630c85cda9c74842bdc92",
    (3, 300): "287fef8e24e8b4b7a335bace9a234be0cfa0014b7ce0722f43f262d5a17b1451",
    (5, 60): "5dfc035f15128669a84e75cfd7615922efba755e3640b9710e22df60d15ef684",
    (6, 120): "ad7cc111347ff0154657bf384dd19b00744b5aef2044d4207baa663e4274664c",
    (7, 200): "e6d18f957c39432a7f779ba12d3b364aa92ec8cdef318bf14876703552b2590b",
    (9, 400): "6788f217e6f46de2de13c74238def24e0fd35516ed30787771dadaaffc378336",
    (10, 60): "3b7a8ef76845f669f81a8b9b7caf4a90ed3e6f06db3d39daaff19013eba2ffd2",
    (11, 120): "3c89b28accf7fb3881593c72721e387d47386f511dea5da813eb784a7f40e088",
    (12, 200): "93ef24f686f24d191e969965e4cfdf7e0566cc98f4f057520bf9282732959158",
    (13, 300): "35925aaf7e7fbd9265ac07fbf96daefc00cf2eb2381208e86c19d85cd12cf317",
    (14, 400): "2226f20dc0a9f7e3d0320c21a711320877a79f684a16a734d7c9eaa6d63ef0bd",
    (15, 60): "9cfbff5838e57251226c580e71735ee693c8128867cdf03b61e8f7f754db42be",
    (16, 120): "e5a64f71635f423b45ea617d2e92d23e8b0e7427af878ab42ce23177f2392d30",
}


@pytest.mark.parametrize(("rules", "seed"), sorted(GOLDEN_GENERATED))
def test_generated_answers_match_the_previous_engine(rules: int, seed: int) -> None:
    expected = GOLDEN_GENERATED[(rules, seed)]
    parsed = parse_iptables(generate_iptables(rules, seed=seed), source="generated.rules")
    assert answers_digest(parsed, zone_queries(), INTERFACES) == expected
    assert answers_digest(generate_ruleset(rules, seed=seed), zone_queries(), INTERFACES) == expected


@pytest.mark.parametrize(("seed", "rules"), sorted(GOLDEN_RANDOM))
def test_random_answers_match_the_previous_engine(seed: int, rules: int) -> None:
    ruleset = parse_iptables(random_iptables(seed, rules), source="random.rules")
    interfaces = ("eth1", "eth2") if seed % 2 else ()
    assert answers_digest(ruleset, random_queries(seed, 6), interfaces) == GOLDEN_RANDOM[(seed, rules)]


# ---------------------------------------------------------------------------------------------------------------
# The blocking-box index against the original one


def level(lo: int, hi: int) -> int:
    return ((lo ^ hi).bit_length() + 7) // 8 * 8


class ReferenceIndex:
    """The original index, without its caches: boxes grouped by single inbound and outbound interface (-1: several),
    then single destination port (-1: several), then (narrower address dimension, level) grids of buckets; a query
    visits the grids of the groups and ports that can meet the box, in dictionary order, and a grid's buckets in
    ascending key order when the key range is narrower than the bucket count and 4096, else in dictionary order."""

    def __init__(self) -> None:
        self.groups: dict[tuple[int, int], dict[int, dict[tuple[int, int], dict[int, list[_Entry]]]]] = {}
        self.entries: list[_Entry] = []

    def add(self, entry: _Entry) -> None:
        h = entry.box.h
        pair = (h[0] if h[0] == h[1] else -1, h[2] if h[2] == h[3] else -1)
        grids = self.groups.setdefault(pair, {}).setdefault(h[12] if h[12] == h[13] else -1, {})
        ls, ld = level(h[4], h[5]), level(h[6], h[7])
        key, lo = ((0, ls), h[4]) if ls < ld else ((1, ld), h[6])
        grids.setdefault(key, {}).setdefault(lo >> key[1], []).append(entry)
        self.entries.append(entry)

    def query(self, box: Box) -> list[_Entry]:
        h = box.h
        i0, i1, o0, o1, d0, d1 = h[0], h[1], h[2], h[3], h[12], h[13]
        if i0 == i1 and o0 == o1:
            pairs = [self.groups.get(p) for p in ((i0, o0), (i0, -1), (-1, o0), (-1, -1))]
        else:
            pairs = [g for (i, o), g in self.groups.items()
                     if (i == -1 or i0 <= i <= i1) and (o == -1 or o0 <= o <= o1)]
        out: list[_Entry] = []
        for ports in pairs:
            if not ports:
                continue
            if d0 == d1:
                selected = [g for g in (ports.get(d0), ports.get(-1)) if g]
            else:
                selected = [g for d, g in ports.items() if d == -1 or d0 <= d <= d1]
            for grids in selected:
                for (dim, level), grid in grids.items():
                    a, b = (h[4] >> level, h[5] >> level) if dim == 0 else (h[6] >> level, h[7] >> level)
                    if b - a < len(grid) and b - a < 4096:
                        keys = [k for k in range(a, b + 1) if k in grid]
                    else:
                        keys = [k for k in grid if a <= k <= b]
                    for k in keys:
                        out += grid[k]
        return out


def random_box(rng: random.Random, base: int, interfaces: int) -> Box:
    def interval(lo: int, hi: int, widths: list[int]) -> tuple[int, int]:
        width = rng.choice(widths)
        start = lo + rng.randrange(max(hi - lo + 1 - width, 1)) // max(width, 1) * max(width, 1)
        return start, min(start + width - 1, hi)

    def interface() -> tuple[int, int]:
        return (0, interfaces - 1) if rng.random() < 0.2 else (lambda i: (i, i))(rng.randrange(interfaces))

    address = [1, 1, 1, 4, 256, 256, 1 << 16, 1 << 32]
    i, o = interface(), interface()
    src, dst = interval(base, base + 2047, address), interval(base, base + 2047, address)
    proto = rng.choice([(6, 6), (17, 17), (0, 255), (6, 17)])
    sport = rng.choice([(0, 65535), (1024, 65535)])
    dport = rng.choice([(22, 22), (80, 80), (443, 443), (0, 65535), (8000, 8099), (80, 443)])
    box = _hbox((*i, *o, *src, *dst, *proto, *sport, *dport))
    if rng.random() < 0.15:  # a set of several intervals in one dimension
        sets = list(box.s)
        dim = rng.choice([analysis.DPORT, analysis.PROTO, analysis.SRC])
        lo, hi = box.h[2 * dim], box.h[2 * dim + 1]
        if hi - lo >= 4:
            sets[dim] = IntervalSet([(lo, lo + 1), (hi - 1, hi)])
            box = Box(sets)
    return box


@pytest.mark.parametrize("seed", range(6))
def test_index_answers_in_the_original_order(seed: int) -> None:
    rng = random.Random(seed)
    base = V4_BASE + (10 << 24)
    index, reference = _Index(), ReferenceIndex()
    scopes = [-1] * 8 + [1, 2, 3]
    for seq in range(1, 1501):
        entry = _Entry(seq, random_box(rng, base, 4), None, rng.choice(scopes))
        index.add(entry)
        reference.add(entry)
        if seq % 50:
            continue
        for _ in range(30):
            box = random_box(rng, base, 4)
            open_scopes = set(rng.sample([1, 2, 3], rng.randint(0, 3)))
            limit = rng.randint(1, seq + 1)
            expected = _meeting(reference.query(box), box, open_scopes, limit)
            assert _meeting(index.query(box), box, open_scopes, limit) == expected
            expected = _meeting(reference.query(box), box, open_scopes)
            assert index.meeting(box, open_scopes) == expected
            if box.simple:
                point = analysis._pick(box)
                held = any(e.seq < limit and (e.scope < 0 or e.scope in open_scopes)
                           and analysis._contains(e.box, point) for e in reference.entries)
                assert index.stab(point, open_scopes, limit) == held


# ---------------------------------------------------------------------------------------------------------------
# Box helpers against their plain definitions


@pytest.mark.parametrize("seed", range(4))
def test_box_helpers_match_their_definitions(seed: int) -> None:
    rng = random.Random(100 + seed)
    base = V4_BASE + (10 << 24)
    boxes = [random_box(rng, base, 3) for _ in range(300)]
    for a, b in zip(boxes, boxes[1:] + boxes[:1], strict=True):
        assert _subset(a, b) == all(x.issubset(y) for x, y in zip(a.s, b.s, strict=True))
        inner = _intersect(a, b)
        if inner is not None:
            assert _subset(inner, a) and _subset(inner, b)
            point = analysis._pick(inner)
            assert _holding([a, b], point)
        point = analysis._pick(a)
        assert _holding(boxes, point) == any(analysis._contains(x, point) for x in boxes)


def test_universe_parts_shortcut_matches_the_intersections() -> None:
    """A box inside a universe part is its own part (parts() skips the intersection): same hulls and sets."""
    ruleset = parse_iptables(random_iptables(3, 100), source="r")
    prepared = analysis.prepare(ruleset)
    prepared.ruleset = ruleset  # (as during the pass)
    build = analysis._Build(prepared, 0)
    del prepared.ruleset  # (a prepared analysis must not keep its ruleset alive)
    rng = random.Random(5)
    full = prepared.universe_box.h
    for _ in range(500):
        box = random_box(rng, V4_BASE + (10 << 24), len(prepared.names))
        box = _intersect(box, _hbox(full))
        if box is None:
            continue
        plain = [(cls, part) for cls, part in ((c, _intersect(q, box)) for c, q in prepared.universe) if part]
        found = build.parts(box)
        assert [(c, p.h, p.s) for c, p in found] == [(c, p.h, p.s) for c, p in plain]


# ---------------------------------------------------------------------------------------------------------------
# The iptables reader's common-shape path against the general reader


def ruleset_fields(text: str) -> object:
    try:
        ruleset = parse_iptables(text, source="f")
    except ParseError as error:
        return str(error)

    def interval_set(x: IntervalSet | None) -> object:
        return None if x is None else x.intervals

    return ([(name, chain.policy, chain.policy_origin, chain.hook,
              [(interval_set(r.match.src), interval_set(r.match.dst), interval_set(r.match.proto),
                interval_set(r.match.sport), interval_set(r.match.dport), r.match.in_iface, r.match.out_iface,
                r.match.matches_new, r.action, r.origin, r.unsupported) for r in chain.rules])
             for name, chain in ruleset.chains.items()],
            ruleset.forward, [(u.origin, u.reason) for u in ruleset.unsupported])


VARIANTS = [
    "-s 10.0.0.1/33", "-s 10.0.0.0/255.0.255.0", "-s ! 10.0.0.1", "! -s 10.0.0.1", "-s 10.0.0.1,10.0.0.2",
    "-s host.example", "-p tcp -m tcp --dport 70000", "-p tcp -m tcp --dport ssh", "-p tcp -m udp --dport 22",
    "-p icmp -m icmp --dport 3", "-p 6 -m tcp --dport 22", "-p tcp -m tcp --dport 22:21", "-p tcp -m tcp --dport :1023",
    "-p udp -m multiport --dports 1,2,3:9", "-p icmp -m multiport --dports 1,2", "-p tcp -m multiport --dports 1,http",
    "-p all -m tcp --dport 22", "-p TCP -m TCP --dport 22", "-i eth0/1", "-i " + "x" * 16, "-o eth+", "-p bogus",
    "-j REJECT --reject-with tcp-reset", "-j DROP --reject-with tcp-reset", "-j NFQUEUE", "-j LOG", "-j UNDECLARED",
    "-j undeclared-chain", "-j FORWARD", "-p tcp --dport 22", "-p sctp -m sctp --dport 9", "-p udplite -m multiport "
    "--dports 5", "-s 1.2.3.4  -d 1.2.3.4", "-d 10.0.0.0/8 -s 10.0.0.1", "-p udp -m udp --dport 53 -m comment "
    '--comment "dns"', "-s 10.1.2.3 -d 10.0.0.0/8 -i eth1 -o eth2 -p tcp -m tcp --dport 8000:8099",
]


@pytest.mark.parametrize("variant", VARIANTS)
def test_common_rule_path_reads_as_the_general_reader(variant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = generate_iptables(60, seed=2).splitlines()
    first = next(n for n, line in enumerate(lines) if line.startswith("-A fw-"))
    chain = lines[first].split()[1]
    lines.insert(first, f"-A {chain} {variant}" + ("" if "-j" in variant else " -j ACCEPT"))
    text = "\n".join(lines) + "\n"
    fast = ruleset_fields(text)
    monkeypatch.setattr(iptables, "_COMMON_RULE", re.compile(r"(?!)"))  # every rule through the general reader
    assert fast == ruleset_fields(text)


def test_common_rule_path_reads_generated_rulesets_as_the_general_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    text = generate_iptables(3000, seed=4)
    fast = ruleset_fields(text)
    monkeypatch.setattr(iptables, "_COMMON_RULE", re.compile(r"(?!)"))
    assert fast == ruleset_fields(text)
