"""The zone inventory file: zones, gateways, exceptions, firewalls and the zone policy (issue 5 §4).

```yaml
zones:                      # an address belongs to the zone with the longest matching prefix
  mynumber: {tier: mynumber, cidrs: [10.10.0.0/16]}
  external: {tier: external, cidrs: [0.0.0.0/0, "::/0"]}
gateways:
  - {name: mail-relay, kind: mail_sanitizer, address: 10.30.0.25, ports: [tcp/25]}
exceptions:
  - {name: eltax, from: mynumber, to: 192.0.2.0/24, ports: [tcp/443], reason: 特定通信}
firewalls:
  - {name: fw1, format: iptables, ruleset: fw1.rules, interfaces: {eth0: mynumber, eth1: lgwan}}
policy:                     # optional; replaces the default below
  - {between: [mynumber, "*"], allow: none, clause: "6(3)①"}
```

Every error names the file, the line of the entry at fault and what is wrong (``ParseError``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mamoru.netcheck.model import (
    ALL_PORTS,
    ALL_PROTOCOLS,
    IntervalSet,
    ParseError,
    address_value,
    network_interval,
    protocol_number,
)

TIERS = ("mynumber", "lgwan", "internet", "external", "independent", "other")
GATEWAY_KINDS = ("mail_sanitizer", "file_sanitizer", "screen_transfer", "virtual_browser", "security_cloud",
                 "lgwan_asp", "specific_communication", "other")
SANITIZING_KINDS = ("mail_sanitizer", "file_sanitizer", "screen_transfer")
FORMATS = ("iptables", "nftables", "csv")
ALLOW = ("none", "gateways", "any")


@dataclass(frozen=True)
class Service:
    """``tcp/25``, ``udp/53``, ``tcp/1000-2000``, ``icmp``, ``any``."""

    proto: IntervalSet
    ports: IntervalSet
    text: str


@dataclass(frozen=True)
class Zone:
    name: str
    tier: str
    cidrs: tuple[str, ...]
    addresses: IntervalSet  # the addresses whose longest matching prefix is one of this zone's
    line: int = 0


@dataclass(frozen=True)
class Gateway:
    name: str
    kind: str
    address: str
    value: int
    services: tuple[Service, ...]
    line: int = 0


@dataclass(frozen=True)
class FlowException:
    name: str
    source: str  # a zone name
    destination: str  # a zone name or a network
    destination_addresses: IntervalSet
    services: tuple[Service, ...]
    reason: str
    line: int = 0


@dataclass(frozen=True)
class Firewall:
    name: str
    format: str
    ruleset: str  # the path as written in the inventory
    path: Path  # resolved against the inventory's folder
    interfaces: dict[str, str]  # interface → zone name
    line: int = 0


@dataclass(frozen=True)
class PolicyRule:
    """Between tiers ``a`` and ``b`` (both directions; ``*`` = any other tier) only what ``allow`` says."""

    a: str
    b: str
    allow: str  # none | gateways | any
    gateway_kinds: tuple[str, ...]  # for allow=gateways; empty = every kind
    clause: str
    line: int = 0

    def covers(self, tier_a: str, tier_b: str) -> bool:
        def pair(x: str, y: str) -> bool:
            return (self.a == x or (self.a == "*" and x != y)) and (self.b == y or (self.b == "*" and x != y))

        return tier_a != tier_b and (pair(tier_a, tier_b) or pair(tier_b, tier_a))


DEFAULT_POLICY = (
    PolicyRule("mynumber", "*", "none", (), "6(3)①"),
    PolicyRule("lgwan", "internet", "gateways", SANITIZING_KINDS, "6(3)②"),
    PolicyRule("lgwan", "external", "gateways", SANITIZING_KINDS, "6(3)②"),
    PolicyRule("internet", "external", "gateways", (), "6(3)③"),
)


@dataclass
class Inventory:
    source: str
    base: Path
    zones: dict[str, Zone] = field(default_factory=dict)
    gateways: list[Gateway] = field(default_factory=list)
    exceptions: list[FlowException] = field(default_factory=list)
    firewalls: list[Firewall] = field(default_factory=list)
    policy: tuple[PolicyRule, ...] = DEFAULT_POLICY

    def zone_of(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Zone | None:
        value = address_value(address)
        return next((z for z in self.zones.values() if value in z.addresses), None)

    def rule_for(self, a: Zone, b: Zone) -> PolicyRule | None:
        """The first policy rule that restricts traffic between these zones' tiers (None: unrestricted)."""
        return next((r for r in self.policy if r.covers(a.tier, b.tier)), None)

    def firewall(self, name: str) -> Firewall:
        for fw in self.firewalls:
            if fw.name == name:
                return fw
        raise ParseError(self.source, 0, f"no firewall named {name!r} (known: {', '.join(self.names())})")

    def names(self) -> list[str]:
        return [fw.name for fw in self.firewalls]


class _Map(dict[str, Any]):
    line = 0


class _Loader(yaml.SafeLoader):
    """A safe loader whose mappings remember their line, so errors can point at the entry."""


def _mapping(loader: _Loader, node: yaml.MappingNode) -> _Map:
    result = _Map({str(k): v for k, v in loader.construct_mapping(node, deep=True).items()})
    result.line = node.start_mark.line + 1
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def parse_service(text: str) -> Service:
    """``tcp/25`` → proto tcp, port 25. Raises ValueError."""
    raw = str(text).strip().lower()
    if raw in ("any", "all"):
        return Service(ALL_PROTOCOLS, ALL_PORTS, raw)
    name, _, ports = raw.partition("/")
    proto = IntervalSet.point(protocol_number(name))
    if not ports:
        return Service(proto, ALL_PORTS, raw)
    if name not in ("tcp", "udp", "sctp"):
        raise ValueError(f"{text!r}: only tcp, udp and sctp have ports")
    first, _, last = ports.partition("-")
    lo, hi = int(first), int(last or first)
    if not 0 <= lo <= hi <= 65535:
        raise ValueError(f"{text!r}: ports must be 0-65535, lowest first")
    return Service(proto, IntervalSet.span(lo, hi), raw)


def load_inventory(path: str | Path) -> Inventory:
    """Read an inventory file. Raises ParseError naming file, line and reason."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ParseError(str(path), 0, f"cannot read the inventory: {exc}") from exc
    return parse_inventory(text, source=str(path), base=path.parent)


def parse_inventory(text: str, *, source: str, base: Path) -> Inventory:
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise ParseError(source, line, f"not valid YAML: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise ParseError(source, 0, f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ParseError(source, 1, "the inventory must be a mapping with zones, gateways, exceptions, firewalls")
    unknown = set(data) - {"zones", "gateways", "exceptions", "firewalls", "policy"}
    if unknown:
        raise ParseError(source, _line(data), f"unknown section(s): {', '.join(sorted(map(str, unknown)))}")
    inventory = Inventory(source=source, base=base)
    inventory.zones = _zones(source, data.get("zones"))
    inventory.gateways = [_gateway(source, g) for g in _list(source, data, "gateways")]
    inventory.exceptions = [_exception(source, e, inventory.zones) for e in _list(source, data, "exceptions")]
    inventory.firewalls = [_firewall(source, f, inventory.zones, base) for f in _list(source, data, "firewalls")]
    names = [fw.name for fw in inventory.firewalls]
    if len(set(names)) != len(names):
        raise ParseError(source, _line(data), "two firewalls have the same name")
    if "policy" in data:
        inventory.policy = tuple(_policy_rule(source, r) for r in _list(source, data, "policy"))
    return inventory


def _line(value: Any) -> int:
    return int(getattr(value, "line", 0))


def _list(source: str, data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise ParseError(source, _line(data), f"'{key}' must be a list")
    for item in value:
        if not isinstance(item, dict):
            raise ParseError(source, _line(data), f"every entry of '{key}' must be a mapping, not {item!r}")
    return value


def _require(source: str, entry: dict[str, Any], key: str, what: str) -> str:
    value = entry.get(key)
    if value is None or str(value).strip() == "":
        raise ParseError(source, _line(entry), f"{what} needs '{key}'")
    return str(value).strip()


def _zones(source: str, raw: Any) -> dict[str, Zone]:
    if not isinstance(raw, dict) or not raw:
        raise ParseError(source, _line(raw), "'zones' must map each zone name to its tier and cidrs")
    declared: list[tuple[str, str, int, int, int, str, int]] = []  # zone, tier, prefix, lo, hi, cidr, line
    specs: dict[str, tuple[str, list[str], int]] = {}
    for name, spec in raw.items():
        if not isinstance(spec, dict):
            raise ParseError(source, _line(raw), f"zone {name!r} must be a mapping with tier and cidrs")
        tier = _require(source, spec, "tier", f"zone {name!r}")
        if tier not in TIERS:
            raise ParseError(source, _line(spec), f"zone {name!r}: unknown tier {tier!r} (one of {', '.join(TIERS)})")
        cidrs = spec.get("cidrs")
        if not isinstance(cidrs, list) or not cidrs:
            raise ParseError(source, _line(spec), f"zone {name!r} needs a list of cidrs")
        for cidr in cidrs:
            try:
                network = ipaddress.ip_network(str(cidr).strip(), strict=False)
            except ValueError as exc:
                raise ParseError(source, _line(spec), f"zone {name!r}: {cidr!r} is not a network ({exc})") from exc
            lo, hi = network_interval(network)
            prefix = network.prefixlen + (96 if network.version == 4 else 0)
            declared.append((str(name), tier, prefix, lo, hi, str(cidr), _line(spec)))
        specs[str(name)] = (tier, [str(c) for c in cidrs], _line(spec))
    seen: dict[tuple[int, int], str] = {}
    for zone, _tier, _prefix, lo, hi, cidr, line in declared:
        other = seen.setdefault((lo, hi), zone)
        if other != zone:
            raise ParseError(source, line, f"{cidr} is in two zones ({other} and {zone}): "
                                           f"the longest match is ambiguous")
    zones = {}
    for name, (tier, cidrs, line) in specs.items():
        own = [d for d in declared if d[0] == name]
        addresses = IntervalSet()
        for _zone, _tier, prefix, lo, hi, _cidr, _at in own:
            longer = IntervalSet((d[3], d[4]) for d in declared if d[0] != name and d[2] > prefix)
            addresses = addresses.union(IntervalSet.span(lo, hi).difference(longer))
        zones[name] = Zone(name=name, tier=tier, cidrs=tuple(cidrs), addresses=addresses, line=line)
    return zones


def _services(source: str, entry: dict[str, Any], what: str) -> tuple[Service, ...]:
    raw = entry.get("ports")
    if not isinstance(raw, list) or not raw:
        raise ParseError(source, _line(entry), f"{what} needs 'ports', e.g. [tcp/25]")
    try:
        return tuple(parse_service(str(p)) for p in raw)
    except ValueError as exc:
        raise ParseError(source, _line(entry), f"{what}: {exc}") from exc


def _gateway(source: str, entry: dict[str, Any]) -> Gateway:
    name = _require(source, entry, "name", "a gateway")
    kind = _require(source, entry, "kind", f"gateway {name!r}")
    if kind not in GATEWAY_KINDS:
        raise ParseError(source, _line(entry), f"gateway {name!r}: unknown kind {kind!r} "
                                               f"(one of {', '.join(GATEWAY_KINDS)})")
    address = _require(source, entry, "address", f"gateway {name!r}")
    try:
        value = address_value(ipaddress.ip_address(address))
    except ValueError as exc:
        raise ParseError(source, _line(entry), f"gateway {name!r}: {address!r} is not an address") from exc
    return Gateway(name, kind, address, value, _services(source, entry, f"gateway {name!r}"), _line(entry))


def _exception(source: str, entry: dict[str, Any], zones: dict[str, Zone]) -> FlowException:
    name = _require(source, entry, "name", "an exception")
    origin = _require(source, entry, "from", f"exception {name!r}")
    if origin not in zones:
        raise ParseError(source, _line(entry), f"exception {name!r}: unknown zone {origin!r}")
    target = _require(source, entry, "to", f"exception {name!r}")
    if target in zones:
        addresses = zones[target].addresses
    else:
        try:
            addresses = IntervalSet((network_interval(ipaddress.ip_network(target, strict=False)),))
        except ValueError as exc:
            raise ParseError(source, _line(entry), f"exception {name!r}: 'to' must be a zone or a network, "
                                                   f"not {target!r}") from exc
    reason = _require(source, entry, "reason", f"exception {name!r}")
    return FlowException(name, origin, target, addresses, _services(source, entry, f"exception {name!r}"),
                         reason, _line(entry))


def _firewall(source: str, entry: dict[str, Any], zones: dict[str, Zone], base: Path) -> Firewall:
    name = _require(source, entry, "name", "a firewall")
    fmt = _require(source, entry, "format", f"firewall {name!r}")
    if fmt not in FORMATS:
        raise ParseError(source, _line(entry), f"firewall {name!r}: unknown format {fmt!r} "
                                               f"(one of {', '.join(FORMATS)})")
    ruleset = _require(source, entry, "ruleset", f"firewall {name!r}")
    interfaces = entry.get("interfaces") or {}
    if not isinstance(interfaces, dict):
        raise ParseError(source, _line(entry), f"firewall {name!r}: 'interfaces' must map interface names to zones")
    for iface, zone in interfaces.items():
        if str(zone) not in zones:
            raise ParseError(source, _line(entry), f"firewall {name!r}: interface {iface} is in unknown zone {zone!r}")
    return Firewall(name, fmt, ruleset, base / ruleset, {str(k): str(v) for k, v in interfaces.items()}, _line(entry))


def _policy_rule(source: str, entry: dict[str, Any]) -> PolicyRule:
    between = entry.get("between")
    if not isinstance(between, list) or len(between) != 2:
        raise ParseError(source, _line(entry), "a policy rule needs 'between: [tier, tier]' ('*' for any other tier)")
    a, b = (str(t) for t in between)
    for tier in (a, b):
        if tier != "*" and tier not in TIERS:
            raise ParseError(source, _line(entry), f"policy rule: unknown tier {tier!r} (one of {', '.join(TIERS)})")
    allow = _require(source, entry, "allow", "a policy rule")
    if allow not in ALLOW:
        raise ParseError(source, _line(entry), f"policy rule: 'allow' must be one of {', '.join(ALLOW)}")
    kinds = tuple(str(k) for k in entry.get("gateway_kinds") or ())
    for kind in kinds:
        if kind not in GATEWAY_KINDS:
            raise ParseError(source, _line(entry), f"policy rule: unknown gateway kind {kind!r}")
    clause = _require(source, entry, "clause", "a policy rule")
    return PolicyRule(a, b, allow, kinds, clause, _line(entry))
