"""The nftables JSON reader: hand-written documents for exact semantics, the shared corpus, and (when the
``nft`` binary and root are available) rulesets round-tripped through a throwaway network namespace."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from mamoru.netcheck.model import (
    ALL_PORTS,
    ALL_PROTOCOLS,
    IPV4_ADDRESSES,
    IPV6_ADDRESSES,
    ActionKind,
    InterfaceMatch,
    IntervalSet,
    ParseError,
    Rule,
    Ruleset,
    Verdict,
    parse_address_range,
    parse_network,
)
from mamoru.netcheck.parsers.nftables import parse_nftables_json
from tests.netcheck.kernel import require_kernel_lab, tool_path

# ----------------------------------------------------------------------------------------------- helpers

IP_SADDR = {"payload": {"protocol": "ip", "field": "saddr"}}
IP_DADDR = {"payload": {"protocol": "ip", "field": "daddr"}}
IP6_SADDR = {"payload": {"protocol": "ip6", "field": "saddr"}}
TCP_DPORT = {"payload": {"protocol": "tcp", "field": "dport"}}
TH_DPORT = {"payload": {"protocol": "th", "field": "dport"}}
CT_STATE = {"ct": {"key": "state"}}
ACCEPT: dict[str, Any] = {"accept": None}
DROP: dict[str, Any] = {"drop": None}


def match(left: Any, right: Any, op: str = "==") -> dict[str, Any]:
    return {"match": {"op": op, "left": left, "right": right}}


def meta(key: str) -> dict[str, Any]:
    return {"meta": {"key": key}}


def table(family: str = "inet", name: str = "f") -> dict[str, Any]:
    return {"table": {"family": family, "name": name, "handle": 1}}


def chain(name: str, family: str = "inet", tbl: str = "f", *, hook: str | None = None, prio: Any = 0,
          policy: str = "accept", kind: str = "filter") -> dict[str, Any]:
    body: dict[str, Any] = {"family": family, "table": tbl, "name": name, "handle": 2}
    if hook is not None:
        body.update({"type": kind, "hook": hook, "prio": prio, "policy": policy})
    return {"chain": body}


def rule(chain_name: str, *expr: dict[str, Any], family: str = "inet", tbl: str = "f",
         handle: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"family": family, "table": tbl, "chain": chain_name, "expr": list(expr)}
    if handle is not None:
        body["handle"] = handle
    return {"rule": body}


def named_set(name: str, elements: list[Any] | None, family: str = "inet", tbl: str = "f",
              **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"family": family, "name": name, "table": tbl, "type": "ipv4_addr", **extra}
    if elements is not None:
        body["elem"] = elements
    return {"set": body}


def parse(*objects: dict[str, Any], indent: int | None = None) -> Ruleset:
    document = {"nftables": [{"metainfo": {"json_schema_version": 1}}, *objects]}
    return parse_nftables_json(json.dumps(document, indent=indent), source="fw.json")


def forward_rules(*expr_lists: list[dict[str, Any]], family: str = "inet") -> list[Rule]:
    """Parse one forward chain holding one rule per expression list; return its rules."""
    ruleset = parse(table(family), chain("fwd", family, hook="forward", policy="drop"),
                    *(rule("fwd", *e, family=family) for e in expr_lists))
    return ruleset.chains[f"{family} f fwd"].rules


def net(text: str) -> IntervalSet:
    return parse_network(text)


def ports(*values: int | tuple[int, int]) -> IntervalSet:
    return IntervalSet((v, v) if isinstance(v, int) else v for v in values)


# ----------------------------------------------------------------------------------------------- structure


def test_forward_chain_policy_and_a_simple_rule() -> None:
    ruleset = parse(table(), chain("fwd", hook="forward", policy="drop"), chain("user"),
                    rule("fwd", match(IP_SADDR, {"prefix": {"addr": "10.0.0.0", "len": 8}}), match(TCP_DPORT, 443),
                         {"counter": {"packets": 0, "bytes": 0}}, ACCEPT, handle=7))
    assert ruleset.format == "nftables-json"
    assert ruleset.forward == ["inet f fwd"]
    fwd = ruleset.chains["inet f fwd"]
    assert (fwd.policy, fwd.hook, fwd.priority) == (Verdict.DROP, "forward", 0)
    assert fwd.policy_origin is not None and "policy drop" in fwd.policy_origin.text
    user = ruleset.chains["inet f user"]
    assert (user.policy, user.hook) == (None, None)
    (only,) = fwd.rules
    assert only.match.src == net("10.0.0.0/8")
    assert only.match.proto == IntervalSet.point(6)
    assert only.match.dport == IntervalSet.point(443)
    assert only.match.dst is None and only.match.in_iface is None and only.match.matches_new
    assert only.action.kind is ActionKind.ACCEPT
    assert only.unsupported == () and ruleset.unsupported == []
    assert only.origin.file == "fw.json"
    assert only.origin.line == 1  # single-line JSON: position among rules
    assert only.origin.text == "[handle 7] ip saddr 10.0.0.0/8 tcp dport 443 counter accept"


def test_forward_chains_are_ordered_by_priority_then_appearance() -> None:
    ruleset = parse(
        table("ip", "a"), table("inet", "b"), table("ip6", "c"),
        chain("late", "ip", "a", hook="forward", prio="security"),   # 50
        chain("tie1", "inet", "b", hook="forward", prio=0),
        chain("early", "ip6", "c", hook="forward", prio="mangle"),   # -150
        chain("tie2", "ip", "a", hook="forward", prio="filter"),     # 0, after tie1
        chain("minus", "inet", "b", hook="forward", prio="filter - 10"),
        chain("raw", "ip6", "c", hook="forward", prio=-300),
        chain("inp", "inet", "b", hook="input", prio=-1000),         # not forward
        chain("user", "inet", "b"),
    )
    assert ruleset.forward == ["ip6 c raw", "ip6 c early", "inet b minus", "inet b tie1", "ip a tie2", "ip a late"]
    assert ruleset.chains["ip a late"].priority == 50
    assert ruleset.chains["inet b minus"].priority == -10
    assert ruleset.chains["inet b inp"].hook == "input"
    assert ruleset.unsupported == []


def test_a_nat_chain_on_a_forward_like_hook_is_not_a_forward_filter_chain() -> None:
    ruleset = parse(table("ip", "n"), chain("post", "ip", "n", hook="postrouting", prio=100, kind="nat"),
                    chain("fw", "ip", "n", hook="forward", prio=0, kind="route"))
    assert ruleset.forward == []
    assert set(ruleset.chains) == {"ip n post", "ip n fw"}


def test_table_families_restrict_addresses() -> None:
    ruleset = parse(table("ip", "four"), table("ip6", "six"), chain("c", "ip", "four", hook="forward"),
                    chain("c", "ip6", "six", hook="forward"), rule("c", ACCEPT, family="ip", tbl="four"),
                    rule("c", ACCEPT, family="ip6", tbl="six"))
    assert ruleset.chains["ip four c"].rules[0].match.src == IPV4_ADDRESSES
    assert ruleset.chains["ip6 six c"].rules[0].match.src == IPV6_ADDRESSES
    assert ruleset.addresses == IPV4_ADDRESSES.union(IPV6_ADDRESSES)
    only_v4 = parse(table("ip", "four"))
    assert only_v4.addresses == IPV4_ADDRESSES
    inet = forward_rules([ACCEPT])
    assert inet[0].match.src is None


def test_ip_only_matches_in_an_inet_table_restrict_the_family() -> None:
    proto, nfproto, v6 = forward_rules(
        [match({"payload": {"protocol": "ip", "field": "protocol"}}, "udp"), ACCEPT],
        [match(meta("nfproto"), "ipv6"), ACCEPT],
        [match(IP6_SADDR, {"prefix": {"addr": "2001:db8::", "len": 32}}, "!="), ACCEPT],
    )
    assert proto.match.proto == IntervalSet.point(17) and proto.match.src == IPV4_ADDRESSES
    assert nfproto.match.src == IPV6_ADDRESSES
    assert v6.match.src == IPV6_ADDRESSES.difference(net("2001:db8::/32"))


def test_arp_and_bridge_tables_are_read_but_not_modelled() -> None:
    ruleset = parse(table("bridge", "br"), chain("fw", "bridge", "br", hook="forward", prio=-200),
                    rule("fw", match(meta("obrname"), "br0"), DROP, family="bridge", tbl="br"),
                    table("arp", "a"), chain("in", "arp", "a", hook="input"), rule("in", DROP, family="arp", tbl="a"))
    assert ruleset.chains == {} and ruleset.forward == [] and ruleset.unsupported == []


def test_netdev_base_chains_are_reported() -> None:
    ruleset = parse(table("netdev", "nd"), chain("ing", "netdev", "nd", hook="ingress", prio=0))
    assert ruleset.chains == {}
    assert len(ruleset.unsupported) == 1 and "netdev ingress" in ruleset.unsupported[0].reason


# ----------------------------------------------------------------------------------------------- matches


def test_negation_prefixes_ranges_and_sets() -> None:
    not_net, not_port, rng, anon, not_set, th = forward_rules(
        [match(IP_SADDR, {"prefix": {"addr": "10.0.0.0", "len": 8}}, "!="), ACCEPT],
        [match(TCP_DPORT, 22, "!="), DROP],
        [match(IP_DADDR, {"range": ["192.168.1.10", "192.168.1.20"]}), match(TCP_DPORT, {"range": [1000, 2000]}),
         ACCEPT],
        [match(IP_DADDR, {"set": ["192.0.2.1", {"prefix": {"addr": "198.51.100.0", "len": 24}},
                                  {"range": ["203.0.113.5", "203.0.113.6"]}]}), ACCEPT],
        [match(TCP_DPORT, {"set": [80, 443, {"range": [8000, 8080]}]}, "!="), ACCEPT],
        [match(TH_DPORT, 53), ACCEPT],
    )
    assert not_net.match.src == IPV4_ADDRESSES.difference(net("10.0.0.0/8"))
    assert not_port.match.dport == ALL_PORTS.difference(IntervalSet.point(22))
    assert not_port.match.proto == IntervalSet.point(6)  # "tcp dport" implies tcp, even negated
    assert rng.match.dst == parse_address_range("192.168.1.10", "192.168.1.20")
    assert rng.match.dport == ports((1000, 2000))
    assert anon.match.dst == net("192.0.2.1").union(net("198.51.100.0/24")).union(
        parse_address_range("203.0.113.5", "203.0.113.6"))
    assert not_set.match.dport == ALL_PORTS.difference(ports(80, 443, (8000, 8080)))
    assert th.match.dport == IntervalSet.point(53) and th.match.proto is None


def test_comparisons_and_service_names() -> None:
    low, high, named = forward_rules(
        [match(TCP_DPORT, 1024, "<"), ACCEPT],
        [match({"payload": {"protocol": "udp", "field": "sport"}}, 1024, ">="), ACCEPT],
        [match(TCP_DPORT, {"set": ["ssh", "https"]}), ACCEPT],
    )
    assert low.match.dport == ports((0, 1023))
    assert high.match.sport == ports((1024, 65535)) and high.match.proto == IntervalSet.point(17)
    assert named.match.dport == ports(22, 443)


def test_multiple_matches_on_one_field_intersect() -> None:
    (both,) = forward_rules([
        match(IP_SADDR, {"prefix": {"addr": "10.0.0.0", "len": 8}}),
        match(IP_SADDR, {"prefix": {"addr": "10.1.0.0", "len": 16}}),
        match(TCP_DPORT, {"range": [100, 200]}), match(TCP_DPORT, 150, "!="),
        match(meta("l4proto"), {"set": ["tcp", "udp"]}),
        ACCEPT])
    assert both.match.src == net("10.1.0.0/16")
    assert both.match.dport == ports((100, 149), (151, 200))
    assert both.match.proto == IntervalSet.point(6)
    (disjoint,) = forward_rules([match(TCP_DPORT, 22), match({"payload": {"protocol": "udp", "field": "dport"}}, 53),
                                 ACCEPT])
    assert disjoint.match.proto == IntervalSet() and disjoint.match.is_empty()


def test_protocol_matches() -> None:
    (rule_,) = forward_rules([match(meta("l4proto"), {"set": ["icmp", 47, "sctp"]}, "!="), ACCEPT])
    assert rule_.match.proto == ALL_PROTOCOLS.difference(ports(1, 47, 132))


@pytest.mark.parametrize(("op", "right", "new"), [
    ("in", ["established", "related"], False),
    ("in", "new", True),
    ("in", ["established", "new"], True),
    ("==", {"set": ["established", "related"]}, False),
    ("==", {"set": ["new", "established"]}, True),
    ("!=", "invalid", True),
    ("!=", "new", False),
    ("!=", {"set": ["established", "related"]}, True),
    ("==", "established", False),
    ("==", {"|": ["established", "related"]}, False),
    ("==", {"|": ["new", "established"]}, False),  # the kernel compares the OR'ed bitmask exactly
    ("!=", {"|": [{"|": ["established", "related"]}, "new"]}, True),
    ("!", ["established", "related"], True),
    ("!", ["new", "related"], False),
])
def test_ct_state(op: str, right: Any, new: bool) -> None:
    (rule_,) = forward_rules([match(CT_STATE, right, op), ACCEPT])
    assert rule_.match.matches_new is new
    assert rule_.unsupported == ()


def test_ct_state_established_rule_never_decides_a_new_flow() -> None:
    (rule_,) = forward_rules([match(CT_STATE, ["established", "related"], "in"), ACCEPT])
    assert rule_.match.is_empty() and rule_.action.kind is ActionKind.ACCEPT


def test_interfaces_wildcards_negation_and_intersection() -> None:
    iif, oif_neg, both, narrowed, never = forward_rules(
        [match(meta("iifname"), {"set": ["lan0", "vlan*"]}), ACCEPT],
        [match(meta("oif"), "wan0", "!="), ACCEPT],
        [match(meta("iifname"), "eth*"), match(meta("iifname"), "eth1"), match(meta("oifname"), "wan*", "!="),
         match(meta("oifname"), "dmz", "!="), ACCEPT],
        [match(meta("iifname"), "eth*"), match(meta("iifname"), "eth1*"), ACCEPT],
        [match(meta("iifname"), "lan0"), match(meta("iifname"), "lan1"), ACCEPT],
    )
    assert iif.match.in_iface == InterfaceMatch(("lan0", "vlan*"))
    assert iif.match.in_iface.matches("vlan42") and not iif.match.in_iface.matches("lan1")
    assert oif_neg.match.out_iface == InterfaceMatch(("wan0",), negate=True)
    assert both.match.in_iface == InterfaceMatch(("eth1",))
    assert both.match.out_iface == InterfaceMatch(("wan*", "dmz"), negate=True)
    assert narrowed.match.in_iface == InterfaceMatch(("eth1*",))
    assert never.match.is_empty()


def test_interface_wildcard_minus_one_name_is_unsupported() -> None:
    (rule_,) = forward_rules([match(meta("iifname"), "eth*"), match(meta("iifname"), "eth0", "!="), ACCEPT])
    assert rule_.unsupported and "interface" in rule_.unsupported[0]
    assert rule_.match.in_iface == InterfaceMatch(("eth*",))  # the understood part


def test_named_sets_and_maps_are_resolved_in_the_same_table() -> None:
    ruleset = parse(
        table(), table("inet", "other"),
        named_set("nets", [{"range": ["10.0.0.0", "11.0.0.0"]}, {"prefix": {"addr": "172.16.0.0", "len": 16}},
                           {"elem": {"val": "192.0.2.7", "timeout": 30, "comment": "x"}}], flags=["interval"]),
        named_set("nets", ["203.0.113.1"], tbl="other"),
        named_set("dyn", None, flags=["dynamic", "timeout"], size=65535),
        {"set": {"family": "inet", "name": "svc", "table": "f", "type": "inet_service",
                 "elem": [22, {"range": [80, 81]}]}},
        {"set": {"family": "inet", "name": "ifs", "table": "f", "type": "ifname", "elem": ["lan*", "dmz0"]}},
        {"map": {"family": "inet", "name": "m", "table": "f", "type": "ipv4_addr", "map": "mark",
                 "elem": [["198.51.100.1", 1]]}},
        chain("fwd", hook="forward"),
        rule("fwd", match(IP_SADDR, "@nets"), match(TCP_DPORT, "@svc"), ACCEPT),
        rule("fwd", match(IP_SADDR, "@nets", "!="), DROP),
        rule("fwd", match(IP_SADDR, "@dyn"), ACCEPT),
        rule("fwd", match(meta("iifname"), "@ifs"), match(IP_DADDR, "@m"), ACCEPT),
    )
    in_set, not_in_set, dynamic, iface = ruleset.chains["inet f fwd"].rules
    expected = parse_address_range("10.0.0.0", "11.0.0.0").union(net("172.16.0.0/16")).union(net("192.0.2.7"))
    assert in_set.match.src == expected
    assert in_set.match.dport == ports(22, (80, 81))
    assert not_in_set.match.src == IPV4_ADDRESSES.difference(expected)
    assert dynamic.match.src == IntervalSet() and dynamic.match.is_empty() and dynamic.unsupported == ()
    assert iface.match.in_iface == InterfaceMatch(("lan*", "dmz0"))
    assert iface.match.dst == net("198.51.100.1")


def test_concatenations_expand_into_one_rule_per_element() -> None:
    ruleset = parse(
        table(),
        {"set": {"family": "inet", "name": "svc", "table": "f", "type": ["ipv4_addr", "inet_proto", "inet_service"],
                 "elem": [{"concat": ["192.0.2.1", "tcp", 22]}, {"concat": ["192.0.2.2", "udp", 53]}]}},
        chain("fwd", hook="forward", policy="drop"),
        rule("fwd", match({"concat": [IP_DADDR, {"payload": {"protocol": "ip", "field": "protocol"}}, TH_DPORT]},
                          "@svc"), ACCEPT, handle=3),
        rule("fwd", match({"concat": [meta("iifname"), IP_SADDR]},
                          {"set": [{"concat": ["lan0", {"prefix": {"addr": "10.0.0.0", "len": 8}}]}]}), DROP),
        rule("fwd", match({"concat": [IP_DADDR, TCP_DPORT]}, {"set": [{"concat": ["192.0.2.9", 80]}]}, "!="), DROP),
    )
    first, second, single, negated = ruleset.chains["inet f fwd"].rules
    assert (first.match.dst, first.match.proto, first.match.dport) == (net("192.0.2.1"), ports(6), ports(22))
    assert (second.match.dst, second.match.proto, second.match.dport) == (net("192.0.2.2"), ports(17), ports(53))
    assert first.origin == second.origin and first.action.kind is ActionKind.ACCEPT
    assert single.match.in_iface == InterfaceMatch(("lan0",)) and single.match.src == net("10.0.0.0/8")
    assert negated.unsupported and "concatenation" in negated.unsupported[0]


def test_verdict_maps_expand_exactly() -> None:
    ruleset = parse(
        table(), chain("fwd", hook="forward"), chain("ssh"),
        {"map": {"family": "inet", "name": "vm", "table": "f", "type": "inet_service", "map": "verdict",
                 "elem": [[22, {"jump": {"target": "ssh"}}], [{"range": [80, 81]}, ACCEPT]]}},
        rule("fwd", {"vmap": {"key": TCP_DPORT, "data": "@vm"}}),
        rule("fwd", {"vmap": {"key": IP_SADDR, "data": {"set": [["10.0.0.1", DROP], ["*", {"return": None}]]}}}),
    )
    jump, accept, drop, rest = ruleset.chains["inet f fwd"].rules
    assert jump.match.dport == ports(22) and jump.action.kind is ActionKind.JUMP and jump.action.target == "inet f ssh"
    assert accept.match.dport == ports((80, 81)) and accept.action.kind is ActionKind.ACCEPT
    assert drop.match.src == net("10.0.0.1") and drop.action.kind is ActionKind.DROP
    assert rest.match.src == IPV4_ADDRESSES.difference(net("10.0.0.1")) and rest.action.kind is ActionKind.RETURN
    assert all(r.unsupported == () for r in (jump, accept, drop, rest))


def test_jump_goto_return_continue_and_reject() -> None:
    ruleset = parse(
        table(), chain("fwd", hook="forward"), chain("a"), chain("b"),
        rule("fwd", match(TCP_DPORT, 22), {"jump": {"target": "a"}}),
        rule("fwd", {"goto": {"target": "b"}}),
        rule("a", {"return": None}),
        rule("a", {"continue": None}),
        rule("b", {"reject": {"type": "tcp reset"}}),
        rule("b", {"reject": None}),
        rule("b", {"log": {"prefix": "x "}}, {"mangle": {"key": meta("mark"), "value": 1}},
             {"set": {"op": "add", "elem": IP_SADDR, "set": "@s"}}),
    )
    fwd, a, b = (ruleset.chains[f"inet f {n}"].rules for n in ("fwd", "a", "b"))
    assert (fwd[0].action.kind, fwd[0].action.target) == (ActionKind.JUMP, "inet f a")
    assert (fwd[1].action.kind, fwd[1].action.target) == (ActionKind.GOTO, "inet f b")
    assert [r.action.kind for r in a] == [ActionKind.RETURN, ActionKind.CONTINUE]
    assert [r.action.kind for r in b] == [ActionKind.REJECT, ActionKind.REJECT, ActionKind.CONTINUE]
    assert ruleset.unsupported == []


def test_jump_targets_resolve_within_the_same_table() -> None:
    with pytest.raises(ParseError, match=r"chain 'target'.*not defined in table inet f"):
        parse(table(), table("inet", "g"), chain("fwd", hook="forward"), chain("target", tbl="g"),
              rule("fwd", {"jump": {"target": "target"}}))


@pytest.mark.parametrize(("statement", "action", "fragment"), [
    ({"limit": {"rate": 10, "per": "second"}}, ActionKind.ACCEPT, "limit"),
    ({"queue": {"num": 0}}, ActionKind.UNKNOWN, "queue"),
    ({"masquerade": None}, ActionKind.UNKNOWN, "masquerade"),
    ({"dnat": {"addr": "10.0.0.1"}}, ActionKind.UNKNOWN, "dnat"),
    ({"quota": {"val": 10, "val_unit": "mbytes", "inv": True}}, ActionKind.ACCEPT, "quota"),
    ({"tunnel": {"whatever": 1}}, ActionKind.UNKNOWN, "not understood"),
    (match({"fib": {"result": "oif", "flags": ["saddr", "iif"]}}, False), ActionKind.ACCEPT, "fib"),
    (match(meta("mark"), 1), ActionKind.ACCEPT, "mark"),
    (match({"&": [{"payload": {"protocol": "tcp", "field": "flags"}}, 2]}, 2), ActionKind.ACCEPT, "tcp flags"),
])
def test_unsupported_constructs_are_reported_never_ignored(statement: dict[str, Any], action: ActionKind,
                                                            fragment: str) -> None:
    ruleset = parse(table(), chain("fwd", hook="forward"),
                    rule("fwd", match(IP_SADDR, "10.0.0.1"), statement, ACCEPT, handle=9))
    (rule_,) = ruleset.chains["inet f fwd"].rules
    assert rule_.unsupported and fragment in rule_.unsupported[0]
    assert rule_.action.kind is action
    assert rule_.match.src == net("10.0.0.1")  # the understood part is kept
    assert [u.reason for u in ruleset.unsupported] == list(rule_.unsupported)
    assert ruleset.unsupported[0].origin == rule_.origin and rule_.origin.text.startswith("[handle 9] ")


def test_unsupported_match_keeps_its_implied_protocol() -> None:
    (rule_,) = forward_rules([match({"payload": {"protocol": "icmp", "field": "type"}}, "echo-request"), ACCEPT])
    assert rule_.match.proto == ports(1) and "icmp type" in rule_.unsupported[0]


def test_pretty_printed_json_gives_real_line_numbers() -> None:
    objects = [table(), chain("fwd", hook="forward", policy="drop"), rule("fwd", match(TCP_DPORT, 22), ACCEPT),
               rule("fwd", DROP)]
    text = json.dumps({"nftables": objects}, indent=2)
    ruleset = parse_nftables_json(text, source="pretty.json")
    lines = text.splitlines()
    rules = ruleset.chains["inet f fwd"].rules
    assert [lines[r.origin.line - 1].strip() for r in rules] == ['"rule": {', '"rule": {']
    assert rules[0].origin.line < rules[1].origin.line
    policy_origin = ruleset.chains["inet f fwd"].policy_origin
    assert policy_origin is not None and lines[policy_origin.line - 1].strip() == '"chain": {'


def test_single_line_json_numbers_rules_by_position() -> None:
    ruleset = parse(table(), chain("a"), chain("b"), rule("a", DROP), rule("b", DROP), rule("a", ACCEPT))
    assert [r.origin.line for r in ruleset.chains["inet f a"].rules] == [1, 3]
    assert [r.origin.line for r in ruleset.chains["inet f b"].rules] == [2]


# ----------------------------------------------------------------------------------------------- errors


def test_invalid_json_reports_line_and_column() -> None:
    with pytest.raises(ParseError) as caught:
        parse_nftables_json('{"nftables": [\n  {"table": {"family": "ip",, }}]}', source="bad.json")
    assert caught.value.line == 2 and "column" in caught.value.reason and caught.value.file == "bad.json"


@pytest.mark.parametrize("text", ['[{"table": {}}]', '{"tables": []}', '{"nftables": {"table": 1}}', "42"])
def test_not_an_nftables_document(text: str) -> None:
    with pytest.raises(ParseError, match="not an nftables JSON ruleset"):
        parse_nftables_json(text, source="x.json")


@pytest.mark.parametrize(("objects", "message"), [
    ([table(), rule("missing", ACCEPT)], "chain 'missing'"),
    ([table(), chain("c"), rule("c", ACCEPT, tbl="nope")], "table inet nope"),
    ([chain("c", tbl="ghost")], "table inet ghost"),
    ([table(), chain("c"), rule("c", match(IP_SADDR, "@nothere"), ACCEPT)], "set '@nothere'"),
    ([table(), chain("c"), rule("c", {"vmap": {"key": TCP_DPORT, "data": "@vm"}})], "set '@vm'"),
    ([table(), chain("c"), {"rule": {"family": "inet", "table": "f", "chain": "c"}}], "expr"),
])
def test_dangling_references_are_parse_errors(objects: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse(*objects)


def test_many_rules_parse_quickly() -> None:
    objects: list[dict[str, Any]] = [table(), chain("fwd", hook="forward", policy="drop")]
    for i in range(20_000):
        objects.append(rule("fwd", match(IP_SADDR, {"prefix": {"addr": f"10.{i % 200}.0.0", "len": 16}}),
                            match(IP_DADDR, f"192.168.{i // 250 % 250}.{i % 250}"),
                            match(TCP_DPORT, {"set": [22, 443]}), ACCEPT, handle=i))
    text = json.dumps({"nftables": objects})
    started = time.process_time()
    ruleset = parse_nftables_json(text, source="big.json")
    elapsed = time.process_time() - started
    assert len(ruleset.chains["inet f fwd"].rules) == 20_000
    assert elapsed < 30, f"20,000 rules took {elapsed:.1f}s of CPU"


# ----------------------------------------------------------------------------------------------- corpus


def corpus_files(root: Path) -> list[Path]:
    return sorted((root / "nftables").glob("netfilter_nftables__tests/**/*.json-nft")) + sorted(
        (root / "nftables_json" / "RedHatInsights__insights-core").glob("*.json"))


def load(root: Path, relative: str) -> Ruleset:
    path = root / relative
    return parse_nftables_json(path.read_text(encoding="utf-8"), source=str(path))


def test_every_corpus_file_parses(firewall_corpus: Path) -> None:
    files = corpus_files(firewall_corpus)
    assert len(files) >= 25
    with_unsupported = 0
    for path in files:
        ruleset = parse_nftables_json(path.read_text(encoding="utf-8"), source=str(path))
        with_unsupported += bool(ruleset.unsupported)
        for chain_ in ruleset.chains.values():
            for rule_ in chain_.rules:
                assert rule_.origin.file == str(path) and rule_.origin.line >= 1 and rule_.origin.text
                if rule_.action.kind in (ActionKind.JUMP, ActionKind.GOTO):
                    assert rule_.action.target in ruleset.chains
    assert with_unsupported >= 8  # queue, nat, limit, quota, icmp type, fib, ... are reported


def test_corpus_include_chain(firewall_corpus: Path) -> None:
    ruleset = load(firewall_corpus, "nftables/netfilter_nftables__tests/include/dumps/0020include_chain_0.json-nft")
    assert set(ruleset.chains) == {"inet filter input2", "inet filter output2"}
    input2 = ruleset.chains["inet filter input2"]
    assert (input2.hook, input2.policy, input2.priority) == ("input", Verdict.ACCEPT, 0)
    (drop,) = input2.rules
    assert drop.match.src == net("1.2.3.4") and drop.match.dport == ports(22, 123, 443)
    assert drop.match.proto == ports(6) and drop.action.kind is ActionKind.DROP
    assert ruleset.forward == []


def test_corpus_forward_chain_with_concatenated_set(firewall_corpus: Path) -> None:
    ruleset = load(firewall_corpus,
                   "nftables/netfilter_nftables__tests/sets/dumps/0037_set_with_inet_service_0.json-nft")
    assert ruleset.forward == ["inet filter forward"]
    forward = ruleset.chains["inet filter forward"]
    assert forward.policy is Verdict.DROP
    established, *elements = forward.rules
    assert not established.match.matches_new and established.action.kind is ActionKind.ACCEPT
    assert len(elements) == 5 and all(r.match.matches_new for r in elements)
    triples = {(r.match.dst, r.match.proto, r.match.dport) for r in elements}
    assert (net("192.168.0.12"), ports(17), ports(53)) in triples
    assert (net("192.168.0.113"), ports(6), ports(22)) in triples


def test_corpus_named_interval_sets_reach_matches(firewall_corpus: Path) -> None:
    ruleset = load(firewall_corpus, "nftables/netfilter_nftables__tests/sets/dumps/0001named_interval_0.json-nft")
    s1, s2, s3_ip, s3_ip6, s4 = ruleset.chains["inet t c"].rules
    assert s1.match.src == parse_address_range("10.0.0.0", "11.0.0.0").union(net("172.16.0.0/16"))
    assert s2.match.dst == net("fe00::/64").union(parse_address_range("fe11::", "fe22::"))
    assert s3_ip.match.proto == IntervalSet(((10, 20), (50, 60))) and s3_ip.match.src == IPV4_ADDRESSES
    assert s3_ip6.match.src == IPV6_ADDRESSES
    assert s4.match.dport == IntervalSet(((0, 1024), (8080, 8082), (10000, 40000)))
    assert ruleset.unsupported == []


def test_corpus_priorities(firewall_corpus: Path) -> None:
    ruleset = load(firewall_corpus, "nftables/netfilter_nftables__tests/chains/dumps/0021prio_0.json-nft")
    priorities = [ruleset.chains[name].priority for name in ruleset.forward]
    assert priorities == sorted(priorities) and len(ruleset.forward) == 60
    assert ruleset.forward[:3] == ["ip x forwardrawm11", "ip6 x forwardrawm11", "inet x forwardrawm11"]
    assert ruleset.chains["ip x forwardrawm11"].priority == -311
    assert all(ruleset.chains[name].hook == "forward" for name in ruleset.forward)
    assert {u.reason.split(":")[0] for u in ruleset.unsupported} == {"netdev ingress chain", "netdev egress chain"}


def test_corpus_unsupported_constructs_are_reported(firewall_corpus: Path) -> None:
    base = "nftables/netfilter_nftables__tests/"
    nat = load(firewall_corpus, base + "optimizations/dumps/merge_nat.json-nft")
    reasons = " ".join(u.reason for u in nat.unsupported)
    assert "masquerade" in reasons and "dnat" in reasons and "redirect" in reasons
    masq = next(r for r in nat.chains["ip test2 y"].rules if r.unsupported and "masquerade" in r.unsupported[0])
    assert masq.action.kind is ActionKind.UNKNOWN
    assert masq.match.src == net("10.141.11.0/24").union(net("10.141.13.0/24"))

    defines = load(firewall_corpus, base + "nft-f/dumps/0012different_defines_0.json-nft")
    queued = [r for r in defines.chains["inet t c"].rules if r.action.kind is ActionKind.UNKNOWN]
    assert len(queued) == 5 and all("queue" in r.unsupported[0] for r in queued)
    assert all(r.match.out_iface == InterfaceMatch(("foobar",)) and r.match.sport == ports(1) for r in queued)

    pipe = load(firewall_corpus, base + "parsing/dumps/large_rule_pipe.json-nft")
    assert pipe.forward == ["inet firewalld filter_FORWARD"]
    assert any("fib" in u.reason for u in pipe.unsupported)

    limits = load(firewall_corpus, base + "maps/dumps/named_limits.json-nft")
    assert [u.reason.split(":")[0] for u in limits.unsupported] == ["limit statement", "limit statement"]


def test_corpus_ct_state_and_dynamic_sets(firewall_corpus: Path) -> None:
    ruleset = load(firewall_corpus, "nftables/netfilter_nftables__tests/nft-f/dumps/0032pknock_0.json-nft")
    rules = ruleset.chains["inet portknock input"].rules
    knocked = next(r for r in rules if "ip saddr @clients_ipv4" in r.origin.text)
    assert knocked.match.src == IntervalSet() and knocked.action.kind is ActionKind.ACCEPT  # empty dynamic set
    established = next(r for r in rules if "established" in r.origin.text)
    assert not established.match.matches_new
    reject = rules[-1]
    assert reject.action.kind is ActionKind.REJECT and reject.match.dport == ports(22)
    assert ruleset.unsupported == []


def test_corpus_insights_verdict_map(firewall_corpus: Path) -> None:
    ruleset = load(firewall_corpus, "nftables_json/RedHatInsights__insights-core/nft_list_ruleset_two_chains.json")
    assert set(ruleset.chains) == {"ip example_table example_chain", "ip example_table postrouting"}
    chain_ = ruleset.chains["ip example_table example_chain"]
    assert (chain_.hook, chain_.policy) == ("input", Verdict.ACCEPT)
    first, second, third, ssh = chain_.rules
    assert [(r.match.src, r.action.kind) for r in (first, second, third)] == [
        (net("192.0.2.1"), ActionKind.ACCEPT), (net("192.0.2.2"), ActionKind.DROP),
        (net("192.0.2.3"), ActionKind.ACCEPT)]
    assert ssh.match.dport == ports(22) and ssh.origin.text == "[handle 7] tcp dport 22 counter accept"
    assert ruleset.addresses == IPV4_ADDRESSES


# ----------------------------------------------------------------------------------------------- real nft


def nft_json(ruleset_text: str, tmp_path: Path) -> str:
    """Load a ruleset into a throwaway network namespace and return ``nft -j list ruleset``."""
    require_kernel_lab()  # skips naming what is missing: root, ip, nft, namespaces
    ip, nft = tool_path("ip"), tool_path("nft")
    namespace = f"mamoru-test-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "ruleset.nft"
    path.write_text(ruleset_text, encoding="utf-8")
    subprocess.run([ip, "netns", "add", namespace], check=True, capture_output=True)
    try:
        loaded = subprocess.run([ip, "netns", "exec", namespace, nft, "-f", str(path)], capture_output=True, text=True)
        assert loaded.returncode == 0, f"nft refused the test ruleset: {loaded.stderr}"
        listed = subprocess.run([ip, "netns", "exec", namespace, nft, "-j", "list", "ruleset"], check=True,
                                capture_output=True, text=True)
        return listed.stdout
    finally:
        subprocess.run([ip, "netns", "delete", namespace], check=False, capture_output=True)


def test_real_nft_round_trip(tmp_path: Path) -> None:
    text = nft_json("""
table inet fw {
    set admins { type ipv4_addr; flags interval; elements = { 10.9.0.0/16, 10.10.0.1-10.10.0.9 } }
    chain forward {
        type filter hook forward priority filter + 5; policy drop;
        ct state established,related accept
        ct state != invalid iifname "lan*" oifname != "wan0" ip saddr @admins tcp dport { 22, 8000-8010 } accept
        ip daddr != { 192.168.0.0/16, 172.16.0.0/12 } udp dport 53 accept
        meta l4proto icmp jump icmp_chain
        ip saddr . tcp dport { 10.1.1.1 . 443, 10.1.1.2 . 80 } accept
        tcp dport vmap { 25 : drop, 110 : accept }
        limit rate 5/second accept
    }
    chain icmp_chain {
        icmp type echo-request accept
        return
    }
    chain early { type filter hook forward priority mangle; policy accept; }
}
table ip legacy {
    chain forward {
        type filter hook forward priority 0; policy accept;
        ip protocol udp drop
    }
}
""", tmp_path)
    ruleset = parse_nftables_json(text, source="nft")
    assert ruleset.forward == ["inet fw early", "ip legacy forward", "inet fw forward"]
    assert ruleset.chains["inet fw forward"].priority == 5
    established, admin, dns, icmp, concat1, concat2, smtp, pop, limited = ruleset.chains["inet fw forward"].rules
    assert not established.match.matches_new
    assert admin.match.matches_new and admin.match.in_iface == InterfaceMatch(("lan*",))
    assert admin.match.out_iface == InterfaceMatch(("wan0",), negate=True)
    assert admin.match.src == net("10.9.0.0/16").union(parse_address_range("10.10.0.1", "10.10.0.9"))
    assert admin.match.dport == ports(22, (8000, 8010)) and admin.action.kind is ActionKind.ACCEPT
    assert dns.match.dst == IPV4_ADDRESSES.difference(net("192.168.0.0/16")).difference(net("172.16.0.0/12"))
    assert dns.match.proto == ports(17) and dns.match.dport == ports(53)
    assert icmp.action.target == "inet fw icmp_chain" and icmp.match.proto == ports(1)
    assert {(r.match.src, r.match.dport) for r in (concat1, concat2)} == {(net("10.1.1.1"), ports(443)),
                                                                         (net("10.1.1.2"), ports(80))}
    assert (smtp.match.dport, smtp.action.kind) == (ports(25), ActionKind.DROP)
    assert (pop.match.dport, pop.action.kind) == (ports(110), ActionKind.ACCEPT)
    assert limited.unsupported and "limit" in limited.unsupported[0]
    (udp_drop,) = ruleset.chains["ip legacy forward"].rules
    assert udp_drop.match.src == IPV4_ADDRESSES and udp_drop.match.proto == ports(17)
    icmp_rules = ruleset.chains["inet fw icmp_chain"].rules
    assert icmp_rules[0].unsupported and icmp_rules[1].action.kind is ActionKind.RETURN


def test_real_nft_ct_state_forms(tmp_path: Path) -> None:
    text = nft_json("""
table inet t {
    chain c {
        ct state != established | related | new accept
        ct state == established,related accept
        ct state established,related,new accept
        ct state ! established,related accept
        ct state { established, related } accept
        ct state != { established, related } accept
        ct state new accept
    }
}
""", tmp_path)
    rules = parse_nftables_json(text, source="nft").chains["inet t c"].rules
    assert [r.match.matches_new for r in rules] == [True, False, True, True, False, True, True]
    assert all(r.unsupported == () for r in rules)
