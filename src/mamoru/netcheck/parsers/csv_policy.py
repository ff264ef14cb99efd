"""Parser for the vendor-neutral CSV policy export ``seq,src,dst,proto,dport,action,enabled``.

Rows are evaluated in ascending ``seq``; the single chain ``policy`` ends in an implicit deny, as
FortiGate and PAN-OS policies do. IPv4 and IPv6 addresses may be mixed.
"""

from __future__ import annotations

import csv
import io
import re
from typing import TypeVar

from mamoru.netcheck.model import (
    ALL_ADDRESSES,
    PORT_MAX,
    Action,
    ActionKind,
    Chain,
    IntervalSet,
    Match,
    Origin,
    ParseError,
    Rule,
    Ruleset,
    Unsupported,
    Verdict,
    parse_address_range,
    parse_network,
    protocol_number,
)

__all__ = ["CHAIN", "COLUMNS", "parse_csv_policy"]

CHAIN = "policy"
COLUMNS = ("seq", "src", "dst", "proto", "dport", "action", "enabled")
_ANY = frozenset({"", "any", "all"})
_ACTIONS = {"accept": ActionKind.ACCEPT, "allow": ActionKind.ACCEPT, "permit": ActionKind.ACCEPT,
            "deny": ActionKind.DROP, "drop": ActionKind.DROP, "reject": ActionKind.REJECT}
_ENABLED = {"yes": True, "true": True, "1": True, "enable": True, "enabled": True,
            "no": False, "false": False, "0": False, "disable": False, "disabled": False}
_PORT_PROTOCOLS = frozenset({6, 17, 132, 33, 136})  # tcp, udp, sctp, dccp, udplite
_SEPARATORS = re.compile(r"[;\s]+")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_T = TypeVar("_T")


class _CellError(Exception):
    """A bad cell value; the message is completed with line and column by the caller."""


def parse_csv_policy(text: str, *, source: str) -> Ruleset:
    """Parse a CSV policy export into a ruleset with the single forward chain ``policy``.

    Raises :class:`ParseError` naming line, column and value of the first bad cell.
    """
    nul = text.find("\x00")
    if nul >= 0:
        raise ParseError(source, text.count("\n", 0, nul) + 1, "NUL byte: this is binary data, not text")
    text = text.removeprefix("\ufeff")
    lines = _LINE_BREAK.split(text)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ParseError(source, 1, f"empty file: expected the header {','.join(COLUMNS)}") from None
    except csv.Error as exc:
        raise ParseError(source, 1, f"unreadable CSV header ({exc})") from None
    names = [name.strip().lower() for name in header]
    missing = [name for name in COLUMNS if name not in names]
    if missing:
        raise ParseError(source, 1, f"header lacks column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                                    f"(expected {','.join(COLUMNS)}; found {','.join(header)!r})")
    duplicated = sorted({name for name in names if name in COLUMNS and names.count(name) > 1})
    if duplicated:
        raise ParseError(source, 1, f"header repeats column {', '.join(duplicated)}")
    index = {name: names.index(name) for name in COLUMNS}

    ruleset = Ruleset(source=source, format="csv", addresses=ALL_ADDRESSES)
    chain = Chain(CHAIN, policy=Verdict.DROP, policy_origin=Origin(source, 0, "implicit deny"), hook="forward")
    ruleset.chains[CHAIN] = chain
    ruleset.forward = [CHAIN]
    rows: list[tuple[int, Rule, list[str]]] = []
    seen: dict[int, int] = {}  # seq -> line
    end = reader.line_num
    while True:
        start = end + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ParseError(source, reader.line_num, f"unreadable CSV ({exc})") from None
        end = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise ParseError(source, start, f"row has {len(row)} fields but the header has {len(header)}")
        origin = Origin(source, start, "\n".join(lines[start - 1:end]).strip())
        cells = {name: row[position].strip() for name, position in index.items()}
        column = "seq"
        try:
            seq = _seq(cells["seq"])
            if seq in seen:
                raise _CellError(f"duplicate seq (already used on line {seen[seq]})")
            seen[seq] = start
            column = "enabled"
            enabled = _lookup(_ENABLED, cells["enabled"], "yes/no, true/false, 1/0 or enable/disable")
            column = "action"
            kind = _lookup(_ACTIONS, cells["action"], "accept/allow/permit, deny/drop or reject")
            column = "src"
            src = _addresses(cells["src"])
            column = "dst"
            dst = _addresses(cells["dst"])
            column = "proto"
            proto, proto_numbers = _protocols(cells["proto"])
            column = "dport"
            dport = _ports(cells["dport"])
        except _CellError as exc:
            raise ParseError(source, start, f"column {column} value {cells[column]!r}: {exc}") from None
        reasons: list[str] = []
        if dport is not None and (proto_numbers is None or not proto_numbers <= _PORT_PROTOCOLS):
            reasons.append(f"dport {cells['dport']} with proto {cells['proto'] or 'any'}: a port condition is "
                           "only modelled for tcp/udp/sctp")
        if not enabled:
            continue
        rule = Rule(Match(src=src, dst=dst, proto=proto, dport=dport), Action(kind), origin, tuple(reasons))
        rows.append((seq, rule, reasons))
    rows.sort(key=lambda item: item[0])
    for _, rule, reasons in rows:
        chain.rules.append(rule)
        ruleset.unsupported.extend(Unsupported(rule.origin, reason) for reason in reasons)
    return ruleset


def _seq(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", text):
        raise _CellError("expected an integer")
    return int(text)


def _lookup(table: dict[str, _T], text: str, expected: str) -> _T:
    value = table.get(text.lower())
    if value is None:
        raise _CellError(f"expected {expected}")
    return value


def _addresses(text: str) -> IntervalSet | None:
    parts = [part for part in _SEPARATORS.split(text) if part]
    if not parts or any(part.lower() in _ANY for part in parts):
        return None
    intervals: list[tuple[int, int]] = []
    for part in parts:
        try:
            if "-" in part:
                first, _, last = part.partition("-")
                value = parse_address_range(first, last)
            else:
                value = parse_network(part)
        except ValueError as exc:
            raise _CellError(f"bad address {part!r} ({exc})") from None
        intervals.extend(value.intervals)
    return IntervalSet(intervals)


def _protocols(text: str) -> tuple[IntervalSet | None, frozenset[int] | None]:
    parts = [part for part in _SEPARATORS.split(text) if part]
    if not parts or any(part.lower() in _ANY for part in parts):
        return None, None
    numbers: set[int] = set()
    for part in parts:
        try:
            numbers.add(protocol_number(part))
        except ValueError as exc:
            raise _CellError(str(exc)) from None
    if 0 in numbers:  # protocol 0 conventionally means "any"
        return None, None
    return IntervalSet((number, number) for number in numbers), frozenset(numbers)


def _ports(text: str) -> IntervalSet | None:
    parts = [part for part in _SEPARATORS.split(text) if part]
    if not parts or any(part.lower() in _ANY for part in parts):
        return None
    intervals: list[tuple[int, int]] = []
    for part in parts:
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if match is None:
            raise _CellError(f"bad port {part!r} (expected 443 or 1000-2000)")
        lo = int(match.group(1))
        hi = int(match.group(2)) if match.group(2) is not None else lo
        if hi > PORT_MAX:
            raise _CellError(f"port {part!r} is out of range 0-65535")
        if lo > hi:
            raise _CellError(f"empty port range {part!r} (first port after last)")
        intervals.append((lo, hi))
    return IntervalSet(intervals)
