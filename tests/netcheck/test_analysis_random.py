"""Brute-force equivalence of the analysis on random small rulesets (fixed seeds, tiny packet universe).

For every random ruleset: every packet of the universe (minus random excluded boxes) goes through
:func:`evaluate`; the set of (verdict, rule, chain) decisions seen must equal the set :func:`outcomes`
returns, and every outcome's witness must lie in the query, outside the excludes, and be decided exactly
so. Shadowed rules must never be reached with their match met; removing a redundant rule must change no
verdict.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import itertools
import random
from collections.abc import Iterator

import pytest

from mamoru.netcheck.analysis import Space, evaluate, outcomes, redundant_rules, shadowed_rules
from mamoru.netcheck.model import (
    ALL_PORTS,
    ALL_PROTOCOLS,
    IPV4_ADDRESSES,
    Action,
    ActionKind,
    Chain,
    InterfaceMatch,
    IntervalSet,
    Match,
    Origin,
    Packet,
    Rule,
    Ruleset,
    Verdict,
    address_value,
    value_address,
)

BASE = address_value(ipaddress.IPv4Address("10.0.0.0"))
IFACES = ["eth0", "eth1", "wan0"]
SRCS = [BASE + i for i in range(4)]
DSTS = [BASE + 8 + i for i in range(4)]
SEEDS = range(120)


def _set(rng: random.Random, lo: int, hi: int, span: int) -> IntervalSet:
    a = rng.randint(lo, hi)
    s = IntervalSet.span(a, min(hi + 2, a + rng.randint(0, span)))
    if rng.random() < 0.2:
        s = s.union(IntervalSet.point(rng.randint(lo, hi)))
    if rng.random() < 0.1:
        s = s.complement(0, hi + 5)
    return s


def _match(rng: random.Random) -> Match:
    kw: dict[str, object] = {}
    if rng.random() < 0.5:
        kw["src"] = _set(rng, BASE, BASE + 4, 2)
    if rng.random() < 0.5:
        kw["dst"] = _set(rng, BASE + 8, BASE + 12, 2)
    if rng.random() < 0.4:
        kw["proto"] = IntervalSet.point(rng.choice([6, 17, 6, 1]))
    if rng.random() < 0.2:
        kw["sport"] = _set(rng, 0, 2, 1)
    if rng.random() < 0.5:
        kw["dport"] = _set(rng, 0, 5, 2)
    if rng.random() < 0.3:
        kw["in_iface"] = InterfaceMatch((rng.choice(["eth0", "eth1", "wan+", "eth+", "lo"]),), rng.random() < 0.3)
    if rng.random() < 0.3:
        kw["out_iface"] = InterfaceMatch((rng.choice(["eth0", "eth1", "wan+", "eth+"]),), rng.random() < 0.3)
    if rng.random() < 0.05:
        kw["matches_new"] = False
    return Match(**kw)  # type: ignore[arg-type]


def random_ruleset(rng: random.Random, multi: bool) -> Ruleset:
    names = [f"U{i}" for i in range(rng.randint(0, 3))]
    bases = ["A", "B"] if multi else ["FORWARD"]
    every = bases + names
    chains: dict[str, Chain] = {}
    line = 0
    for position, name in enumerate(every):
        rules = []
        later = [n for n in names if every.index(n) > position]
        for _ in range(rng.randint(0, 7)):
            line += 1
            r = rng.random()
            if r < 0.25:
                action = Action(ActionKind.ACCEPT)
            elif r < 0.45:
                action = Action(ActionKind.DROP)
            elif r < 0.5:
                action = Action(ActionKind.REJECT)
            elif r < 0.65 and later:
                action = Action(ActionKind.JUMP, rng.choice(later))
            elif r < 0.72 and later:
                action = Action(ActionKind.GOTO, rng.choice(later))
            elif r < 0.8:
                action = Action(ActionKind.RETURN)
            elif r < 0.87:
                action = Action(ActionKind.CONTINUE)
            elif r < 0.9:
                action = Action(ActionKind.UNKNOWN, "FOO")
            elif r < 0.93:
                action = Action(ActionKind.JUMP, rng.choice([*every, "MISSING"]))  # loops and missing chains
            else:
                action = Action(ActionKind.ACCEPT)
            unsupported = ("weird match",) if rng.random() < 0.05 else ()
            rules.append(Rule(_match(rng), action, Origin("t", line, f"rule {line}"), unsupported))
        policy = rng.choice([Verdict.ACCEPT, Verdict.DROP]) if name in bases else None
        chains[name] = Chain(name, rules, policy, hook="forward" if name in bases else None)
    return Ruleset("t", "test", chains, bases, IPV4_ADDRESSES)


UNIVERSE = Space(frozenset(IFACES), frozenset(IFACES), IntervalSet((v, v) for v in SRCS),
                 IntervalSet((v, v) for v in DSTS), IntervalSet([(6, 6), (17, 17)]), IntervalSet.point(40000),
                 IntervalSet.span(1, 4))


def _values(s: IntervalSet) -> list[int]:
    return [v for lo, hi in s for v in range(lo, hi + 1)]


def packets(space: Space) -> Iterator[Packet]:
    assert space.in_iface is not None and space.out_iface is not None
    for i, o, s, d, p, sp, dp in itertools.product(
            sorted(space.in_iface), sorted(space.out_iface), _values(space.src), _values(space.dst),
            _values(space.proto), _values(space.sport), _values(space.dport)):
        yield Packet(value_address(s), value_address(d), p, sp, dp, i, o)


def in_space(space: Space, packet: Packet) -> bool:
    return ((space.in_iface is None or packet.in_iface in space.in_iface)
            and (space.out_iface is None or packet.out_iface in space.out_iface)
            and address_value(packet.src) in space.src and address_value(packet.dst) in space.dst
            and packet.proto in space.proto and packet.sport in space.sport and packet.dport in space.dport)


def random_space(rng: random.Random) -> Space:
    return Space(frozenset(rng.sample(IFACES, rng.randint(1, 3))) if rng.random() < 0.5 else None, None,
                 _set(rng, BASE, BASE + 4, 2), _set(rng, BASE + 8, BASE + 12, 3),
                 IntervalSet.point(rng.choice([6, 17])) if rng.random() < 0.5 else ALL_PROTOCOLS, ALL_PORTS,
                 _set(rng, 0, 5, 3))


def _key(verdict: Verdict, rule: Rule | None, chain: str) -> tuple[Verdict, int | None, str]:
    return verdict, None if rule is None else id(rule), chain


def _meets(rule: Rule, packet: Packet) -> bool:
    m = rule.match
    return (m.matches_new and (m.src is None or address_value(packet.src) in m.src)
            and (m.dst is None or address_value(packet.dst) in m.dst)
            and (m.proto is None or packet.proto in m.proto) and (m.sport is None or packet.sport in m.sport)
            and (m.dport is None or packet.dport in m.dport)
            and (m.in_iface is None or m.in_iface.matches(packet.in_iface or ""))
            and (m.out_iface is None or m.out_iface.matches(packet.out_iface or "")))


def reached(ruleset: Ruleset, packet: Packet) -> set[int]:
    """Ids of the rules the packet reaches with their match met (an independent walk, no verdicts)."""
    seen: set[int] = set()

    def walk(chain: Chain, stack: tuple[str, ...]) -> bool:  # True: decided
        for rule in chain.rules:
            kind = rule.action.kind
            if kind is ActionKind.CONTINUE or not _meets(rule, packet):
                continue
            seen.add(id(rule))
            if rule.unsupported or kind in (ActionKind.ACCEPT, ActionKind.DROP, ActionKind.REJECT,
                                            ActionKind.UNKNOWN):
                return True
            if kind is ActionKind.RETURN:
                return False
            target = ruleset.chains.get(rule.action.target or "")
            if target is None or target.name in stack or len(stack) > 16:
                return True
            if walk(target, (*stack, target.name)):
                return True
            if kind is ActionKind.GOTO:
                return False
        return False

    for name in ruleset.forward:
        walk(ruleset.chains[name], (name,))
    return seen


@pytest.mark.parametrize("multi", [False, True], ids=["iptables", "two-base-chains"])
def test_outcomes_equal_brute_force(multi: bool) -> None:
    for seed in SEEDS:
        rng = random.Random(seed * 2 + multi)
        ruleset = random_ruleset(rng, multi)
        exclude = [random_space(rng) for _ in range(rng.randint(0, 2))]
        seen = set()
        for packet in packets(UNIVERSE):
            if not any(in_space(e, packet) for e in exclude):
                decision = evaluate(ruleset, packet)
                seen.add(_key(decision.verdict, decision.rule, decision.chain))
        found = outcomes(ruleset, UNIVERSE, exclude=exclude, interfaces=IFACES)
        keys = [_key(o.verdict, o.rule, o.chain) for o in found]
        assert len(keys) == len(set(keys)), seed
        assert set(keys) == seen, seed
        for outcome in found:
            assert in_space(UNIVERSE, outcome.example) and not any(in_space(e, outcome.example) for e in exclude)
            decision = evaluate(ruleset, outcome.example)
            assert (decision.verdict, decision.rule, decision.chain, decision.unknown) == (
                outcome.verdict, outcome.rule, outcome.chain, outcome.unknown), seed


def test_witnesses_for_wildcard_queries() -> None:
    """Queries with any interface and wide address/port sets: every witness is decided as claimed."""
    for seed in SEEDS:
        rng = random.Random(10_000 + seed)
        ruleset = random_ruleset(rng, seed % 3 == 0)
        query = Space(None, None, IntervalSet.span(BASE, BASE + 20), IntervalSet.span(BASE, BASE + 20))
        for outcome in outcomes(ruleset, query, exclude=[random_space(rng)]):
            decision = evaluate(ruleset, outcome.example)
            assert (decision.verdict, decision.rule, decision.chain) == (
                outcome.verdict, outcome.rule, outcome.chain), seed
            assert outcome.example.proto in (6, 17) or outcome.example.dport == 0


def test_shadowed_and_redundant_hold_on_the_universe() -> None:
    for seed in SEEDS:
        rng = random.Random(20_000 + seed)
        ruleset = random_ruleset(rng, False)
        every = list(packets(UNIVERSE))
        shadowed = shadowed_rules(ruleset, interfaces=IFACES)
        if shadowed:
            met: set[int] = set()
            for packet in every:
                met |= reached(ruleset, packet)
            for rule, _cover in shadowed:
                assert id(rule) not in met, (seed, rule)
        for rule, _later in redundant_rules(ruleset, interfaces=IFACES):
            chains = {name: dataclasses.replace(chain, rules=[r for r in chain.rules if r is not rule])
                      for name, chain in ruleset.chains.items()}
            without = dataclasses.replace(ruleset, chains=chains)
            for packet in every:
                assert evaluate(ruleset, packet).verdict == evaluate(without, packet).verdict, (seed, rule)
