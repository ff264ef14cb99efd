"""First-match semantics (evaluate), exact outcomes with witnesses, shadowed and redundant rules: hand-built
rulesets (model objects, no parser)."""

from __future__ import annotations

import ipaddress

from mamoru.netcheck.analysis import Outcome, Space, evaluate, outcomes, prepare, redundant_rules, shadowed_rules
from mamoru.netcheck.generate import INTERFACES, ZONES, generate_iptables, generate_ruleset, pair_chain
from mamoru.netcheck.model import (
    ALL_ADDRESSES,
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
    parse_network,
)

LINE = iter(range(1, 10_000))


def rule(kind: ActionKind, target: str | None = None, unsupported: tuple[str, ...] = (), **match: object) -> Rule:
    fields = {k: parse_network(v) if k in ("src", "dst") and isinstance(v, str) else v for k, v in match.items()}
    n = next(LINE)
    return Rule(Match(**fields), Action(kind, target), Origin("t", n, f"rule {n}"), unsupported)  # type: ignore[arg-type]


def ruleset(chains: dict[str, list[Rule]], policy: Verdict = Verdict.DROP, forward: tuple[str, ...] = ("FORWARD",),
            addresses: IntervalSet = IPV4_ADDRESSES) -> Ruleset:
    built = {name: Chain(name, rules, policy if name in forward else None, hook="forward" if name in forward else None)
             for name, rules in chains.items()}
    return Ruleset("t", "test", built, list(forward), addresses)


def packet(src: str, dst: str, proto: int = 6, dport: int = 80, in_iface: str | None = "eth0",
           out_iface: str | None = "eth1") -> Packet:
    return Packet(ipaddress.ip_address(src), ipaddress.ip_address(dst), proto, 40000, dport, in_iface, out_iface)


def space(src: str, dst: str, **kw: object) -> Space:
    return Space(kw.pop("in_iface", None), kw.pop("out_iface", None), parse_network(src),  # type: ignore[arg-type]
                 parse_network(dst), **kw)  # type: ignore[arg-type]


A = ActionKind
TCP = IntervalSet.point(6)


def test_first_match_jump_return_goto() -> None:
    web = rule(A.ACCEPT, proto=TCP, dport=IntervalSet.point(80))
    ret = rule(A.RETURN, src="10.0.0.5")
    drop = rule(A.DROP)
    after = rule(A.ACCEPT, src="10.0.0.0/24")
    rs = ruleset({"FORWARD": [rule(A.JUMP, "U"), after], "U": [web, ret, drop]})
    assert evaluate(rs, packet("10.0.0.9", "10.1.0.2")).rule is web
    assert evaluate(rs, packet("10.0.0.9", "10.1.0.2", dport=22)).rule is drop
    returned = evaluate(rs, packet("10.0.0.5", "10.1.0.2", dport=22))
    assert (returned.verdict, returned.rule) == (Verdict.ACCEPT, after)
    assert evaluate(rs, packet("10.2.0.5", "10.1.0.2", dport=22)).rule is drop
    # GOTO: on return from the target, the calling chain returns (here: the base chain's policy).
    rs = ruleset({"FORWARD": [rule(A.GOTO, "U"), after], "U": [ret]}, policy=Verdict.REJECT)
    decided = evaluate(rs, packet("10.0.0.5", "10.1.0.2"))
    assert (decided.verdict, decided.rule, decided.chain) == (Verdict.REJECT, None, "FORWARD")


def test_return_before_drop_is_not_subtracted_from_the_caller() -> None:
    """A packet returned by a user chain before its ``-j DROP`` still reaches the caller's later rules."""
    ret = rule(A.RETURN, src="10.0.0.5")
    drop = rule(A.DROP)
    after = rule(A.ACCEPT)
    rs = ruleset({"FORWARD": [rule(A.JUMP, "U"), after], "U": [ret, drop]})
    found = outcomes(rs, space("10.0.0.0/24", "10.1.0.0/24"))
    by_rule = {id(o.rule): o for o in found}
    assert set(by_rule) == {id(drop), id(after)}
    assert str(by_rule[id(after)].example.src) == "10.0.0.5"
    assert shadowed_rules(rs) == []


def test_witness_is_a_normal_packet() -> None:
    rs = ruleset({"FORWARD": [rule(A.ACCEPT, dst="10.1.0.0/24")]})
    (accepted, dropped) = outcomes(rs, space("10.0.0.0/24", "10.1.0.0/23"), interfaces=["eth0", "eth1"])
    example = accepted.example
    assert (str(example.src), str(example.dst), example.proto, example.dport) == ("10.0.0.2", "10.1.0.2", 6, 1)
    assert example.sport >= 1024 and example.in_iface == "eth0"
    assert dropped.rule is None and str(dropped.example.dst) == "10.1.1.2"


def test_exclude_and_order() -> None:
    first = rule(A.ACCEPT, dst="10.1.0.7", proto=TCP, dport=IntervalSet.point(443))
    broad = rule(A.ACCEPT, dst="10.1.0.0/24")
    rs = ruleset({"FORWARD": [first, broad]})
    gateway = space("10.0.0.0/24", "10.1.0.7", proto=TCP, dport=IntervalSet.point(443))
    found = outcomes(rs, space("10.0.0.0/24", "10.1.0.0/24"), exclude=[gateway])
    assert [o.rule for o in found] == [broad]
    found = outcomes(rs, space("10.0.0.0/24", "10.1.0.0/24"))
    assert [o.rule for o in found] == [first, broad]
    assert outcomes(rs, space("10.0.0.0/24", "10.1.0.7"), exclude=[space("10.0.0.0/24", "10.1.0.0/24")]) == []


def test_unknown_rules_and_reasons() -> None:
    weird = rule(A.ACCEPT, unsupported=("-m recent",), dst="10.1.0.0/24")
    target = rule(A.UNKNOWN, "TARPIT", dport=IntervalSet.point(22))
    rs = ruleset({"FORWARD": [weird, target, rule(A.ACCEPT)]})
    decision = evaluate(rs, packet("10.0.0.2", "10.1.0.2"))
    assert (decision.verdict, decision.rule, decision.unknown) == (Verdict.UNKNOWN, weird, ("-m recent",))
    found = outcomes(rs, space("10.0.0.0/24", "10.0.0.0/8"))
    assert [(o.verdict, o.unknown) for o in found[:2]] == [(Verdict.UNKNOWN, ("-m recent",)),
                                                          (Verdict.UNKNOWN, ("unsupported target TARPIT",))]


def test_interfaces_none_wildcards_and_negation() -> None:
    lan = rule(A.ACCEPT, in_iface=InterfaceMatch(("eth+",)), out_iface=InterfaceMatch(("wan0",), negate=True))
    rs = ruleset({"FORWARD": [lan]})
    assert evaluate(rs, packet("10.0.0.2", "10.1.0.2", in_iface="eth7", out_iface="eth1")).rule is lan
    assert evaluate(rs, packet("10.0.0.2", "10.1.0.2", in_iface="eth7", out_iface="wan0")).rule is None
    unknown = evaluate(rs, packet("10.0.0.2", "10.1.0.2", in_iface=None))
    assert unknown.verdict is Verdict.UNKNOWN and "inbound" in unknown.unknown[0]
    found = outcomes(rs, space("10.0.0.0/24", "10.1.0.0/24"), interfaces=["wan0", "lan0"])
    assert [o.rule for o in found] == [lan, None]
    for o in found:
        assert evaluate(rs, o.example).rule is o.rule
    # Only a made-up name can show the wildcard accept when the query's interfaces exclude the listed ones.
    query = space("10.0.0.0/24", "10.1.0.0/24", in_iface=frozenset({"eth3"}), out_iface=frozenset({"wan0"}))
    assert [o.rule for o in outcomes(rs, query)] == [None]


def test_address_family_and_no_forward_chain() -> None:
    rs = ruleset({"FORWARD": [rule(A.ACCEPT)]})
    v6 = evaluate(rs, Packet(ipaddress.ip_address("2001:db8::1"), ipaddress.ip_address("2001:db8::2"), 6, 1, 80))
    assert v6.verdict is Verdict.UNKNOWN and v6.unknown == ("not filtered by this ruleset (address family)",)
    query = Space(None, None, ALL_ADDRESSES, ALL_ADDRESSES)
    found = outcomes(rs, query)
    assert [(o.verdict, o.rule is None) for o in found] == [(Verdict.ACCEPT, False), (Verdict.UNKNOWN, True)]
    assert found[1].example.src.version == 6 and found[1].example.dst.version == 6
    empty = Ruleset("t", "test", {}, [], ALL_ADDRESSES)
    assert evaluate(empty, packet("10.0.0.2", "10.1.0.2")).verdict is Verdict.ACCEPT
    assert [o.verdict for o in outcomes(empty, query)] == [Verdict.ACCEPT]


def test_two_base_chains_accept_moves_on() -> None:
    first_drop = rule(A.DROP, dst="10.1.0.9")
    first_accept = rule(A.ACCEPT, src="10.0.0.0/24")
    second_drop = rule(A.DROP, dport=IntervalSet.point(23))
    rs = ruleset({"A": [first_drop, first_accept], "B": [second_drop]}, policy=Verdict.ACCEPT, forward=("A", "B"))
    assert evaluate(rs, packet("10.0.0.2", "10.1.0.2", dport=23)).rule is second_drop
    accepted = evaluate(rs, packet("10.0.0.2", "10.1.0.2"))
    assert (accepted.verdict, accepted.rule, accepted.chain) == (Verdict.ACCEPT, None, "B")
    found = outcomes(rs, space("10.0.0.0/23", "10.1.0.0/24"))
    assert {(o.verdict, o.chain) for o in found} == {(Verdict.DROP, "A"), (Verdict.DROP, "B"), (Verdict.ACCEPT, "B")}
    for o in found:
        assert evaluate(rs, o.example).rule is o.rule


def test_jump_loops_missing_chains_and_depth() -> None:
    loop = rule(A.JUMP, "U")
    rs = ruleset({"FORWARD": [rule(A.JUMP, "U")], "U": [loop.__class__(Match(), Action(A.JUMP, "FORWARD"),
                                                                      Origin("t", 1, "loop"))]})
    decision = evaluate(rs, packet("10.0.0.2", "10.1.0.2"))
    assert decision.verdict is Verdict.UNKNOWN and "loop" in decision.unknown[0]
    assert [o.verdict for o in outcomes(rs, space("10.0.0.0/24", "10.1.0.0/24"))] == [Verdict.UNKNOWN]
    missing = ruleset({"FORWARD": [rule(A.JUMP, "NOPE")]})
    assert "undefined" in evaluate(missing, packet("10.0.0.2", "10.1.0.2")).unknown[0]
    deep = {f"C{i}": [rule(A.JUMP, f"C{i + 1}")] for i in range(20)}
    deep["C20"] = [rule(A.ACCEPT)]
    rs = ruleset({"FORWARD": [rule(A.JUMP, "C0")], **deep})
    assert "deeper" in evaluate(rs, packet("10.0.0.2", "10.1.0.2")).unknown[0]
    assert [o.verdict for o in outcomes(rs, space("10.0.0.0/24", "10.1.0.0/24"))] == [Verdict.UNKNOWN]


def test_established_rules_never_decide_new_packets() -> None:
    est = rule(A.ACCEPT, matches_new=False)
    rs = ruleset({"FORWARD": [est]})
    assert evaluate(rs, packet("10.0.0.2", "10.1.0.2")).rule is None
    assert [o.rule for o in outcomes(rs, space("10.0.0.0/24", "10.1.0.0/24"))] == [None]
    assert shadowed_rules(rs) == []


def test_shadowed_rules() -> None:
    broad = rule(A.ACCEPT, src="10.0.0.0/24")
    narrow = rule(A.DROP, src="10.0.0.5", dport=IntervalSet.point(22))
    half1 = rule(A.DROP, dst="10.1.0.0/25")
    half2 = rule(A.DROP, dst="10.1.0.128/25")
    covered = rule(A.ACCEPT, dst="10.1.0.0/24")  # by both halves together
    dead_jump = rule(A.JUMP, "U", src="10.0.0.9")
    inner = rule(A.ACCEPT)
    live = rule(A.ACCEPT, dst="10.2.0.0/24")
    rs = ruleset({"FORWARD": [broad, narrow, half1, half2, covered, dead_jump, live], "U": [inner]})
    assert shadowed_rules(rs) == [(narrow, broad), (covered, None), (dead_jump, broad)]


def test_redundant_rules() -> None:
    narrow = rule(A.DROP, dst="10.1.0.7")
    other = rule(A.ACCEPT, dst="10.2.0.0/24")
    broad = rule(A.DROP, dst="10.1.0.0/24")
    kept = rule(A.DROP, dst="10.3.0.7")
    blocker = rule(A.ACCEPT, dst="10.3.0.0/24")
    later = rule(A.DROP, dst="10.3.0.0/16")
    rs = ruleset({"FORWARD": [narrow, other, broad, kept, blocker, later]}, policy=Verdict.ACCEPT)
    assert redundant_rules(rs) == [(narrow, broad)]


def test_generated_ruleset_is_deterministic_and_analysable() -> None:
    text = generate_iptables(400, seed=3)
    assert text == generate_iptables(400, seed=3) and text.startswith("# Generated")
    rs = generate_ruleset(400, seed=3)
    assert sum(len(c.rules) for c in rs.chains.values()) == len(text.splitlines()) - 5 - 20 - 2
    lines = text.splitlines()
    for chain in rs.chains.values():
        for r in chain.rules:
            assert lines[r.origin.line - 1] == r.origin.text
    a, b = ZONES[0], ZONES[1]
    query = space(a.network, b.network, in_iface=frozenset({a.interface}), out_iface=frozenset({b.interface}))
    found = outcomes(rs, query, interfaces=INTERFACES)
    assert found and all(o.rule is None or o.chain in ("FORWARD", pair_chain(a, b)) for o in found)
    for o in found:
        assert evaluate(rs, o.example).rule is o.rule
    assert all(o.verdict is not Verdict.ACCEPT for o in outcomes(rs, space(ZONES[2].network, ZONES[0].network)))


def _answers(found: list[Outcome]) -> list[tuple[Verdict, int | None, str, Packet]]:
    return [(o.verdict, None if o.rule is None else id(o.rule), o.chain, o.example) for o in found]


def test_prepared_analysis_answers_like_a_fresh_one() -> None:
    """Queries with different excludes over one prepared ruleset answer like fresh analyses of equal rulesets."""
    rs = generate_ruleset(600, seed=5)
    a, b = ZONES[0], ZONES[3]
    query = space(a.network, b.network, in_iface=frozenset({a.interface}), out_iface=frozenset({b.interface}))
    excludes = [[], [space(a.network, "172.16.0.0/24")], [space("10.10.0.0/17", b.network, proto=TCP)]]
    prepared = prepare(rs, INTERFACES)
    for exclude in excludes:
        cached = outcomes(rs, query, exclude=exclude, interfaces=INTERFACES)
        explicit = outcomes(rs, query, exclude=exclude, interfaces=INTERFACES, prepared=prepared)
        fresh_rs = generate_ruleset(600, seed=5)  # a new object: nothing cached for it yet
        fresh = outcomes(fresh_rs, query, exclude=exclude, interfaces=INTERFACES)
        assert _answers(cached) == _answers(explicit)
        assert [(o.verdict, o.rule, o.chain, o.example) for o in cached] == [
            (o.verdict, o.rule, o.chain, o.example) for o in fresh]  # rules compare equal across the two objects
        for o in cached:
            assert evaluate(rs, o.example).rule is o.rule
    assert shadowed_rules(rs, interfaces=INTERFACES, prepared=prepared) == shadowed_rules(
        generate_ruleset(600, seed=5), interfaces=INTERFACES)


def test_prepared_analysis_is_not_reused_for_another_or_a_modified_ruleset() -> None:
    drop = rule(A.DROP, dst="10.1.0.7")
    accept = rule(A.ACCEPT)
    rs = ruleset({"FORWARD": [drop, accept]})
    query = space("10.0.0.0/24", "10.1.0.0/24")
    prepared = prepare(rs)
    assert [o.rule for o in outcomes(rs, query, prepared=prepared)] == [drop, accept]
    other = ruleset({"FORWARD": [accept]})
    assert [o.rule for o in outcomes(other, query, prepared=prepared)] == [accept]  # not the first ruleset's
    rs.chains["FORWARD"].rules[0] = rule(A.DROP, dst="10.2.0.7")  # same size, another rule: the cache must notice
    assert [o.rule for o in outcomes(rs, query)] == [accept]
    assert [o.rule for o in outcomes(rs, query, prepared=prepared)] == [accept]
    rs.chains["FORWARD"].policy = Verdict.REJECT
    rs.chains["FORWARD"].rules[1:] = []
    assert [(o.verdict, o.rule) for o in outcomes(rs, query)] == [(Verdict.REJECT, None)]
    assert shadowed_rules(rs) == [] and redundant_rules(rs) == []


def test_prepared_analysis_does_not_keep_the_ruleset_alive() -> None:
    import gc
    import weakref

    rs = ruleset({"FORWARD": [rule(A.ACCEPT, dst="10.1.0.0/24")]})
    outcomes(rs, space("10.0.0.0/24", "10.1.0.0/24"))
    ref = weakref.ref(rs)
    del rs
    gc.collect()
    assert ref() is None
