"""The CSV policy parser: ordering by seq, value forms, implicit deny, unsupported notes and errors."""

from __future__ import annotations

import pytest

from mamoru.netcheck.model import (
    ALL_ADDRESSES,
    Action,
    ActionKind,
    IntervalSet,
    Origin,
    ParseError,
    Ruleset,
    Verdict,
    parse_address_range,
    parse_network,
)
from mamoru.netcheck.parsers.csv_policy import parse_csv_policy

HEADER = "seq,src,dst,proto,dport,action,enabled\n"


def parse(rows: str, header: str = HEADER) -> Ruleset:
    return parse_csv_policy(header + rows, source="policy.csv")


def error_of(text: str) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse_csv_policy(text, source="bad.csv")
    assert info.value.file == "bad.csv"
    return info.value


def test_single_forward_chain_with_implicit_deny() -> None:
    ruleset = parse("10,10.0.0.0/8,192.168.1.10,tcp,443,accept,yes\n")
    assert ruleset.format == "csv"
    assert ruleset.forward == ["policy"]
    assert list(ruleset.chains) == ["policy"]
    assert ruleset.addresses == ALL_ADDRESSES
    chain = ruleset.chains["policy"]
    assert chain.policy is Verdict.DROP
    assert chain.policy_origin == Origin("policy.csv", 0, "implicit deny")
    rule = chain.rules[0]
    assert rule.match.src == parse_network("10.0.0.0/8")
    assert rule.match.dst == parse_network("192.168.1.10")
    assert rule.match.proto == IntervalSet.point(6)
    assert rule.match.dport == IntervalSet.point(443)
    assert rule.match.sport is None and rule.match.in_iface is None and rule.match.out_iface is None
    assert rule.action == Action(ActionKind.ACCEPT)
    assert rule.origin == Origin("policy.csv", 2, "10,10.0.0.0/8,192.168.1.10,tcp,443,accept,yes")
    assert ruleset.unsupported == []


def test_rows_are_ordered_by_seq_and_keep_their_physical_lines() -> None:
    ruleset = parse("30,any,any,any,,deny,yes\n"
                    "10,10.1.0.0/16,any,udp,53,permit,true\n"
                    "\n"
                    "20,10.2.0.0/16,any,tcp,22,reject,1\n")
    rules = ruleset.chains["policy"].rules
    assert [rule.origin.line for rule in rules] == [3, 5, 2]
    assert [rule.action.kind for rule in rules] == [ActionKind.ACCEPT, ActionKind.REJECT, ActionKind.DROP]


def test_disabled_rows_produce_no_rule() -> None:
    ruleset = parse("1,any,any,any,any,accept,no\n2,any,any,any,any,accept,Disable\n3,any,any,any,any,drop,ENABLE\n")
    assert [rule.origin.line for rule in ruleset.chains["policy"].rules] == [4]


def test_column_order_is_free_and_extra_columns_are_ignored() -> None:
    header = "Name,Action,Enabled,Dst,Src,Seq,DPort,Proto,Comment\n"
    row = 'web,ALLOW,Yes,192.168.1.0/24,any,5,80;443,TCP,"public, web"\n'
    rule = parse(row, header=header).chains["policy"].rules[0]
    assert rule.match.dst == parse_network("192.168.1.0/24")
    assert rule.match.src is None
    assert rule.match.dport == IntervalSet(((80, 80), (443, 443)))
    assert rule.action == Action(ActionKind.ACCEPT)


def test_address_forms_lists_ranges_and_ipv6() -> None:
    rule = parse("1,10.0.0.0/24;10.0.1.0/24 192.168.1.5-192.168.1.9,2001:db8::/32,any,,accept,yes\n") \
        .chains["policy"].rules[0]
    expected = (parse_network("10.0.0.0/24").union(parse_network("10.0.1.0/24"))
                .union(parse_address_range("192.168.1.5", "192.168.1.9")))
    assert rule.match.src == expected
    assert rule.match.dst == parse_network("2001:db8::/32")
    assert parse("1,all,,any,any,deny,yes\n").chains["policy"].rules[0].match.src is None
    assert parse("1,10.0.0.1;any,,any,any,deny,yes\n").chains["policy"].rules[0].match.src is None


def test_protocol_and_port_forms() -> None:
    rules = parse("1,any,any,17,1000-2000;3000,accept,yes\n2,any,any,icmp,,accept,yes\n3,any,any,any,any,drop,yes\n") \
        .chains["policy"].rules
    assert (rules[0].match.proto, rules[0].match.dport) == (IntervalSet.point(17), IntervalSet(((1000, 2000),
                                                                                                 (3000, 3000))))
    assert (rules[1].match.proto, rules[1].match.dport) == (IntervalSet.point(1), None)
    assert (rules[2].match.proto, rules[2].match.dport) == (None, None)


@pytest.mark.parametrize("proto", ["any", "icmp"])
def test_port_without_a_port_protocol_is_unsupported(proto: str) -> None:
    ruleset = parse(f"1,any,any,tcp,22,accept,yes\n2,any,any,{proto},443,accept,yes\n")
    rules = ruleset.chains["policy"].rules
    assert rules[0].unsupported == ()
    assert len(rules[1].unsupported) == 1 and "443" in rules[1].unsupported[0]
    assert [(u.origin.line, u.reason) for u in ruleset.unsupported] == [(3, rules[1].unsupported[0])]


def test_quoted_multiline_row_reports_its_first_line() -> None:
    ruleset = parse('1,any,any,tcp,22,accept,yes\n2,"10.0.0.1\n10.0.0.2",any,tcp,80,accept,yes\n'
                    "3,any,any,any,,drop,yes\n")
    rules = ruleset.chains["policy"].rules
    assert [rule.origin.line for rule in rules] == [2, 3, 5]
    assert rules[1].match.src == parse_network("10.0.0.1").union(parse_network("10.0.0.2"))


def test_byte_order_mark_and_crlf_are_tolerated() -> None:
    ruleset = parse_csv_policy("\ufeffseq,src,dst,proto,dport,action,enabled\r\n1,any,any,tcp,22,drop,yes\r\n",
                               source="x")
    assert ruleset.chains["policy"].rules[0].origin.line == 2


def test_header_only_gives_an_empty_policy() -> None:
    ruleset = parse("")
    assert ruleset.chains["policy"].rules == []
    assert ruleset.chains["policy"].policy is Verdict.DROP


@pytest.mark.parametrize(
    ("rows", "line", "fragments"),
    [
        ("1,any,any,tcp,22,accept,yes\n1,any,any,tcp,23,accept,yes\n", 3, ["column seq", "'1'", "duplicate", "line 2"]),
        ("x1,any,any,tcp,22,accept,yes\n", 2, ["column seq", "'x1'", "integer"]),
        ("1,10.0.0.300,any,tcp,22,accept,yes\n", 2, ["column src", "'10.0.0.300'"]),
        ("1,any,fileserver,tcp,22,accept,yes\n", 2, ["column dst", "'fileserver'"]),
        ("1,10.0.0.9-10.0.0.1,any,tcp,22,accept,yes\n", 2, ["column src", "empty"]),
        ("1,any,any,tcpx,22,accept,yes\n", 2, ["column proto", "'tcpx'"]),
        ("1,any,any,tcp,70000,accept,yes\n", 2, ["column dport", "'70000'", "out of range"]),
        ("1,any,any,tcp,20-10,accept,yes\n", 2, ["column dport", "'20-10'"]),
        ("1,any,any,tcp,http,accept,yes\n", 2, ["column dport", "'http'"]),
        ("1,any,any,tcp,22,maybe,yes\n", 2, ["column action", "'maybe'"]),
        ("1,any,any,tcp,22,accept,perhaps\n", 2, ["column enabled", "'perhaps'"]),
        ("1,any,any,tcp,22,accept\n", 2, ["6 fields", "7"]),
    ],
)
def test_bad_cells_raise_parse_error_naming_line_column_and_value(rows: str, line: int,
                                                                 fragments: list[str]) -> None:
    error = error_of(HEADER + rows)
    assert error.line == line
    for fragment in fragments:
        assert fragment in error.reason


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("", "empty file"), ("seq,src,dst,proto,action,enabled\n", "dport"),
     ("seq,src,dst,proto,dport,action,enabled,seq\n", "repeats column seq"),
     ("*filter\n:FORWARD DROP [0:0]\nCOMMIT\n", "header lacks")],
)
def test_bad_header(text: str, fragment: str) -> None:
    error = error_of(text)
    assert error.line == 1
    assert fragment in error.reason


def test_binary_input_is_refused() -> None:
    assert error_of(HEADER + "1,any,any\x00,tcp,22,accept,yes\n").line == 2
