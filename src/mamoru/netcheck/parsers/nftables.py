"""Read the JSON printed by ``nft -j list ruleset`` (libnftables-json(5)) into a :class:`Ruleset`.

Only what a forwarded IP packet meets is modelled: tables of family ``ip``, ``ip6`` and ``inet``. Tables of
family ``arp`` and ``bridge`` are read (their references are checked) but not modelled; base chains of a
``netdev`` table are reported as unsupported, because an ingress/egress chain there can drop a packet that is
then never forwarded.

Chains are named ``"<family> <table> <chain>"`` so that tables never clash; ``jump``/``goto`` targets are
resolved within the rule's own table. ``Ruleset.forward`` lists the base chains of type ``filter`` on hook
``forward``, ordered by priority (ties: order of appearance).

The table family restricts addresses: every rule of an ``ip`` table gets ``src ⊆ IPV4_ADDRESSES`` and every
rule of an ``ip6`` table ``src ⊆ IPV6_ADDRESSES``; matches that only an IPv4 (IPv6) packet can meet
(``ip saddr``, ``ip protocol``, ``meta nfproto ipv4``...) do the same inside an ``inet`` table.

Origins: JSON carries no line numbers of the original ``nft`` text. When the JSON is pretty-printed (several
lines), a rule's :class:`Origin` line is the line of its ``"rule": {`` key in the JSON text (a chain's policy
origin: its ``"chain": {`` key). When the JSON is on a single line (what ``nft -j`` prints), the line is the
1-based position of the rule among all rule objects of the document (a chain: among chain objects). The
origin text is a compact rendering in nft syntax, prefixed by ``[handle N]`` when the rule has a handle.

Approximations, stated once: ``ip6 nexthdr`` is read as the layer-4 protocol (true for packets without
extension headers); ``meta iif``/``meta oif`` are read as interface names; named sets are read as the
snapshot printed, so a ``dynamic``/``timeout`` set without elements is exactly empty. Anything else the
parser does not understand is reported in ``Rule.unsupported`` and ``Ruleset.unsupported``, never guessed.
"""

from __future__ import annotations

import gc
import ipaddress
import json
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any

from mamoru.netcheck.model import (
    ALL_ADDRESSES,
    ALL_PORTS,
    ALL_PROTOCOLS,
    IPV4_ADDRESSES,
    IPV6_ADDRESSES,
    V4_BASE,
    Action,
    ActionKind,
    Chain,
    InterfaceMatch,
    IntervalSet,
    Match,
    Origin,
    ParseError,
    Rule,
    Ruleset,
    Unsupported,
    Verdict,
    address_value,
    protocol_number,
)

__all__ = ["parse_nftables_json"]

FORMAT = "nftables-json"
MODELLED_FAMILIES = ("ip", "ip6", "inet")
KNOWN_FAMILIES = ("ip", "ip6", "inet", "arp", "bridge", "netdev")
MAX_EXPANSION = 4096  # concatenated sets and verdict maps become one rule per element, up to this many
TEXT_LIMIT = 400

EMPTY = IntervalSet()
FAMILY_ADDRESSES = {"ip": IPV4_ADDRESSES, "ip6": IPV6_ADDRESSES, "inet": ALL_ADDRESSES}

# nft(8), "PRIORITY": the standard priority names of the ip, ip6 and inet families (netdev/arp: filter only).
STANDARD_PRIORITIES = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100}
BRIDGE_PRIORITIES = {"dstnat": -300, "filter": -200, "out": 100, "srcnat": 300}
PLAIN_WORD = re.compile(r"[\w.:/\-]+")
PRIORITY_TEXT = re.compile(r"^\s*([a-z]+|-?\d+)\s*(?:([+-])\s*(\d+))?\s*$")

# Layer-4 protocols whose header names a payload protocol (``tcp dport`` implies ``meta l4proto tcp``).
L4_PROTOCOLS = {"tcp": 6, "udp": 17, "udplite": 136, "sctp": 132, "dccp": 33, "icmp": 1, "icmpv6": 58,
                "igmp": 2, "esp": 50, "ah": 51, "comp": 108, "gre": 47}
EXTRA_PROTOCOLS = {"dccp": 33, "comp": 108, "ipip": 4, "ipv6": 41, "ipencap": 4, "pim": 103, "vrrp": 112,
                   "l2tp": 115, "ospf": 89, "mh": 135}
# Service names nft may print instead of numbers (a fixed table: /etc/services differs between machines).
SERVICES = {"ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53, "bootps": 67,
            "bootpc": 68, "tftp": 69, "http": 80, "kerberos": 88, "pop3": 110, "sunrpc": 111, "ntp": 123,
            "netbios-ns": 137, "netbios-dgm": 138, "netbios-ssn": 139, "imap": 143, "imap2": 143, "snmp": 161,
            "snmp-trap": 162, "ldap": 389, "https": 443, "microsoft-ds": 445, "isakmp": 500, "syslog": 514,
            "submission": 587, "ldaps": 636, "imaps": 993, "pop3s": 995, "openvpn": 1194, "ms-sql-s": 1433,
            "radius": 1812, "radius-acct": 1813, "nfs": 2049, "mysql": 3306, "ms-wbt-server": 3389,
            "ipsec-nat-t": 4500, "postgresql": 5432, "http-alt": 8080, "webcache": 8080}
CT_STATES = frozenset({"new", "established", "related", "invalid", "untracked"})
NEW_STATE = "new"

# Statements that never decide anything: the packet goes on to the next statement.
CONTINUE_STATEMENTS = frozenset({"counter", "log", "secmark", "ct helper", "ct timeout", "ct expectation", "dup",
                                 "flow", "last", "comment"})
# Statements that make the rule's outcome unknown, with why.
UNSUPPORTED_STATEMENTS = {
    "limit": "limit statement: a rate limit can fail, which the analysis cannot know",
    "quota": "quota statement: a quota can be exhausted, which the analysis cannot know",
    "ct count": "ct count statement: a connection-count limit can fail, which the analysis cannot know",
    "queue": "queue statement: the verdict is given by a userspace program",
    "snat": "snat statement: address translation is not modelled",
    "dnat": "dnat statement: address translation is not modelled",
    "masquerade": "masquerade statement: address translation is not modelled",
    "redirect": "redirect statement: address translation is not modelled",
    "tproxy": "tproxy statement: transparent proxying is not modelled",
    "synproxy": "synproxy statement: SYN proxying is not modelled",
    "fwd": "fwd statement: packet forwarding from netdev is not modelled",
    "notrack": "notrack statement: later ct state matches see 'untracked', not 'new'",
    "xt": "xt statement: an iptables extension inside nftables is not understood",
    "osf": "osf: passive OS fingerprinting is not modelled",
}
# Unsupported statements that are conditions (they may stop the rule matching) rather than verdicts.
MATCH_LIKE_STATEMENTS = frozenset({"limit", "quota", "ct count", "notrack", "osf"})
VERDICT_KINDS = {"accept": ActionKind.ACCEPT, "drop": ActionKind.DROP, "reject": ActionKind.REJECT,
                 "return": ActionKind.RETURN, "continue": ActionKind.CONTINUE}

# (protocol, field) of payload expressions the model understands: model field, value kind.
FieldSpec = tuple[str, str]
PAYLOAD_FIELDS: dict[tuple[str, str], FieldSpec] = {
    ("ip", "saddr"): ("src", "addr4"), ("ip", "daddr"): ("dst", "addr4"), ("ip", "protocol"): ("proto", "proto"),
    ("ip6", "saddr"): ("src", "addr6"), ("ip6", "daddr"): ("dst", "addr6"), ("ip6", "nexthdr"): ("proto", "proto"),
}
for _proto in ("th", "tcp", "udp", "udplite", "sctp", "dccp"):
    PAYLOAD_FIELDS[(_proto, "sport")] = ("sport", "port")
    PAYLOAD_FIELDS[(_proto, "dport")] = ("dport", "port")
META_FIELDS: dict[str, FieldSpec] = {
    "l4proto": ("proto", "proto"), "iifname": ("in_iface", "iface"), "iif": ("in_iface", "iface"),
    "oifname": ("out_iface", "iface"), "oif": ("out_iface", "iface"), "nfproto": ("src", "family"),
    "protocol": ("src", "ethertype"),
}
UNIVERSES = {"addr4": IPV4_ADDRESSES, "addr6": IPV6_ADDRESSES, "proto": ALL_PROTOCOLS, "port": ALL_PORTS,
             "family": ALL_ADDRESSES, "ethertype": ALL_ADDRESSES}
NFPROTO = {"ipv4": IPV4_ADDRESSES, "ipv6": IPV6_ADDRESSES, "ip": IPV4_ADDRESSES, "ip6": IPV6_ADDRESSES,
           "2": IPV4_ADDRESSES, "10": IPV6_ADDRESSES}
ETHERTYPE = {"ip": IPV4_ADDRESSES, "ip6": IPV6_ADDRESSES, "2048": IPV4_ADDRESSES, "34525": IPV6_ADDRESSES,
             "0x0800": IPV4_ADDRESSES, "0x86dd": IPV6_ADDRESSES}
EQUAL_OPS = frozenset({"==", "eq", "in", "implicit"})
ORDER_OPS = {"<": "<", "lt": "<", ">": ">", "gt": ">", "<=": "<=", "le": "<=", ">=": ">=", "ge": ">="}
OP_TEXT = {"eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">="}

# A fragment of a conjunction: (model field, value). Values: IntervalSet for src/dst/proto/sport/dport,
# InterfaceMatch for in_iface/out_iface, bool for matches_new.
Fragment = tuple[tuple[str, "IntervalSet | InterfaceMatch | bool"], ...]


class _Unsupported(Exception):  # an internal signal, never escapes the module
    """A construct the model cannot represent exactly; the message is the reason shown to the user.

    ``implied`` is what is still understood: ``tcp flags syn`` is not modelled, but it does mean ``tcp``.
    """

    def __init__(self, reason: str, implied: Fragment = ()) -> None:
        super().__init__(reason)
        self.implied = implied


class _Broken(Exception):  # an internal signal, turned into a ParseError with a line
    """The document is inconsistent (a missing chain, table or set)."""


@dataclass
class _Table:
    family: str
    name: str
    sets: dict[str, Any] = field(default_factory=dict)  # set and map objects by name
    chains: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Alt:
    """One alternative of a rule after expansion of concatenated sets and verdict maps."""

    fields: dict[str, Any]  # keyword arguments of the Match
    action: Action | None = None


# ----------------------------------------------------------------------------------------------- rendering


def _render(expr: Any) -> str:
    """An expression in (approximate) nft syntax, for origins and reasons."""
    kind = type(expr)
    if kind is str:
        return expr if expr[:1] == "@" or expr == "*" or PLAIN_WORD.fullmatch(expr) else json.dumps(expr)
    if kind is int:
        return str(expr)
    if kind is dict and len(expr) == 1:
        payload = expr.get("payload")
        if type(payload) is dict and "protocol" in payload:  # the most frequent expression
            return f"{payload['protocol']} {payload.get('field', '')}"
    if expr is None:
        return ""
    if isinstance(expr, bool):
        return "true" if expr else "false"
    if isinstance(expr, str):
        if expr.startswith("@") or expr == "*":
            return expr
        return expr if PLAIN_WORD.fullmatch(expr) else json.dumps(expr)
    if isinstance(expr, int | float):
        return str(expr)
    if isinstance(expr, list):
        return ",".join(_render(e) for e in expr)
    if not isinstance(expr, dict) or len(expr) != 1:
        return json.dumps(expr, separators=(",", ":"))
    (key, value), = expr.items()
    if key == "payload" and isinstance(value, dict):
        if "protocol" in value:
            return f"{value['protocol']} {value.get('field', '')}".strip()
        return f"@{value.get('base', '?')},{value.get('offset', '?')},{value.get('len', '?')}"
    if key == "meta" and isinstance(value, dict):
        meta_key = str(value.get("key", ""))
        return meta_key if meta_key in ("iifname", "oifname", "iif", "oif", "mark") else f"meta {meta_key}"
    if key in ("ct", "rt", "socket", "osf", "ipsec", "numgen", "hash", "exthdr", "tcp option", "sctp chunk") \
            and isinstance(value, dict):
        return " ".join([key, *(str(v) for k, v in value.items() if k in ("key", "dir", "family", "name", "field"))])
    if key == "fib" and isinstance(value, dict):
        flags = value.get("flags", [])
        flags_text = " . ".join(flags) if isinstance(flags, list) else str(flags)
        return f"fib {flags_text} {value.get('result', '')}"
    if key == "prefix" and isinstance(value, dict):
        return f"{_render(value.get('addr'))}/{value.get('len')}"
    if key == "range" and isinstance(value, list) and len(value) == 2:
        return f"{_render(value[0])}-{_render(value[1])}"
    if key == "set" and isinstance(value, list):
        return _render_map_data(expr)
    if key == "concat" and isinstance(value, list):
        return " . ".join(_render(e) for e in value)
    if key == "elem" and isinstance(value, dict):
        return _render(value.get("val"))
    if key in ("|", "&", "^", "<<", ">>") and isinstance(value, list):
        return f" {key} ".join(_render(e) for e in value)
    if key == "map" and isinstance(value, dict):
        return f"{_render(value.get('key'))} map {_render_map_data(value.get('data'))}"
    if key in ("jump", "goto") and isinstance(value, dict):
        return f"{key} {value.get('target')}"
    if key in VERDICT_KINDS and value is None:
        return str(key)
    return json.dumps(expr, separators=(",", ":"))


def _render_map_data(data: Any) -> str:
    if isinstance(data, dict) and isinstance(data.get("set"), list):
        items = []
        for item in data["set"]:
            if isinstance(item, list) and len(item) == 2:
                items.append(f"{_render(item[0])} : {_render(item[1])}")
            else:
                items.append(_render(item))
        return "{ " + ", ".join(items) + " }"
    return _render(data)


def _render_statement(statement: Any) -> str:
    if not isinstance(statement, dict) or len(statement) != 1:
        return json.dumps(statement, separators=(",", ":"))
    (key, value), = statement.items()
    if key == "match" and isinstance(value, dict):
        op = str(value.get("op", "=="))
        op = OP_TEXT.get(op, op)
        op_text = " " if op in ("==", "in") else f" {op} "
        return f"{_render(value.get('left'))}{op_text}{_render(value.get('right'))}"
    if key in VERDICT_KINDS and value is None:
        return str(key)
    if key in ("jump", "goto") and isinstance(value, dict):
        return f"{key} {value.get('target')}"
    if key == "reject":
        if isinstance(value, dict):
            with_text = " ".join(str(v) for v in (value.get("type"), value.get("expr")) if v)
            return f"reject with {with_text}" if with_text else "reject"
        return "reject"
    if key == "counter":
        return "counter" if value is None or "packets" in (value if isinstance(value, dict) else {}) \
            else f"counter name {_render(value)}"
    if key == "log":
        if isinstance(value, dict) and "prefix" in value:
            return f"log prefix {json.dumps(value['prefix'])}"
        return "log"
    if key == "vmap" and isinstance(value, dict):
        return f"{_render(value.get('key'))} vmap {_render_map_data(value.get('data'))}"
    if key == "mangle" and isinstance(value, dict):
        return f"{_render(value.get('key'))} set {_render(value.get('value'))}"
    if key in ("set", "map") and isinstance(value, dict):
        return f"{value.get('op', 'add')} {value.get(key)} {{ {_render(value.get('elem'))} }}"
    if key == "limit" and isinstance(value, dict) and "rate" in value:
        over = "over " if value.get("inv") else ""
        return f"limit rate {over}{value.get('rate')}/{value.get('per', 'second')}"
    if value is None:
        return str(key)
    if isinstance(value, dict):  # snat, dnat, queue, quota...: "dnat addr 10.0.0.1 port 80"
        return " ".join([str(key), *(_render({k: v}) if k == "map" else f"{k} {_render(v)}" for k, v in value.items())])
    return f"{key} {_render(value)}"


def _rule_text(rule: dict[str, Any], statements: list[str] | None = None) -> str:
    expr = rule.get("expr")
    if statements is None:
        statements = [_render_statement(s) for s in expr] if isinstance(expr, list) else []
    body = " ".join(statements)
    if len(body) > TEXT_LIMIT:
        body = body[: TEXT_LIMIT - 1] + "…"
    comment = rule.get("comment")
    if isinstance(comment, str):
        body = f"{body} comment {json.dumps(comment)}".strip()
    handle = rule.get("handle")
    return f"[handle {handle}] {body}" if handle is not None else body


def _chain_text(chain: dict[str, Any]) -> str:
    text = f"chain {chain.get('family')} {chain.get('table')} {chain.get('name')}"
    if "hook" in chain:
        text += (f" {{ type {chain.get('type', 'filter')} hook {chain.get('hook')} priority {chain.get('prio', 0)};"
                 f" policy {chain.get('policy', 'accept')}; }}")
    handle = chain.get("handle")
    return f"[handle {handle}] {text}" if handle is not None else text


# ----------------------------------------------------------------------------------------------- values


def _address_point(text: str) -> int:
    parts = text.split(".")
    if len(parts) == 4 and all(p.isdigit() and len(p) <= 3 and (p == "0" or p[0] != "0") for p in parts):
        octets = [int(p) for p in parts]
        if max(octets) <= 255:  # the common case, ten times faster than ipaddress
            return V4_BASE + (octets[0] << 24) + (octets[1] << 16) + (octets[2] << 8) + octets[3]
    try:
        return address_value(ipaddress.ip_address(text))
    except ValueError:
        raise _Unsupported(f"cannot read {text!r} as an IP address") from None


def _integer(value: Any, kind: str) -> int:
    if isinstance(value, bool):
        raise _Unsupported(f"cannot read {value!r} as a {kind} value")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        try:
            return int(text, 0)
        except ValueError:
            pass
        if kind == "port" and text in SERVICES:
            return SERVICES[text]
        if kind == "proto":
            if text in EXTRA_PROTOCOLS:
                return EXTRA_PROTOCOLS[text]
            try:
                return protocol_number(text)
            except ValueError:
                pass
    raise _Unsupported(f"cannot read {_render(value)} as a {'port' if kind == 'port' else 'protocol'}")


def _atom(kind: str, value: Any) -> IntervalSet:
    """One element (literal, prefix or range) of an interval-valued field."""
    if kind in ("family", "ethertype"):
        table = NFPROTO if kind == "family" else ETHERTYPE
        key = str(value).strip().lower()
        if key not in table:
            raise _Unsupported(f"{'meta nfproto' if kind == 'family' else 'meta protocol'} {_render(value)}"
                               " is not understood")
        return table[key]
    if isinstance(value, dict) and len(value) == 1:
        (key, inner), = value.items()
        if key == "elem" and isinstance(inner, dict):
            return _atom(kind, inner.get("val"))
        if key == "prefix" and isinstance(inner, dict) and kind in ("addr4", "addr6"):
            try:
                network = ipaddress.ip_network(f"{inner.get('addr')}/{inner.get('len')}", strict=False)
            except ValueError:
                raise _Unsupported(f"cannot read prefix {_render(value)}") from None
            lo = address_value(network.network_address)
            return IntervalSet.span(lo, lo + network.num_addresses - 1)
        if key == "range" and isinstance(inner, list) and len(inner) == 2:
            lo_set, hi_set = _atom(kind, inner[0]), _atom(kind, inner[1])
            if len(lo_set.intervals) != 1 or lo_set.lo != lo_set.hi or hi_set.lo != hi_set.hi:
                raise _Unsupported(f"cannot read range {_render(value)}")
            return IntervalSet.span(lo_set.lo, hi_set.hi)
        raise _Unsupported(f"value {_render(value)} is not understood")
    if kind in ("addr4", "addr6"):
        if not isinstance(value, str):
            raise _Unsupported(f"cannot read {_render(value)} as an IP address")
        return IntervalSet.point(_address_point(value))
    return IntervalSet.point(_integer(value, kind))


def _freeze(value: Any) -> Any:
    """A hashable image of a JSON value (a cache key)."""
    if isinstance(value, dict):
        return tuple((k, _freeze(v)) for k, v in value.items())
    if isinstance(value, list):
        return (list, *(_freeze(v) for v in value))
    return (type(value), value) if isinstance(value, bool) else value


def _value_key(value: Any) -> Any:
    """``_freeze`` with fast paths for prefixes and sets of literals."""
    if type(value) is dict and len(value) == 1:
        prefix = value.get("prefix")
        if type(prefix) is dict:
            return ("prefix", prefix.get("addr"), prefix.get("len"))
        elements = value.get("set")
        if type(elements) is list and all(type(e) is str or type(e) is int for e in elements):
            return ("set", *elements)
    return _freeze(value)


def _match_key(body: dict[str, Any]) -> Any:
    """A cache key for a match statement whose left side is a plain payload/meta/ct expression, else None."""
    left = body.get("left")
    if type(left) is not dict or len(left) != 1:
        return None
    for name, inner in left.items():
        if type(inner) is not dict:
            return None
        right = body.get("right")
        right_key = right if type(right) is str or type(right) is int else _value_key(right)
        key = body.get("op"), name, tuple(inner.items()), right_key
        try:
            hash(key)
        except TypeError:  # a list or object inside the left side
            return None
        return key
    return None


def _iface_names(value: Any) -> list[str]:
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("elem"), dict):
        return _iface_names(value["elem"].get("val"))
    if isinstance(value, str):
        return [value]
    if isinstance(value, int) and not isinstance(value, bool):
        raise _Unsupported(f"interface index {value}: interface names are needed")
    raise _Unsupported(f"interface value {_render(value)} is not understood")


def _state_names(value: Any) -> set[str]:
    if isinstance(value, dict) and len(value) == 1:
        (key, inner), = value.items()
        if key in ("|", "set") and isinstance(inner, list):
            return {name for item in inner for name in _state_names(item)}
        if key == "elem" and isinstance(inner, dict):
            return _state_names(inner.get("val"))
    if isinstance(value, list):
        return {name for item in value for name in _state_names(item)}
    if isinstance(value, str) and value.strip().lower() in CT_STATES:
        return {value.strip().lower()}
    raise _Unsupported(f"ct state value {_render(value)} is not understood")


def _iface_meet(a: str, b: str) -> str | None:
    """The names both patterns match, as one pattern (``*`` suffix = prefix wildcard), or None."""
    a_wild, b_wild = a.endswith("*"), b.endswith("*")
    if not a_wild and not b_wild:
        return a if a == b else None
    if a_wild and b_wild:
        pa, pb = a[:-1], b[:-1]
        if pa.startswith(pb):
            return a
        return b if pb.startswith(pa) else None
    exact, wild = (b, a) if a_wild else (a, b)
    return exact if exact.startswith(wild[:-1]) else None


def _iface_and(a: InterfaceMatch, b: InterfaceMatch) -> InterfaceMatch:
    if a.negate and b.negate:
        return InterfaceMatch(tuple(dict.fromkeys(a.names + b.names)), True)
    if not a.negate and not b.negate:
        names = (_iface_meet(x, y) for x in a.names for y in b.names)
        return InterfaceMatch(tuple(dict.fromkeys(n for n in names if n is not None)))
    positive, negative = (b, a) if a.negate else (a, b)
    kept: list[str] = []
    for name in positive.names:
        if any(_iface_meet(name, n) == name for n in negative.names):
            continue  # entirely excluded
        if any(_iface_meet(name, n) is not None for n in negative.names):
            raise _Unsupported(f"interface {name!r} minus some of its names cannot be written as one interface match")
        kept.append(name)
    return InterfaceMatch(tuple(kept))


def _intersect(current: IntervalSet, value: IntervalSet) -> IntervalSet:
    if len(current.intervals) == 1 and value.intervals:  # fast path: value inside one span (the table family)
        lo, hi = current.intervals[0]
        if lo <= value.intervals[0][0] and value.intervals[-1][1] <= hi:
            return value
    return current.intersection(value)


def _conjoin(fields: dict[str, Any], fragment: Fragment) -> None:
    """Add the conditions of ``fragment`` to the conjunction ``fields`` (the keyword arguments of a Match)."""
    for name, value in fragment:
        current = fields.get(name)
        if name == "matches_new":
            fields[name] = value and current is not False
        elif isinstance(value, InterfaceMatch):
            combined = value if current is None else _iface_and(current, value)
            fields[name] = combined
            if not combined.negate and not combined.names:
                fields["src"] = EMPTY  # no interface name is left: the rule never matches
        elif current is None:
            fields[name] = value
        else:
            assert isinstance(value, IntervalSet)
            fields[name] = _intersect(current, value)


# ----------------------------------------------------------------------------------------------- the parser


def _line_finder(text: str, key: str, count: int) -> list[int] | None:
    """The 1-based line of each ``"<key>": {`` in the text, when the JSON is pretty-printed and every one was found."""
    stripped = text.strip()
    if "\n" not in stripped:
        return None
    newlines = [m.start() for m in re.finditer("\n", text)]
    positions = [m.start() for m in re.finditer(r'(?<!\\)"' + key + r'"\s*:\s*\{', text)]
    if len(positions) != count:
        return None
    return [bisect_right(newlines, pos) + 1 for pos in positions]


def _priority(chain: dict[str, Any], family: str) -> int:
    prio = chain.get("prio", 0)
    if isinstance(prio, bool):
        raise _Unsupported(f"chain priority {prio!r} is not understood")
    if isinstance(prio, int):
        return prio
    names = BRIDGE_PRIORITIES if family == "bridge" else STANDARD_PRIORITIES
    if isinstance(prio, str):
        found = PRIORITY_TEXT.match(prio.lower())
        if found:
            base_text, sign, offset = found.groups()
            base = int(base_text) if base_text.lstrip("-").isdigit() else names.get(base_text)
            if base is not None:
                delta = int(offset) if offset else 0
                return base - delta if sign == "-" else base + delta
    if isinstance(prio, dict) and len(prio) == 1:
        (op, operands), = prio.items()
        if op in ("+", "-") and isinstance(operands, list) and len(operands) == 2:
            base = _priority({"prio": operands[0]}, family)
            delta = _priority({"prio": operands[1]}, family)
            return base + delta if op == "+" else base - delta
    raise _Unsupported(f"chain priority {_render(prio)} is not understood")


class _Parser:
    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.tables: dict[tuple[str, str], _Table] = {}
        self.ruleset = Ruleset(source=source, format=FORMAT, addresses=EMPTY)
        self.value_cache: dict[tuple[str, str, Any], IntervalSet] = {}
        self.forward_candidates: list[tuple[int, int, str]] = []
        # Repeated match statements (same left side, operator and right side) are read once.
        self.match_cache: dict[tuple[str, str, Any], tuple[list[Fragment], str, Fragment]] = {}
        self.text_cache: dict[Any, str] = {}

    # -- top level

    def parse(self) -> Ruleset:
        try:
            document = json.loads(self.text)
        except json.JSONDecodeError as error:
            raise ParseError(self.source, error.lineno,
                             f"invalid JSON: {error.msg} (line {error.lineno}, column {error.colno})") from None
        except RecursionError:
            raise ParseError(self.source, 0, "invalid JSON: nested too deeply") from None
        if not isinstance(document, dict) or not isinstance(document.get("nftables"), list):
            raise ParseError(self.source, 0, 'not an nftables JSON ruleset: expected an object {"nftables": [...]}'
                             " as printed by 'nft -j list ruleset'")
        chains: list[dict[str, Any]] = []
        rules: list[dict[str, Any]] = []
        sets: list[tuple[str, dict[str, Any]]] = []
        for position, item in enumerate(document["nftables"], 1):
            if not isinstance(item, dict) or len(item) != 1:
                raise ParseError(self.source, 0, f"nftables entry #{position} is not an object with exactly one key")
            (kind, body), = item.items()
            if kind in ("add", "create") and isinstance(body, dict) and len(body) == 1:
                (kind, body), = body.items()  # a command file: "add" objects are the same objects
            if kind == "metainfo":
                continue
            if not isinstance(body, dict):
                if kind in ("table", "chain", "rule", "set", "map"):
                    raise ParseError(self.source, 0, f"nftables entry #{position}: {kind} is not an object")
                continue
            if kind == "table":
                self._table(body, position)
            elif kind == "chain":
                chains.append(body)
            elif kind == "rule":
                rules.append(body)
            elif kind in ("set", "map"):
                sets.append((kind, body))
            # Other objects (counter, quota, limit, secmark, ct helper, flowtable, ...) are referenced by
            # statements, which report them; "flush"/"delete"/"insert" commands are not ruleset listings.
            elif kind in ("insert", "replace", "delete", "destroy", "flush", "rename", "reset"):
                self.ruleset.unsupported.append(Unsupported(
                    Origin(self.source, position, _render(item)[:TEXT_LIMIT]),
                    f"'{kind}' command: only a ruleset listing (nft -j list ruleset) is understood"))
        for kind, body in sets:
            self._table_of(body, f"{kind} {body.get('name')!r}", 0).sets[str(body.get("name"))] = body
        chain_lines = _line_finder(self.text, "chain", len(chains))
        rule_lines = _line_finder(self.text, "rule", len(rules))
        for index, chain in enumerate(chains):
            self._chain(chain, chain_lines[index] if chain_lines else index + 1, index)
        for index, rule in enumerate(rules):
            line = rule_lines[index] if rule_lines else index + 1
            try:
                self._rule(rule, line)
            except _Broken as error:
                raise ParseError(self.source, line, str(error)) from None
        self._order_forward()
        return self.ruleset

    def _table(self, body: dict[str, Any], position: int) -> None:
        family, name = body.get("family"), body.get("name")
        if not isinstance(family, str) or not isinstance(name, str):
            raise ParseError(self.source, 0, f"nftables entry #{position}: a table needs a family and a name")
        if family not in KNOWN_FAMILIES:
            raise ParseError(self.source, 0, f"table {name!r}: unknown family {family!r}")
        self.tables.setdefault((family, name), _Table(family, name))
        if family in FAMILY_ADDRESSES:
            self.ruleset.addresses = self.ruleset.addresses.union(FAMILY_ADDRESSES[family])

    def _table_of(self, body: dict[str, Any], what: str, line: int) -> _Table:
        key = (str(body.get("family")), str(body.get("table")))
        table = self.tables.get(key)
        if table is None:
            raise ParseError(self.source, line, f"{what} refers to table {key[0]} {key[1]}, which is not defined")
        return table

    def _chain(self, body: dict[str, Any], line: int, index: int) -> None:
        name = body.get("name")
        if not isinstance(name, str):
            raise ParseError(self.source, line, "a chain needs a name")
        table = self._table_of(body, f"chain {name!r}", line)
        table.chains[name] = body
        origin = Origin(self.source, line, _chain_text(body))
        hook = body.get("hook")
        if table.family not in MODELLED_FAMILIES:
            if table.family == "netdev" and hook is not None:
                self.ruleset.unsupported.append(Unsupported(
                    origin, f"netdev {hook} chain: it can drop packets before they are forwarded; not modelled"))
            return
        chain = Chain(name=f"{table.family} {table.name} {name}")
        if hook is not None:
            chain.hook = str(hook)
            try:
                chain.priority = _priority(body, table.family)
            except _Unsupported as error:
                self.ruleset.unsupported.append(Unsupported(origin, f"{error}; ordered as priority 0"))
            policy = str(body.get("policy", "accept")).lower()
            chain.policy = {"accept": Verdict.ACCEPT, "drop": Verdict.DROP}.get(policy, Verdict.UNKNOWN)
            if chain.policy is Verdict.UNKNOWN:
                self.ruleset.unsupported.append(Unsupported(origin, f"chain policy {policy!r} is not understood"))
            chain.policy_origin = origin
            chain_type = str(body.get("type", "filter"))
            if chain.hook == "forward" and chain_type == "filter":
                self.forward_candidates.append((chain.priority, index, chain.name))
        self.ruleset.chains[chain.name] = chain

    def _order_forward(self) -> None:
        self.ruleset.forward = [name for _, _, name in sorted(self.forward_candidates)]

    # -- rules

    def _rule(self, body: dict[str, Any], line: int) -> None:
        chain_name = body.get("chain")
        table = self._table_of(body, f"rule in chain {chain_name!r}", line)
        if not isinstance(chain_name, str) or chain_name not in table.chains:
            raise _Broken(f"rule refers to chain {chain_name!r}, which is not defined in table "
                          f"{table.family} {table.name}")
        expr = body.get("expr")
        if not isinstance(expr, list):
            raise _Broken("rule has no 'expr' list of statements")
        if table.family not in MODELLED_FAMILIES:
            return
        keys = [_match_key(s["match"]) if type(s) is dict and type(s.get("match")) is dict else None for s in expr]
        texts = [self._statement_text(s, k) for s, k in zip(expr, keys, strict=True)]
        origin = Origin(self.source, line, _rule_text(body, texts))
        reasons: list[str] = []
        alts = [_Alt({"src": FAMILY_ADDRESSES[table.family]} if table.family != "inet" else {})]
        for statement, key in zip(expr, keys, strict=True):
            try:
                alts = self._statement(statement, alts, table, key)
            except _Unsupported as error:
                reasons.append(str(error))
        reasons = list(dict.fromkeys(reasons))
        chain = self.ruleset.chains[f"{table.family} {table.name} {chain_name}"]
        for alt in alts:
            action = alt.action or Action(ActionKind.CONTINUE)
            chain.rules.append(Rule(Match(**alt.fields), action, origin, tuple(reasons)))
        for reason in reasons:
            self.ruleset.unsupported.append(Unsupported(origin, reason))

    def _statement_text(self, statement: Any, key: Any) -> str:
        if key is None:
            return _render_statement(statement)
        text = self.text_cache.get(key)
        if text is None:
            text = self.text_cache[key] = _render_statement(statement)
        return text

    def _statement(self, statement: Any, alts: list[_Alt], table: _Table, key: Any = None) -> list[_Alt]:
        if not isinstance(statement, dict) or len(statement) != 1:
            raise _Unsupported(f"statement {_render(statement)} is not understood")
        match_key = key
        (key, value), = statement.items()
        if key == "match":
            if not isinstance(value, dict):
                raise _Unsupported(f"match {_render(value)} is not understood")
            key = match_key
            cached = self.match_cache.get((table.family, table.name, key)) if key is not None else None
            if cached is None:
                try:
                    cached = (self._match(value, table), "", ())
                except _Unsupported as error:
                    cached = ([], str(error), error.implied)
                if key is not None:
                    self.match_cache[(table.family, table.name, key)] = cached
            fragments, reason, implied = cached
            if reason:
                if implied:  # keep the understood part of the match
                    self._combine(alts, [(implied, None)])
                raise _Unsupported(reason)
            return self._combine(alts, [(f, None) for f in fragments])
        if key in VERDICT_KINDS or key in ("jump", "goto"):
            return self._set_action(alts, self._verdict(statement, table))
        if key == "vmap":
            return self._vmap(value, alts, table)
        if key in CONTINUE_STATEMENTS:
            return alts
        if key in ("set", "map") and isinstance(value, dict):
            return alts  # a set/map update statement ("add @s { ip saddr }") never stops the packet
        if key == "mangle" and isinstance(value, dict):
            target = value.get("key")
            if isinstance(target, dict) and ("meta" in target or "ct" in target):
                return alts  # meta mark, priority, secmark, ct mark...: no effect on the filtering modelled
            raise _Unsupported(f"statement '{_render_statement(statement)}' rewrites the packet")
        if key == "meter":
            inner = value.get("stmt") if isinstance(value, dict) else None
            if isinstance(inner, dict) and "limit" not in inner and "quota" not in inner and "ct count" not in inner:
                return alts
            raise _Unsupported("meter with a limit, quota or count: it can fail, which the analysis cannot know")
        if key in UNSUPPORTED_STATEMENTS:
            is_xt_match = key == "xt" and isinstance(value, dict) and value.get("type") == "match"
            if key in MATCH_LIKE_STATEMENTS or is_xt_match:
                raise _Unsupported(UNSUPPORTED_STATEMENTS[key])  # a condition: the rule's verdict stays readable
            for alt in alts:
                alt.action = alt.action or Action(ActionKind.UNKNOWN, key)
            raise _Unsupported(UNSUPPORTED_STATEMENTS[key])
        for alt in alts:
            alt.action = alt.action or Action(ActionKind.UNKNOWN, key)
        raise _Unsupported(f"statement '{_render_statement(statement)}' is not understood")

    def _set_action(self, alts: list[_Alt], action: Action) -> list[_Alt]:
        for alt in alts:
            if alt.action is None:
                alt.action = action
        return alts

    def _verdict(self, statement: dict[str, Any], table: _Table) -> Action:
        (key, value), = statement.items()
        if key in VERDICT_KINDS:
            return Action(VERDICT_KINDS[key])
        target = value.get("target") if isinstance(value, dict) else None
        if not isinstance(target, str):
            raise _Unsupported(f"{key} without a target chain name")
        if target not in table.chains:
            raise _Broken(f"{key} to chain {target!r}, which is not defined in table {table.family} {table.name}")
        return Action(ActionKind.JUMP if key == "jump" else ActionKind.GOTO, f"{table.family} {table.name} {target}")

    def _combine(self, alts: list[_Alt], options: Sequence[tuple[Fragment, Action | None]]) -> list[_Alt]:
        if len(options) == 1:
            fragment, action = options[0]
            for alt in alts:
                if alt.action is None:  # statements after a verdict are never reached
                    _conjoin(alt.fields, fragment)
                    alt.action = action
            return alts
        if len(alts) * len(options) > MAX_EXPANSION:
            raise _Unsupported(f"a set or map of {len(options)} combinations is too large to expand exactly")
        result: list[_Alt] = []
        for alt, (fragment, action) in product(alts, options):
            if alt.action is not None:
                result.append(alt)
                continue
            fields = dict(alt.fields)
            _conjoin(fields, fragment)
            result.append(_Alt(fields, action))
        # de-duplicate alternatives that already had an action (product repeats them)
        unique: list[_Alt] = []
        seen: set[int] = set()
        for alt in result:
            if id(alt) not in seen:
                seen.add(id(alt))
                unique.append(alt)
        return unique

    # -- matches

    def _field(self, left: Any) -> tuple[str, str, Fragment]:
        """Model field, value kind and implied conditions of a match's left-hand side."""
        if isinstance(left, dict) and len(left) == 1:
            (key, value), = left.items()
            if key == "payload" and isinstance(value, dict):
                protocol, name = str(value.get("protocol")), str(value.get("field"))
                implied: Fragment = ()
                if protocol in ("ip", "ip6"):
                    implied = (("src", FAMILY_ADDRESSES[protocol]),)
                elif protocol in L4_PROTOCOLS:
                    implied = (("proto", IntervalSet.point(L4_PROTOCOLS[protocol])),)
                spec = PAYLOAD_FIELDS.get((protocol, name))
                if spec is not None:
                    return spec[0], spec[1], implied
                raise _Unsupported(f"match on '{_render(left)}' is not modelled", implied)
            if key == "meta" and isinstance(value, dict):
                spec = META_FIELDS.get(str(value.get("key")))
                if spec is not None:
                    return spec[0], spec[1], ()
            if key == "ct" and isinstance(value, dict) and value.get("key") == "state" and "dir" not in value:
                return "matches_new", "ctstate", ()
        if not isinstance(left, dict):
            raise _Unsupported(f"a constant ({_render(left)}) in the key of a lookup is not modelled")
        raise _Unsupported(f"match on '{_render(left)}' is not modelled")

    def _match(self, body: dict[str, Any], table: _Table) -> list[Fragment]:
        left, right = body.get("left"), body.get("right")
        op = str(body.get("op", "implicit"))
        if isinstance(left, dict) and isinstance(left.get("concat"), list):
            return self._concat_match(left["concat"], op, right, table)
        name, kind, implied = self._field(left)
        try:
            return [implied + self._condition(name, kind, op, right, table, left)]
        except _Unsupported as error:
            raise _Unsupported(str(error), implied) from None

    def _condition(self, name: str, kind: str, op: str, right: Any, table: _Table, left: Any) -> Fragment:
        shown = f"'{_render(left)} {OP_TEXT.get(op, op)} {_render(right)}'"
        if kind == "ctstate":
            states = self._states(right, table)
            is_set = (isinstance(right, dict) and "set" in right) or (isinstance(right, str) and right.startswith("@"))
            if op in ("in", "implicit") or (op in ("==", "eq") and (is_set or len(states) == 1)):
                new = NEW_STATE in states
            elif (op in ("!=", "ne") and (is_set or len(states) == 1)) or op == "!":
                new = NEW_STATE not in states
            elif op in ("==", "eq"):
                new = states == {NEW_STATE}  # the kernel compares the OR'ed bitmask exactly
            elif op in ("!=", "ne"):
                new = states != {NEW_STATE}
            else:
                raise _Unsupported(f"ct state match {shown}: operator not understood")
            return (("matches_new", new),)
        if kind == "iface":
            names = tuple(dict.fromkeys(self._ifaces(right, table)))
            if op in EQUAL_OPS:
                return ((name, InterfaceMatch(names)),)
            if op in ("!=", "ne"):
                return ((name, InterfaceMatch(names, True)),)
            raise _Unsupported(f"interface match {shown}: operator not understood")
        universe = UNIVERSES[kind]
        values = self._intervals(kind, right, table)
        if op in EQUAL_OPS:
            result = _intersect(universe, values)
        elif op in ("!=", "ne"):
            result = universe.difference(values)
        elif op in ORDER_OPS:
            if len(values.intervals) != 1 or values.lo != values.hi:
                raise _Unsupported(f"match {shown}: comparison with more than one value")
            bound, order = values.lo, ORDER_OPS[op]
            span = {"<": (0, bound - 1), "<=": (0, bound), ">": (bound + 1, universe.hi),
                    ">=": (bound, universe.hi)}[order]
            result = universe.intersection(IntervalSet.span(*span))
        else:
            raise _Unsupported(f"match {shown}: operator {op!r} not understood")
        return ((name, result),)

    def _concat_match(self, parts: list[Any], op: str, right: Any, table: _Table) -> list[Fragment]:
        if op not in EQUAL_OPS:
            raise _Unsupported(f"negated or ordered match on a concatenation '{_render({'concat': parts})}'")
        fields = [self._field(part) for part in parts]
        elements = self._concat_elements(right, table, len(parts))
        fragments: list[Fragment] = []
        for element in elements:
            fragment: Fragment = ()
            for (name, kind, implied), value, part in zip(fields, element, parts, strict=True):
                fragment += implied + self._condition(name, kind, "==", value, table, part)
            fragments.append(fragment)
        if not fragments:
            return [(("src", EMPTY),)]  # an empty set: the rule never matches
        return fragments

    def _concat_elements(self, right: Any, table: _Table, width: int) -> list[list[Any]]:
        if isinstance(right, str) and right.startswith("@"):
            items = [self._element_key(e) for e in self._named(right, table).get("elem", [])]
        elif isinstance(right, dict) and isinstance(right.get("set"), list):
            items = [self._element_key(e) for e in right["set"]]
        else:
            items = [right]
        elements: list[list[Any]] = []
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("elem"), dict):
                item = item["elem"].get("val")
            if not (isinstance(item, dict) and isinstance(item.get("concat"), list) and len(item["concat"]) == width):
                raise _Unsupported(f"concatenation element {_render(item)} is not understood")
            elements.append(item["concat"])
        return elements

    @staticmethod
    def _element_key(element: Any) -> Any:
        """The key of a set element or map entry (``[key, value]``)."""
        if isinstance(element, list) and len(element) == 2:
            return element[0]
        return element

    # -- right-hand sides

    def _named(self, reference: str, table: _Table) -> dict[str, Any]:
        name = reference[1:]
        found = table.sets.get(name)
        if not isinstance(found, dict):
            raise _Broken(f"set {reference!r} is not defined in table {table.family} {table.name}")
        return found

    def _elements(self, right: Any, table: _Table) -> list[Any]:
        """The elements a right-hand side stands for: a named set's, an anonymous set's, or itself."""
        if isinstance(right, str) and right.startswith("@"):
            named = self._named(right, table)
            elements = named.get("elem", [])
            if not isinstance(elements, list):
                raise _Unsupported(f"set {right} has unreadable elements")
            return [self._element_key(e) for e in elements]
        if isinstance(right, dict) and isinstance(right.get("set"), list):
            return [self._element_key(e) for e in right["set"]]
        if isinstance(right, list):
            return right
        return [right]

    def _intervals(self, kind: str, right: Any, table: _Table) -> IntervalSet:
        if isinstance(right, str) and right.startswith("@"):
            key: tuple[str, str, Any] = (kind, f"{table.family} {table.name}", right)
        else:
            key = (kind, "", right if isinstance(right, str | int) else _value_key(right))
        cached = self.value_cache.get(key)
        if cached is None:
            parts: list[tuple[int, int]] = []
            for element in self._elements(right, table):
                if element == "*":
                    raise _Unsupported("catch-all element '*' in a set lookup is not understood")
                parts.extend(_atom(kind, element).intervals)
            cached = IntervalSet(parts)
            self.value_cache[key] = cached
        return cached

    def _ifaces(self, right: Any, table: _Table) -> list[str]:
        return [name for element in self._elements(right, table) for name in _iface_names(element)]

    def _states(self, right: Any, table: _Table) -> set[str]:
        if (isinstance(right, str) and right.startswith("@")) or (isinstance(right, dict) and "set" in right):
            return {state for element in self._elements(right, table) for state in _state_names(element)}
        return _state_names(right)

    # -- verdict maps

    def _vmap(self, body: Any, alts: list[_Alt], table: _Table) -> list[_Alt]:
        if not isinstance(body, dict):
            raise _Unsupported("verdict map is not understood")
        key, data = body.get("key"), body.get("data")
        if isinstance(data, str) and data.startswith("@"):
            named = self._named(data, table)
            if named.get("map") != "verdict":
                raise _Unsupported(f"{data} is not a verdict map")
            entries = named.get("elem", [])
        elif isinstance(data, dict) and isinstance(data.get("set"), list):
            entries = data["set"]
        else:
            raise _Unsupported(f"verdict map data {_render(data)} is not understood")
        if not isinstance(entries, list):
            raise _Unsupported("verdict map entries are not understood")
        try:
            options = self._vmap_options(key, entries, table)
        except _Unsupported:
            for alt in alts:
                alt.action = alt.action or Action(ActionKind.UNKNOWN, "vmap")
            raise
        if not options:
            options = [((("src", EMPTY),), Action(ActionKind.CONTINUE))]  # an empty map never matches
        return self._combine(alts, options)

    def _vmap_options(self, key: Any, entries: list[Any], table: _Table) -> list[tuple[Fragment, Action | None]]:
        concat = isinstance(key, dict) and isinstance(key.get("concat"), list)
        parts = key["concat"] if concat else [key]
        fields = [self._field(part) for part in parts]
        options: list[tuple[Fragment, Action | None]] = []
        catch_all: Action | None = None
        for entry in entries:
            if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], dict) and len(entry[1]) == 1):
                raise _Unsupported(f"verdict map entry {_render(entry)} is not understood")
            element, verdict = entry
            if isinstance(element, dict) and isinstance(element.get("elem"), dict):
                element = element["elem"].get("val")
            (verdict_key, _), = verdict.items()
            if verdict_key not in VERDICT_KINDS and verdict_key not in ("jump", "goto"):
                raise _Unsupported(f"verdict {_render(verdict)} in a verdict map is not understood")
            action = self._verdict(verdict, table)
            if element == "*":
                catch_all = action
                continue
            if concat:
                if not (isinstance(element, dict) and isinstance(element.get("concat"), list)
                        and len(element["concat"]) == len(parts)):
                    raise _Unsupported(f"verdict map key {_render(element)} is not understood")
                values = element["concat"]
            else:
                values = [element]
            fragment: Fragment = ()
            for (name, kind, implied), value, part in zip(fields, values, parts, strict=True):
                fragment += implied + self._condition(name, kind, "==", value, table, part)
            options.append((fragment, action))
        if catch_all is not None:
            if concat:
                raise _Unsupported("catch-all '*' in a verdict map keyed by a concatenation is not understood")
            name, kind, implied = fields[0]
            keys = [e[0] for e in entries if isinstance(e, list) and e[0] != "*"]
            rest = self._condition(name, kind, "!=", {"set": keys}, table, key)
            options.append((implied + rest, catch_all))
        return options


def parse_nftables_json(text: str, *, source: str) -> Ruleset:
    """Parse the output of ``nft -j list ruleset`` (see the module docstring for what is modelled).

    Raises :class:`ParseError` for invalid JSON, a document that is not ``{"nftables": [...]}``, or a rule that
    refers to a chain, table or set that is not defined.
    """
    # The parse allocates many small objects while the whole JSON tree is alive: without the cyclic garbage
    # collector (nothing here makes cycles) it runs several times faster on large rulesets.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _Parser(text, source).parse()
    finally:
        if collecting:
            gc.enable()
