"""Regression tests for the fast paths of the universe pass and the queries: each builds a ruleset where the fast path
must NOT apply (or must give way to the general search) and checks the answers against :func:`evaluate`."""

from __future__ import annotations

import gc
import ipaddress

from mamoru.netcheck.analysis import Outcome, Space, evaluate, outcomes, prepare, shadowed_rules
from mamoru.netcheck.generate import INTERFACES, generate_ruleset
from mamoru.netcheck.model import (
    IPV4_ADDRESSES,
    Action,
    ActionKind,
    Chain,
    IntervalSet,
    Match,
    Origin,
    Rule,
    Ruleset,
    Verdict,
    address_value,
    parse_network,
)

A = ActionKind
TCP = IntervalSet.point(6)
HTTP = IntervalSet.point(80)
LINE = iter(range(1, 10_000))


def rule(kind: ActionKind, target: str | None = None, **match: object) -> Rule:
    fields = {k: parse_network(v) if k in ("src", "dst") and isinstance(v, str) else v for k, v in match.items()}
    n = next(LINE)
    return Rule(Match(**fields), Action(kind, target), Origin("t", n, f"rule {n}"))  # type: ignore[arg-type]


def ruleset(chains: dict[str, list[Rule]], policy: Verdict = Verdict.DROP) -> Ruleset:
    built = {name: Chain(name, rules, policy if name == "FORWARD" else None,
                         hook="forward" if name == "FORWARD" else None) for name, rules in chains.items()}
    return Ruleset("t", "test", built, ["FORWARD"], IPV4_ADDRESSES)


def space(src: str, dst: str) -> Space:
    return Space(None, None, parse_network(src), parse_network(dst))


def check(rs: Ruleset, query: Space, exclude: list[Space], found: list[Outcome]) -> None:
    """Every outcome's witness lies in the query, outside the excludes, and is decided as the outcome says."""
    for o in found:
        p = o.example
        value = address_value(p.src), address_value(p.dst)
        assert value[0] in query.src and value[1] in query.dst
        for e in exclude:
            assert not (value[0] in e.src and value[1] in e.dst and p.proto in e.proto and p.dport in e.dport)
        decision = evaluate(rs, p)
        assert (decision.verdict, decision.rule, decision.chain) == (o.verdict, o.rule, o.chain)


def test_rule_whose_first_pick_an_earlier_rule_blocks_gets_another_witness() -> None:
    # The ACCEPT's box is simple, but an earlier DROP holds its first pick (10.0.0.2 -> 10.0.1.2 tcp/80): the
    # inlined first-pick path must not apply; the witness comes from the search.
    drop = rule(A.DROP, src="10.0.0.2/32", dst="10.0.1.2/32", proto=TCP, dport=HTTP)
    accept = rule(A.ACCEPT, src="10.0.0.0/24", dst="10.0.1.0/24", proto=TCP, dport=HTTP)
    covered = rule(A.ACCEPT, src="10.0.0.5/32", dst="10.0.1.7/32", proto=TCP, dport=HTTP)  # inside accept
    rs = ruleset({"FORWARD": [drop, accept, covered]})
    query = space("10.0.0.0/16", "10.0.0.0/16")
    found = outcomes(rs, query)
    assert [(o.verdict, o.rule) for o in found] == [(Verdict.DROP, drop), (Verdict.ACCEPT, accept),
                                                      (Verdict.DROP, None)]
    assert found[1].example.src != ipaddress.ip_address("10.0.0.2")
    check(rs, query, [], found)
    assert shadowed_rules(rs) == [(covered, accept)]


def test_rule_after_a_live_return_is_rewritten() -> None:
    # A RETURN live before the user chain's DROP: the DROP's blocking box must have the return subtracted (the
    # general path), so the caller's later ACCEPT still decides the returned packets.
    ret = rule(A.RETURN, src="10.0.0.2/32")
    drop = rule(A.DROP, src="10.0.0.0/24", proto=TCP, dport=HTTP)
    jump = rule(A.JUMP, "user")
    accept = rule(A.ACCEPT, src="10.0.0.0/24", proto=TCP, dport=HTTP)
    rs = ruleset({"FORWARD": [jump, accept], "user": [ret, drop]})
    query = space("10.0.0.0/24", "10.0.1.0/24")
    found = outcomes(rs, query)
    assert {(o.verdict, o.rule) for o in found} == {(Verdict.DROP, drop), (Verdict.ACCEPT, accept),
                                                     (Verdict.DROP, None)}
    check(rs, query, [], found)
    assert shadowed_rules(rs) == []


def test_excluded_first_pick_and_blocked_pick_in_a_query() -> None:
    # The universe witness of the ACCEPT lies in an excluded box and the next pick in an earlier DROP: the query
    # must search past both (the first-pick shortcut of the query must not apply).
    accept = rule(A.ACCEPT, src="10.0.0.0/24", dst="10.0.1.2/32", proto=TCP, dport=HTTP)
    rs = ruleset({"FORWARD": [rule(A.DROP, src="10.0.0.3/32"), accept]})
    prepared = prepare(rs)
    query = space("10.0.0.0/24", "10.0.1.0/24")
    exclude = [Space(None, None, parse_network("10.0.0.2/32"), parse_network("10.0.1.0/24"))]
    found = outcomes(rs, query, exclude=exclude, prepared=prepared)
    assert (Verdict.ACCEPT, accept) in {(o.verdict, o.rule) for o in found}
    assert all(o.example.src not in (ipaddress.ip_address("10.0.0.2"), ipaddress.ip_address("10.0.0.3"))
               for o in found if o.rule is accept)
    check(rs, query, exclude, found)
    # Excluding every packet the ACCEPT could decide removes it.
    exclude.append(Space(None, None, parse_network("10.0.0.0/24"), parse_network("10.0.1.2/32")))
    assert accept not in {o.rule for o in outcomes(rs, query, exclude=exclude, prepared=prepared)}


def test_large_pass_keeps_the_collector_as_it_was() -> None:
    rs = generate_ruleset(12_000)
    assert gc.isenabled()
    prepare(rs, INTERFACES)
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0  # the settle step unfreezes what it froze
    gc.disable()
    try:
        prepare(generate_ruleset(12_000, seed=2), INTERFACES)
        assert not gc.isenabled()  # a caller that disabled the collector keeps it disabled
    finally:
        gc.enable()
