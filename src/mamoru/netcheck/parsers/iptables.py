"""Parser for ``iptables-save`` output (IPv4); only the ``filter`` table is modelled.

Two kinds of trouble are kept apart:

* :class:`~mamoru.netcheck.model.ParseError` — the text cannot be read as iptables-save output at
  all (garbage tokens, unknown options, undeclared chains, bad addresses, missing ``COMMIT``).
* :class:`~mamoru.netcheck.model.Unsupported` — valid syntax whose meaning the engine does not model
  (rate limits, ipsets, owner/mark matches, unknown target extensions ...). The rule is kept with
  the understood part of its match and its reasons, so the analysis answers "unknown", never a guess.

A rule that cannot influence a verdict records no unsupported reason: a ``CONTINUE`` rule (LOG,
counters, MARK ...) passes every packet on whether it matches or not, and a rule whose understood
match is already empty for new packets (e.g. ``--ctstate ESTABLISHED``) never matches one.
"""

from __future__ import annotations

import gc
import ipaddress
import re
import shlex
from socket import AF_INET, inet_pton
from typing import Any

from mamoru.netcheck.model import (
    IPV4_ADDRESSES,
    PORT_MAX,
    PROTO_MAX,
    PROTOCOLS,
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
)

__all__ = ["parse_iptables"]

BUILTIN_CHAINS: dict[str, tuple[str, ...]] = {
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "raw": ("PREROUTING", "OUTPUT"),
    "security": ("INPUT", "FORWARD", "OUTPUT"),
}
_HOOKS = {"INPUT": "input", "FORWARD": "forward", "OUTPUT": "output"}
_POLICIES = {"ACCEPT": Verdict.ACCEPT, "DROP": Verdict.DROP}

# /etc/protocols names iptables-save may print (it resolves numbers with getprotobynumber) on top of
# the shared table; "all" and 0 mean any protocol.
_EXTRA_PROTOCOLS: dict[str, int] = {
    "ip": 0, "hopopt": 0, "ggp": 3, "ipencap": 4, "st": 5, "egp": 8, "igp": 9, "pup": 12, "hmp": 20,
    "xns-idp": 22, "rdp": 27, "iso-tp4": 29, "dccp": 33, "xtp": 36, "ddp": 37, "idpr-cmtp": 38, "ipv6": 41,
    "ipv6-route": 43, "ipv6-frag": 44, "idrp": 45, "rsvp": 46, "skip": 57, "ipv6-nonxt": 59, "ipv6-opts": 60,
    "rspf": 73, "vmtp": 81, "eigrp": 88, "ospf": 89, "ax.25": 93, "ipip": 94, "etherip": 97, "encap": 98,
    "pim": 103, "ipcomp": 108, "vrrp": 112, "l2tp": 115, "isis": 124, "fc": 133, "mobility-header": 135,
    "ipv6-mh": 135, "mh": 135, "mpls-in-ip": 137, "manet": 138, "hip": 139, "shim6": 140, "wesp": 141,
    "rohc": 142,
}
_PROTOCOL_NAMES: dict[str, int] = {**_EXTRA_PROTOCOLS, **PROTOCOLS}
_PORT_PROTOCOLS = {6: "tcp", 17: "udp", 132: "sctp"}
_IMPLICIT_MODULE = {6: "tcp", 17: "udp", 132: "sctp", 1: "icmp"}
_MODULE_PROTOCOL = {"tcp": 6, "udp": 17, "sctp": 132, "icmp": 1}
_MULTIPORT_PROTOCOLS = frozenset({6, 17, 132, 33, 136})  # tcp, udp, sctp, dccp, udplite
_PORT_MODULES = frozenset({"tcp", "udp", "sctp"})  # modules with --sport/--dport

_CT_STATES = frozenset({"NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED", "SNAT", "DNAT"})
_CT_UNDECIDED = frozenset({"UNTRACKED", "SNAT", "DNAT"})
_TCP_FLAGS = {"FIN": 1, "SYN": 2, "RST": 4, "PSH": 8, "ACK": 16, "URG": 32, "ECE": 64, "CWR": 128,
              "ALL": 255, "NONE": 0}
_DECIDED_FLAGS = 1 | 2 | 4 | 16  # a new TCP packet: SYN set, FIN/RST/ACK clear; PSH/URG/ECE/CWR may vary
_NEW_TCP_FLAGS = 2

# Targets that never end evaluation in the filter table: the packet goes on to the next rule.
_CONTINUE_TARGETS = frozenset({
    "LOG", "NFLOG", "ULOG", "MARK", "CONNMARK", "CLASSIFY", "SET", "AUDIT", "TRACE", "TCPMSS", "TEE",
    "IDLETIMER", "LED", "RATEEST", "SECMARK", "CONNSECMARK", "DSCP", "TOS", "TTL", "ECN", "CHECKSUM",
    "TCPOPTSTRIP", "HMARK", "NOTRACK", "CT",
})
_VERDICT_TARGETS = {"ACCEPT": ActionKind.ACCEPT, "DROP": ActionKind.DROP, "REJECT": ActionKind.REJECT,
                    "RETURN": ActionKind.RETURN}
_TARGET_EXTENSION = re.compile(r"[A-Z][A-Z0-9_]*\Z")

# Core option codes.
_SRC, _DST, _PROTO, _IN, _OUT, _JUMP, _GOTO, _MATCH, _FRAG, _COUNTERS, _V4, _V6 = range(12)
_CORE: dict[str, int] = {
    "-s": _SRC, "--source": _SRC, "--src": _SRC,
    "-d": _DST, "--destination": _DST, "--dst": _DST,
    "-p": _PROTO, "--protocol": _PROTO,
    "-i": _IN, "--in-interface": _IN,
    "-o": _OUT, "--out-interface": _OUT,
    "-j": _JUMP, "--jump": _JUMP,
    "-g": _GOTO, "--goto": _GOTO,
    "-m": _MATCH, "--match": _MATCH,
    "-f": _FRAG, "--fragment": _FRAG,
    "-c": _COUNTERS, "--set-counters": _COUNTERS,
    "-4": _V4, "--ipv4": _V4,
    "-6": _V6, "--ipv6": _V6,
}
_CORE_NEGATABLE = frozenset({_SRC, _DST, _PROTO, _IN, _OUT, _FRAG})
_CORE_ARITY = {_SRC: 1, _DST: 1, _PROTO: 1, _IN: 1, _OUT: 1, _JUMP: 1, _GOTO: 1, _MATCH: 1, _FRAG: 0,
               _COUNTERS: 2, _V4: 0, _V6: 0}

# Match-module option codes.
(_SPORT, _DPORT, _SYN, _FLAGS, _TCPOPT, _CHUNKS, _ICMP, _MSPORTS, _MDPORTS, _MPORTS, _SRCRANGE, _DSTRANGE,
 _STATE, _CTPROTO, _CTDIR, _CTOTHER, _COMMENT, _CTORIGSRC, _CTORIGSPORT) = range(100, 119)
_PORT_OPTIONS = {"--sport": _SPORT, "--source-port": _SPORT, "--dport": _DPORT, "--destination-port": _DPORT}
_MODULES: dict[str, dict[str, int]] = {
    "tcp": {**_PORT_OPTIONS, "--syn": _SYN, "--tcp-flags": _FLAGS, "--tcp-option": _TCPOPT},
    "udp": dict(_PORT_OPTIONS),
    "sctp": {**_PORT_OPTIONS, "--chunk-types": _CHUNKS},
    "icmp": {"--icmp-type": _ICMP},
    "multiport": {"--sports": _MSPORTS, "--source-ports": _MSPORTS, "--dports": _MDPORTS,
                  "--destination-ports": _MDPORTS, "--ports": _MPORTS},
    "iprange": {"--src-range": _SRCRANGE, "--dst-range": _DSTRANGE},
    "conntrack": {"--ctstate": _STATE, "--ctproto": _CTPROTO, "--ctdir": _CTDIR, "--ctstatus": _CTOTHER,
                  "--ctexpire": _CTOTHER, "--ctorigsrc": _CTORIGSRC, "--ctorigdst": _CTOTHER,
                  "--ctreplsrc": _CTOTHER, "--ctrepldst": _CTOTHER, "--ctorigsrcport": _CTORIGSPORT,
                  "--ctorigdstport": _CTOTHER, "--ctreplsrcport": _CTOTHER, "--ctrepldstport": _CTOTHER},
    "state": {"--state": _STATE},
    "comment": {"--comment": _COMMENT},
}
_MODULE_ARITY = {_SYN: 0, _FLAGS: 2, _CHUNKS: 2}
# word -> (code, number of values, owning module or "" for core options)
_Spec = tuple[int, int, str]
_CORE_SPECS: dict[str, _Spec] = {word: (code, _CORE_ARITY[code], "") for word, code in _CORE.items()}
_MODULE_SPECS: dict[str, dict[str, _Spec]] = {
    module: {word: (code, _MODULE_ARITY.get(code, 1), module) for word, code in options.items()}
    for module, options in _MODULES.items()}
_NOT_NEGATABLE = frozenset({_COMMENT})
_NO_OLD_NEGATION = frozenset({_COMMENT, _JUMP, _GOTO, _MATCH, _COUNTERS})
_OPTIONLESS_TARGETS = frozenset({ActionKind.ACCEPT, ActionKind.DROP, ActionKind.RETURN, ActionKind.JUMP,
                                 ActionKind.GOTO})

# Why a known-but-unmodelled match module cannot be decided from the ruleset alone.
_MODULE_REASONS: dict[str, str] = {
    "limit": "rate limit", "hashlimit": "per-host rate limit", "recent": "dynamic recent-address list",
    "set": "ipset membership (set contents are not in the dump)", "mac": "MAC address",
    "physdev": "bridge port", "addrtype": "address type (depends on the host's addresses)",
    "owner": "local socket owner", "mark": "packet mark", "connmark": "connection mark",
    "string": "payload string", "connlimit": "connection count", "length": "packet length",
    "ttl": "TTL value", "tos": "TOS field", "dscp": "DSCP field", "pkttype": "link-layer packet type",
    "time": "time of day", "u32": "raw header bytes", "policy": "IPsec policy", "helper": "conntrack helper",
    "quota": "byte quota", "statistic": "random/nth sampling", "geoip": "GeoIP country", "bpf": "BPF program",
    "socket": "local socket lookup", "rpfilter": "reverse path filter", "devgroup": "device group",
    "cgroup": "control group", "realm": "routing realm", "connbytes": "connection byte count",
    "ipvs": "IPVS property", "esp": "ESP SPI", "ah": "AH SPI", "ecn": "ECN bits", "hl": "hop limit",
    "cluster": "cluster hash", "nfacct": "accounting object", "osf": "OS fingerprint", "rateest": "rate estimator",
    "cpu": "receiving CPU", "dccp": "DCCP header", "tcpmss": "TCP MSS option", "ipv4options": "IP options",
}

_WORD_PATTERN = r"""(?:[^\s"'\\]|\\.|"(?:[^"\\]|\\.)*"|'[^']*')+"""
_TOKEN_RE = re.compile(_WORD_PATTERN)
_LINE_RE = re.compile(rf"\s*(?:{_WORD_PATTERN}(?:\s+|\Z))*")
_NEEDS_UNQUOTE = re.compile(r"""["'\\]""")
_WORD_PART = re.compile(r""""((?:[^"\\]|\\.)*)"|'([^']*)'|\\(.)|([^"'\\]+)""")
_DOUBLE_QUOTED_ESCAPE = re.compile(r'\\(["\\])')


# The rule shapes iptables-save prints most, after "-A CHAIN ": addresses, interfaces, a protocol with its own port
# match or a multiport destination list, and a target (REJECT with its type). Values are plain words (no quotes, no
# "!" or "-" in front); anything else goes through the general reader.
_VALUE = r"[^\s\"'\\!-][^\s\"'\\]*"
_COMMON_RULE = re.compile(
    rf"(?:-s ({_VALUE}) )?(?:-d ({_VALUE}) )?(?:-i ({_VALUE}) )?(?:-o ({_VALUE}) )?"
    rf"(?:-p ({_VALUE}) (?:-m ({_VALUE}) --dport ([0-9]+(?::[0-9]+)?) |-m multiport --dports ([0-9:,]+) )?)?"
    rf"-j ({_VALUE})(?: --reject-with ({_VALUE}))?")


def parse_iptables(text: str, *, source: str) -> Ruleset:
    """Parse ``iptables-save`` output into a ruleset of the ``filter`` table (forward chain ``FORWARD``).

    Raises :class:`ParseError` when the text is not readable iptables-save output.
    """
    # The parse allocates millions of acyclic objects; generational GC passes over them would cost more
    # than the parse itself (measured: 5.8 s vs 2.8 s for 100,000 rules), so cycle collection pauses.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _Parser(source).parse(text)
    finally:
        if collecting:
            gc.enable()


# A parsed rule body: match, action, the rule's unsupported reasons, the notes for ruleset.unsupported.
_Parsed = tuple[Match, Action, tuple[str, ...], tuple[str, ...]]
_MISSING: Any = object()


class _RuleError(Exception):
    """A reason the current line is unreadable; turned into a ParseError with the line number."""


def _tokenize(line: str) -> list[str]:
    """Split a rule line like a POSIX shell (quotes only where present: the common case is ``str.split``)."""
    if "\\" not in line and "'" not in line:
        if '"' not in line:
            return line.split()
        # iptables-save quotes whole words ("--comment "a b""): split at the quotes, C speed.
        parts = line.split('"')
        if len(parts) % 2:
            tokens: list[str] = []
            for index in range(0, len(parts) - 1, 2):
                before, quoted, after = parts[index], parts[index + 1], parts[index + 2]
                if not (before[-1].isspace() if before else index == 0) or (after and not after[0].isspace()):
                    break  # quotes inside a word: let the general path handle it
                tokens += before.split()
                tokens.append(quoted)
            else:
                tokens += parts[-1].split()
                return tokens
    if _LINE_RE.fullmatch(line) is None:
        try:
            return shlex.split(line)
        except ValueError as exc:
            raise _RuleError(f"cannot split the line into words ({exc})") from None
    tokens = _TOKEN_RE.findall(line)
    return [_unquote(word) if _NEEDS_UNQUOTE.search(word) else word for word in tokens]


def _unquote(word: str) -> str:
    """Remove shell quoting from one word, as ``shlex`` in POSIX mode does."""
    return "".join(_DOUBLE_QUOTED_ESCAPE.sub(r"\1", double) + single + escaped + plain
                   for double, single, escaped, plain in _WORD_PART.findall(word))


def _ipv4_value(text: str) -> int | None:
    """A strict dotted-quad IPv4 address as an integer (no leading zeros), else None."""
    try:
        return int.from_bytes(inet_pton(AF_INET, text), "big")
    except (OSError, UnicodeError, ValueError):
        return None


def _span(lo: int, hi: int) -> IntervalSet:
    """``IntervalSet.span`` without the sorting and merging a single interval does not need."""
    value = IntervalSet.__new__(IntervalSet)
    value.intervals = ((lo, hi),)
    value._hash = None
    return value


def _protocol_set(number: int | None, negate: bool) -> IntervalSet | None:
    """The protocols ``-p [!] NUMBER`` admits; None (any) for ``all``, empty for ``! all``."""
    if number is None:
        return IntervalSet() if negate else None
    value = IntervalSet.point(number)
    return value.complement(0, PROTO_MAX) if negate else value


class _Parser:
    """One parse: line-by-line state machine over tables, declarations and rules."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.ruleset = Ruleset(source=source, format="iptables", addresses=IPV4_ADDRESSES)
        self.table: str | None = None
        self.table_line = 0
        self.seen_tables: set[str] = set()
        self.chains: set[str] = set()  # declared chains of the current table (built-ins included)
        self.builtins: tuple[str, ...] = ()
        self.addresses: dict[str, IntervalSet | str] = {}  # word -> set, or the reason it is not modelled
        self.ports: dict[str, IntervalSet | str] = {}
        self.single_ports: dict[str, IntervalSet | str] = {}  # the common "--dport 443": no key to build
        self.interfaces: dict[tuple[str, bool], InterfaceMatch] = {}
        self.protocols: dict[tuple[str, bool], tuple[int | None, IntervalSet | None]] = {}
        self.states: dict[tuple[str, bool, str], bool | str] = {}
        self.actions: dict[tuple[str, bool], Action] = {}
        self.bodies: dict[str, _Parsed | None] = {}  # rule text after the chain name -> parse (None: ignored)

    # ----------------------------------------------------------------------------------- lines

    def parse(self, text: str) -> Ruleset:
        nul = text.find("\x00")
        if nul >= 0:
            raise ParseError(self.source, text.count("\n", 0, nul) + 1, "NUL byte: this is binary data, not text")
        chains = self.ruleset.chains
        source = self.source
        bodies = self.bodies
        lineno = 0
        try:
            for lineno, raw in enumerate(text.split("\n"), 1):
                line = raw.strip()
                if not line or line[0] == "#":
                    continue
                if line.startswith("-A ") and self.table == "filter":  # fast path for the bulk of the file
                    chain, _, body = line[3:].partition(" ")
                    if chain in self.chains:
                        parsed = bodies.get(body, _MISSING)
                        if parsed is _MISSING:
                            parsed = self._common_rule(body)
                            if parsed is None:
                                tokens = _tokenize(line)
                                parsed = self._rule(tokens, 2) if tokens[1] == chain else _MISSING
                            if parsed is not _MISSING:
                                bodies[body] = parsed
                        if parsed is not _MISSING:
                            if parsed is not None:
                                chains[chain].rules.append(self._make_rule(parsed, Origin(source, lineno, line)))
                            continue
                self._line(line, lineno)
        except _RuleError as exc:
            raise ParseError(self.source, lineno, str(exc)) from None
        if self.table is not None:
            raise ParseError(self.source, self.table_line,
                             f"table '{self.table}' is never closed: COMMIT missing before the end of the file")
        if not self.seen_tables:
            raise ParseError(self.source, 0, "no table found (no '*filter' or other '*table' line): "
                                             "this is not iptables-save output")
        if "filter" not in self.seen_tables:
            self.ruleset.chains["FORWARD"] = Chain(
                "FORWARD", policy=Verdict.ACCEPT, hook="forward",
                policy_origin=Origin(self.source, 0, "no *filter table: kernel default policy ACCEPT"))
        self.ruleset.forward = ["FORWARD"]
        return self.ruleset

    def _line(self, line: str, lineno: int) -> None:
        first = line[0]
        if first == "-" or first == "[":
            if self.table is None:
                raise _RuleError(f"rule before any table: {line.split()[0]!r} outside '*filter' ... 'COMMIT'")
            tokens = _tokenize(line) if self.table == "filter" else line.split()
            self._command(tokens, line, lineno)
        elif first == ":":
            self._declare(line, lineno)
        elif first == "*":
            self._open_table(line, lineno)
        elif line == "COMMIT":
            if self.table is None:
                raise _RuleError("COMMIT without an open table")
            self.table = None
        else:
            raise _RuleError(f"unexpected line starting with {line.split()[0]!r}: "
                             "expected '*table', ':chain', '-A chain ...', 'COMMIT' or a '#' comment")

    def _open_table(self, line: str, lineno: int) -> None:
        name = line[1:].strip()
        if self.table is not None:
            raise _RuleError(f"table '{name}' opened before COMMIT of table '{self.table}'")
        if name not in BUILTIN_CHAINS:
            raise _RuleError(f"unknown table {line!r} (expected one of: {', '.join(BUILTIN_CHAINS)})")
        if name in self.seen_tables:
            raise _RuleError(f"table '{name}' appears twice")
        self.table, self.table_line = name, lineno
        self.seen_tables.add(name)
        self.builtins = BUILTIN_CHAINS[name]
        self.chains = set(self.builtins)
        self.actions.clear()
        self.bodies.clear()
        if name == "filter":
            for chain in self.builtins:
                # iptables-restore keeps the kernel's policy of a built-in chain the file does not declare.
                self.ruleset.chains[chain] = Chain(
                    chain, policy=Verdict.ACCEPT, hook=_HOOKS[chain],
                    policy_origin=Origin(self.source, 0, f"{chain} not declared: kernel default policy ACCEPT"))

    def _declare(self, line: str, lineno: int) -> None:
        if self.table is None:
            raise _RuleError(f"chain declaration {line.split()[0]!r} before any table")
        parts = line[1:].split()
        if not parts or len(parts) > 3 or (len(parts) == 3 and not re.fullmatch(r"\[\d+:\d+\]", parts[2])):
            raise _RuleError(f"malformed chain declaration {line!r}: expected ':NAME POLICY [packets:bytes]'")
        policy = parts[1] if len(parts) > 1 else "-"
        self._new_chain(parts[0], policy, line, lineno, declaration=True)

    def _new_chain(self, name: str, policy: str, line: str, lineno: int, *, declaration: bool) -> None:
        if name in self.builtins:
            if policy not in _POLICIES:
                raise _RuleError(f"built-in chain '{name}' needs policy ACCEPT or DROP, not {policy!r}")
            if self.table == "filter":
                chain = self.ruleset.chains[name]
                chain.policy = _POLICIES[policy]
                chain.policy_origin = Origin(self.source, lineno, line)
            return
        if policy != "-":
            raise _RuleError(f"user-defined chain '{name}' cannot have policy {policy!r} (only '-')")
        if name in self.chains and declaration:
            raise _RuleError(f"chain '{name}' is declared twice")
        if name.startswith(("-", "!")) or name in _VERDICT_TARGETS or len(name) > 28:
            raise _RuleError(f"invalid chain name {name!r}")
        self.chains.add(name)
        self.actions.clear()
        self.bodies.clear()
        if self.table == "filter":
            self.ruleset.chains[name] = Chain(name)

    def _command(self, tokens: list[str], line: str, lineno: int) -> None:
        start = 0
        if tokens[0].startswith("["):  # iptables-save -c: "[packets:bytes] -A ..."
            if not re.fullmatch(r"\[\d+:\d+\]", tokens[0]):
                raise _RuleError(f"malformed counters {tokens[0]!r}")
            start = 1
        if len(tokens) < start + 2:
            raise _RuleError(f"incomplete command {line!r}")
        command, chain = tokens[start], tokens[start + 1]
        if command in ("-N", "--new-chain"):
            self._new_chain(chain, "-", line, lineno, declaration=True)
            return
        if command in ("-P", "--policy"):
            if len(tokens) != start + 3 or chain not in self.builtins:
                raise _RuleError(f"malformed policy command {line!r}")
            self._new_chain(chain, tokens[start + 2], line, lineno, declaration=True)
            return
        if command in ("-A", "--append"):
            position = None
            body = start + 2
        elif command in ("-I", "--insert"):
            body = start + 2
            position = 0
            if len(tokens) > body and tokens[body].isdigit():
                position = int(tokens[body]) - 1
                body += 1
        else:
            raise _RuleError(f"unsupported command {command!r}: a ruleset file appends rules with '-A CHAIN ...'")
        if chain not in self.chains:
            raise _RuleError(f"rule for undeclared chain {chain!r} (declare it with ':{chain} - [0:0]')")
        if self.table != "filter":
            return
        parsed = self._rule(tokens, body)
        if parsed is None:
            return
        rule = self._make_rule(parsed, Origin(self.source, lineno, line))
        rules = self.ruleset.chains[chain].rules
        if position is None:
            rules.append(rule)
        else:
            rules.insert(position, rule)

    # ----------------------------------------------------------------------------------- rules

    def _common_rule(self, body: str) -> _Parsed | None:
        """:meth:`_rule` for the shapes iptables-save prints most (see :data:`_COMMON_RULE`): the same result, or None
        when the rule has another shape or anything about it is not plain (then :meth:`_rule` reads it, errors and
        unmodelled parts included)."""
        found = _COMMON_RULE.fullmatch(body)
        if found is None:
            return None
        s, d, i, o, p, module, dport, dports, target, reject_with = found.groups()
        src: IntervalSet | None = None
        dst: IntervalSet | None = None
        proto: IntervalSet | None = None
        ports: IntervalSet | None = None
        value: IntervalSet | str | None
        in_iface: InterfaceMatch | None = None
        out_iface: InterfaceMatch | None = None
        try:  # (the caches hold what the general reader would compute; "is None", as IntervalSet has __bool__)
            if s is not None:
                value = self.addresses.get(s)
                if value is None:
                    value = self._address_list(s, False, "-s")
                if isinstance(value, str):
                    return None
                src = value
            if d is not None:
                value = self.addresses.get(d)
                if value is None:
                    value = self._address_list(d, False, "-d")
                if isinstance(value, str):
                    return None
                dst = value
            if i is not None:
                in_iface = self.interfaces.get((i, False))
                if in_iface is None:
                    in_iface = self._interface(i, False)
            if o is not None:
                out_iface = self.interfaces.get((o, False))
                if out_iface is None:
                    out_iface = self._interface(o, False)
            if p is not None:
                number, proto = self._protocols(p, False)
                if dport is not None:  # "-p tcp -m tcp --dport N": the port match of the protocol's own module
                    if module != p or module not in _PORT_MODULES or _MODULE_PROTOCOL[module] != number:
                        return None
                    value = self.single_ports.get(dport)
                    if value is None:
                        value = self._ports(dport, False, multi=False)
                    if isinstance(value, str):
                        return None
                    ports = value
                elif dports is not None:  # "-p tcp -m multiport --dports A,B"
                    if number not in _MULTIPORT_PROTOCOLS:
                        return None
                    value = self._ports(dports, False, multi=True)
                    if isinstance(value, str):
                        return None
                    ports = value
            action = self.actions.get((target, False))
            if action is None:
                action = self._action(target, goto=False)
        except _RuleError:
            return None
        kind = action.kind
        if kind is ActionKind.UNKNOWN or kind is ActionKind.CONTINUE or (
                reject_with is not None and target != "REJECT"):
            return None
        return Match(src, dst, proto, None, ports, in_iface, out_iface, True), action, (), ()

    def _make_rule(self, parsed: _Parsed, origin: Origin) -> Rule:
        match, action, reasons, reported = parsed
        if reported:
            self.ruleset.unsupported.extend(Unsupported(origin, reason) for reason in reported)
        return Rule(match, action, origin, reasons)

    def _rule(self, tokens: list[str], i: int) -> _Parsed | None:
        """Parse the options of one filter rule; None when the rule is ignored (``-6``)."""
        n = len(tokens)
        src: IntervalSet | None = None
        dst: IntervalSet | None = None
        proto: IntervalSet | None = None
        proto_value: int | None = None  # the single, non-negated protocol number, if any
        sport: IntervalSet | None = None
        dport: IntervalSet | None = None
        in_iface: InterfaceMatch | None = None
        out_iface: InterfaceMatch | None = None
        new = True
        reasons: list[str] = []
        loaded: list[dict[str, _Spec]] = []  # option tables of the supported match modules in use
        needs_proto: list[tuple[str, str]] = []  # (module, option) whose protocol must be checked
        unknown_loaded = False
        action: Action | None = None
        seen = 0  # bit set of core option codes
        negate = False
        core = _CORE_SPECS
        addresses = self.addresses
        single_ports = self.single_ports
        interfaces = self.interfaces
        actions = self.actions
        while i < n:
            word = tokens[i]
            i += 1
            spec = core.get(word)
            if spec is None:
                if word == "!":
                    if negate:
                        raise _RuleError("'!' given twice")
                    negate = True
                    continue
                for options in reversed(loaded):  # explicit -m modules first, the latest first
                    spec = options.get(word)
                    if spec is not None:
                        break
                else:
                    if unknown_loaded and word.startswith("--"):
                        # An option of an unmodelled module given after other options: fold it in.
                        j = self._skip_options(tokens, i)
                        reasons.append(f"option {' '.join(tokens[i - 1:j])} of an unmodelled match")
                        negate = False
                        i = j
                        continue
                    if word in _PORT_OPTIONS and not loaded:
                        raise _RuleError(f"option {word} needs a protocol match first "
                                         "(-p tcp/udp/sctp or -m tcp/udp/sctp)")
                    if word.startswith("-"):
                        modules = ", ".join(next(iter(options.values()))[2] for options in loaded)
                        raise _RuleError(f"unknown option {word!r}" + (
                            f" (loaded match modules: {modules})" if loaded else ""))
                    raise _RuleError(f"unexpected word {word!r} where an option was expected")
                code, arity, module = spec
                if negate and code in _NOT_NEGATABLE:
                    raise _RuleError(f"'!' cannot negate {word}")
            else:
                code, arity, module = spec
                if negate and code not in _CORE_NEGATABLE:
                    raise _RuleError(f"'!' cannot negate {word}")
                bit = 1 << code
                if seen & bit and code != _MATCH and code != _COUNTERS:
                    raise _RuleError(f"option {word} given twice in one rule")
                seen |= bit
            # Arguments, accepting the old "-s ! x" negation form.
            if arity:
                if i < n and tokens[i] == "!" and code not in _NO_OLD_NEGATION:
                    if negate:
                        raise _RuleError(f"'!' given twice for {word}")
                    negate = True
                    i += 1
                if i + arity > n:
                    raise _RuleError(f"option {word} needs {arity} value{'s' if arity > 1 else ''}")
                arg = tokens[i]
                i += arity
            else:
                arg = ""

            if code in (_SRC, _DST):
                value = (None if negate else addresses.get(arg)) or self._address_list(arg, negate, word)
                if isinstance(value, str):
                    reasons.append(value)
                elif code == _SRC:
                    src = value if src is None else src.intersection(value)
                else:
                    dst = value if dst is None else dst.intersection(value)
            elif code == _PROTO:
                number, protocols = self._protocols(arg, negate)
                if protocols is not None:
                    proto = protocols if proto is None else proto.intersection(protocols)
                if number is not None and not negate:
                    proto_value = number
                    implicit = _IMPLICIT_MODULE.get(number)
                    if implicit is not None and _MODULE_SPECS[implicit] not in loaded:
                        loaded.insert(0, _MODULE_SPECS[implicit])  # iptables' fallback for "-p tcp --dport"
            elif code == _MATCH:
                module_options = _MODULE_SPECS.get(arg)
                if module_options is not None:
                    if not any(options is module_options for options in loaded):
                        loaded.append(module_options)
                else:
                    j = self._skip_options(tokens, i)
                    what = _MODULE_REASONS.get(arg, "unknown match module")
                    reasons.append(f"-m {' '.join(tokens[i - 1:j])}: {what} is not modelled")
                    unknown_loaded = True
                    i = j
            elif code in (_JUMP, _GOTO):
                if seen & (1 << _GOTO) and seen & (1 << _JUMP):
                    raise _RuleError("both -j and -g given")
                action = actions.get((arg, code == _GOTO)) or self._action(arg, goto=code == _GOTO)
                if i < n and tokens[i] not in core:
                    j = self._skip_options(tokens, i)  # target options (--reject-with, --log-prefix ...)
                    if j > i:
                        self._check_target_options(arg, action, tokens[i:j])
                    i = j
            elif code in (_IN, _OUT):
                iface = interfaces.get((arg, negate)) or self._interface(arg, negate)
                if code == _IN:
                    in_iface = iface
                else:
                    out_iface = iface
            elif code in (_SPORT, _DPORT):
                ports = (None if negate else single_ports.get(arg)) or self._ports(arg, negate, multi=False)
                if isinstance(ports, str):
                    reasons.append(ports)
                elif code == _SPORT:
                    sport = ports if sport is None else sport.intersection(ports)
                else:
                    dport = ports if dport is None else dport.intersection(ports)
                needs_proto.append((module, word))
            elif code == _STATE:
                state_key = (arg, negate, word)
                decided = self.states.get(state_key)
                if decided is None:
                    decided = self.states[state_key] = self._state(arg, negate, word)
                if isinstance(decided, str):
                    reasons.append(decided)
                elif not decided:
                    new = False
            elif code == _COMMENT:
                pass
            elif code in (_MSPORTS, _MDPORTS, _MPORTS):
                ports = self._ports(arg, negate, multi=True)
                needs_proto.append(("multiport", word))
                if isinstance(ports, str):
                    reasons.append(ports)
                elif code == _MPORTS and not negate:
                    reasons.append(f"multiport --ports {arg} matches the source OR the destination port; "
                                   "a disjunction is not modelled")
                else:
                    if code != _MDPORTS:  # "! --ports" = neither port in the list: a conjunction
                        sport = ports if sport is None else sport.intersection(ports)
                    if code != _MSPORTS:
                        dport = ports if dport is None else dport.intersection(ports)
            elif code in (_SRCRANGE, _DSTRANGE):
                value = self._range(arg, negate, word)
                if code == _SRCRANGE:
                    src = value if src is None else src.intersection(value)
                else:
                    dst = value if dst is None else dst.intersection(value)
            elif code in (_SYN, _FLAGS):
                needs_proto.append(("tcp", word))
                if code == _SYN:
                    matched = True
                else:
                    matched_or_reason = self._tcp_flags(arg, tokens[i - 1])
                    if isinstance(matched_or_reason, str):
                        reasons.append(matched_or_reason)
                        negate = False
                        continue
                    matched = matched_or_reason
                if matched == negate:
                    new = False
            elif code == _ICMP:
                needs_proto.append(("icmp", word))
                if arg != "any" or negate:
                    reasons.append(f"{'! ' if negate else ''}--icmp-type {arg}: ICMP types are not modelled")
            elif code == _CTPROTO:
                protocols = self._protocols(arg, negate)[1]
                if protocols is not None:
                    proto = protocols if proto is None else proto.intersection(protocols)
            elif code == _CTORIGSRC:
                # The original tuple is the first packet as seen before any NAT; only SNAT (after the
                # filter hooks) rewrites the source, so for a new packet it is the packet's own source.
                value = self._address_list(arg, negate, word)
                if isinstance(value, str):
                    reasons.append(value)
                else:
                    src = value if src is None else src.intersection(value)
            elif code == _CTORIGSPORT:
                ports = self._ports(arg, negate, multi=False)
                if isinstance(ports, str):
                    reasons.append(ports)
                else:
                    sport = ports if sport is None else sport.intersection(ports)
            elif code == _CTDIR:
                direction = arg.upper()
                if direction not in ("ORIGINAL", "REPLY"):
                    raise _RuleError(f"--ctdir {arg!r}: expected ORIGINAL or REPLY")
                if (direction == "ORIGINAL") == negate:  # a new packet travels in the original direction
                    new = False
            elif code in (_CTOTHER, _TCPOPT, _CHUNKS):
                shown = " ".join([word, *tokens[i - arity:i]])
                reasons.append(f"{'! ' if negate else ''}{shown}: this conntrack/header condition is not modelled")
            elif code == _FRAG:
                if not negate:  # only non-first fragments: never the first packet of a flow
                    new = False
            elif code == _V6:
                return None  # iptables-restore silently ignores rules marked IPv6-only
            # _V4 and _COUNTERS need nothing.
            negate = False
        if negate:
            raise _RuleError("'!' at the end of the rule negates nothing")

        for module, option in needs_proto:
            wanted = _MODULE_PROTOCOL.get(module)
            allowed = (proto_value in _MULTIPORT_PROTOCOLS) if wanted is None else proto_value == wanted
            if not allowed:
                need = "-p tcp/udp/sctp" if wanted is None else f"-p {module}"
                reasons.append(f"{option} (match {module}) without {need}: port/header match without "
                               "its protocol is not modelled")
        match = Match(src, dst, proto, sport, dport, in_iface, out_iface, new)
        if action is None:
            action = self._action("", goto=False)  # no target: a counting rule
        empty = not new or ((src is not None and not src.intervals) or (dst is not None and not dst.intervals)
                            or (proto is not None and not proto.intervals)
                            or (sport is not None and not sport.intervals)
                            or (dport is not None and not dport.intervals))
        if empty or action.kind is ActionKind.CONTINUE:
            return match, action, (), ()  # cannot change any verdict: nothing to report
        if action.kind is ActionKind.UNKNOWN:
            return match, action, tuple(reasons), (*reasons, f"target {action.target} is not modelled "
                                                              "(matching packets get an unknown verdict)")
        return match, action, tuple(reasons), tuple(reasons)

    @staticmethod
    def _skip_options(tokens: list[str], i: int) -> int:
        """Index of the next core option (or its ``!``) at or after ``i``."""
        n = len(tokens)
        while i < n:
            word = tokens[i]
            if word in _CORE or (word == "!" and i + 1 < n and tokens[i + 1] in _CORE):
                break
            i += 1
        return i

    # ------------------------------------------------------------------------------ values

    def _action(self, target: str, *, goto: bool) -> Action:
        key = (target, goto)
        action = self.actions.get(key)
        if action is not None:
            return action
        if not target:
            action = Action(ActionKind.CONTINUE)
        elif target in _VERDICT_TARGETS:
            action = Action(_VERDICT_TARGETS[target])
        elif target in self.builtins:
            raise _RuleError(f"cannot jump to built-in chain {target!r}")
        elif target in self.chains:
            action = Action(ActionKind.GOTO if goto else ActionKind.JUMP, target)
        elif target in _CONTINUE_TARGETS:
            action = Action(ActionKind.CONTINUE, target)
        elif _TARGET_EXTENSION.match(target):
            action = Action(ActionKind.UNKNOWN, target)  # an extension target (NFQUEUE, TARPIT ...)
        else:
            raise _RuleError(f"{'-g' if goto else '-j'} {target}: jump to undeclared chain {target!r}")
        self.actions[key] = action
        return action

    @staticmethod
    def _check_target_options(target: str, action: Action, options: list[str]) -> None:
        if action.kind in _OPTIONLESS_TARGETS:
            raise _RuleError(f"unexpected {options[0]!r} after target {target} (it takes no options)")
        if target == "REJECT" and (len(options) != 2 or options[0] != "--reject-with"):
            raise _RuleError(f"unexpected {' '.join(options)!r} after target REJECT "
                             "(only --reject-with TYPE is allowed)")

    def _address_list(self, text: str, negate: bool, option: str) -> IntervalSet | str:
        key = f"!{text}" if negate else text
        cached = self.addresses.get(key)
        if cached is not None:
            return cached
        value: IntervalSet | str | None = None
        if "," in text:
            if negate:
                raise _RuleError(f"'! {option} {text}': negation is not allowed with several addresses")
            intervals: list[tuple[int, int]] = []
            for part in text.split(","):
                one = self._network(part)
                if isinstance(one, str):
                    value = one
                    break
                intervals.extend(one.intervals)
            if value is None:
                value = IntervalSet(intervals)
        else:
            value = self._network(text)
            if negate and not isinstance(value, str):
                value = IPV4_ADDRESSES.difference(value)
        self.addresses[key] = value
        return value

    def _network(self, text: str) -> IntervalSet | str:
        address, _, mask = text.partition("/")
        base = _ipv4_value(address)
        if base is not None:
            if not mask:
                bits = 0xFFFFFFFF
            elif mask.isascii() and mask.isdigit() and len(mask) <= 2 and int(mask) <= 32:
                bits = (0xFFFFFFFF << (32 - int(mask))) & 0xFFFFFFFF
            else:
                dotted = _ipv4_value(mask)
                if dotted is None:
                    raise _RuleError(f"bad netmask {mask!r} in address {text!r}")
                inverse = ~dotted & 0xFFFFFFFF
                if inverse & (inverse + 1):
                    return f"address {text}: non-contiguous netmask is not modelled"
                bits = dotted
            lo = V4_BASE + (base & bits)
            return _span(lo, lo + (~bits & 0xFFFFFFFF))
        if not text:
            raise _RuleError("empty address")
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            if re.search(r"[A-Za-z]", text) and ":" not in text:
                raise _RuleError(f"address {text!r} is a hostname; iptables-save prints numeric addresses "
                                 "(hostnames are not allowed)") from None
            raise _RuleError(f"bad address {text!r}") from None
        if network.version != 4:
            raise _RuleError(f"IPv6 address {text!r} in an IPv4 iptables ruleset (is this ip6tables-save output?)")
        raise _RuleError(f"bad address {text!r}")

    def _range(self, text: str, negate: bool, option: str) -> IntervalSet:
        first, dash, last = text.partition("-")
        lo, hi = _ipv4_value(first), _ipv4_value(last)
        if not dash or lo is None or hi is None:
            raise _RuleError(f"{option} {text!r}: expected an IPv4 range FIRST-LAST")
        if lo > hi:
            raise _RuleError(f"{option} {text!r}: empty range (first address after last)")
        value = IntervalSet.span(V4_BASE + lo, V4_BASE + hi)
        return IPV4_ADDRESSES.difference(value) if negate else value

    def _protocols(self, text: str, negate: bool) -> tuple[int | None, IntervalSet | None]:
        key = (text, negate)
        value = self.protocols.get(key)
        if value is None:
            number = self._protocol(text)
            value = self.protocols[key] = (number, _protocol_set(number, negate))
        return value

    def _protocol(self, text: str) -> int | None:
        name = text.lower()
        if name == "all":
            return None
        if name.isascii() and name.isdigit():
            number = int(name)
            if number > PROTO_MAX:
                raise _RuleError(f"protocol number {text!r} is out of range 0-255")
            return number or None
        named = _PROTOCOL_NAMES.get(name)
        if named is None:
            raise _RuleError(f"unknown protocol {text!r}")
        return named or None

    def _ports(self, text: str, negate: bool, *, multi: bool) -> IntervalSet | str:
        key = f"{'!' if negate else ''}{'m' if multi else 's'}{text}"
        value = self.ports.get(key)
        if value is not None:
            return value
        value = self._parse_ports(text, negate, multi=multi)
        self.ports[key] = value
        if not multi and not negate:
            self.single_ports[text] = value
        return value

    def _parse_ports(self, text: str, negate: bool, *, multi: bool) -> IntervalSet | str:
        """``22``, ``1000:2000``, ``:1023``, ``1024:`` (and comma lists for multiport), optionally negated."""
        parts = text.split(",") if multi else [text]
        intervals: list[tuple[int, int]] = []
        for part in parts:
            first, colon, last = part.partition(":")
            if not colon and not multi and "-" in part:
                raise _RuleError(f"bad port range {text!r}: iptables writes ranges as FIRST:LAST")
            lo = self._port(first, text) if first or not colon else 0
            hi = (self._port(last, text) if last else PORT_MAX) if colon else lo
            if isinstance(lo, str) or isinstance(hi, str):
                return f"port {text}: service name {(lo if isinstance(lo, str) else hi)!r} is not resolved"
            if lo > hi:
                raise _RuleError(f"bad port range {text!r}: first port after last")
            intervals.append((lo, hi))
        result = _span(*intervals[0]) if len(intervals) == 1 else IntervalSet(intervals)
        return result.complement(0, PORT_MAX) if negate else result

    @staticmethod
    def _port(text: str, whole: str) -> int | str:
        if text.isascii() and text.isdigit():
            port = int(text)
            if port > PORT_MAX:
                raise _RuleError(f"port {text!r} is out of range 0-65535")
            return port
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9._+-]*", text):
            return text
        raise _RuleError(f"bad port {text!r} in {whole!r}")

    def _interface(self, name: str, negate: bool) -> InterfaceMatch:
        key = (name, negate)
        value = self.interfaces.get(key)
        if value is None:
            if not name or len(name) > 15 or "/" in name:
                raise _RuleError(f"bad interface name {name!r}")
            value = self.interfaces[key] = InterfaceMatch((name,), negate)
        return value

    @staticmethod
    def _state(text: str, negate: bool, option: str) -> bool | str:
        """Whether a new packet meets ``--state``/``--ctstate``, or why that is undecidable."""
        states = {part.upper() for part in text.split(",")}
        bad = states - _CT_STATES
        if bad or not text:
            raise _RuleError(f"{option} {text!r}: unknown connection state {', '.join(sorted(bad)) or '(empty)'}")
        undecided = states & _CT_UNDECIDED
        if undecided:
            return (f"{'! ' if negate else ''}{option} {text}: state {', '.join(sorted(undecided))} "
                    "depends on NAT/notrack rules and is not modelled")
        return ("NEW" in states) != negate

    @staticmethod
    def _tcp_flags(mask_text: str, comp_text: str) -> bool | str:
        """Whether a new TCP packet (SYN, no ACK/RST/FIN) meets ``--tcp-flags MASK COMP``."""
        values = []
        for text in (mask_text, comp_text):
            value = 0
            for flag in text.upper().split(","):
                if flag not in _TCP_FLAGS:
                    raise _RuleError(f"--tcp-flags: unknown TCP flag {flag!r}")
                value |= _TCP_FLAGS[flag]
            values.append(value)
        mask, comp = values
        if mask & ~_DECIDED_FLAGS:
            return (f"--tcp-flags {mask_text} {comp_text}: tests flags (PSH/URG/ECE/CWR) a new packet may or "
                    "may not carry; not modelled")
        return (_NEW_TCP_FLAGS & mask) == comp
