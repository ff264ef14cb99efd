"""``mamoru netcheck verify|packet``: the verifier without the web application (no Django import).

verify INVENTORY.yaml [--firewall NAME] [--format text|json]
    exit 0 compliant, 1 violations, 2 unreadable input (file, line and reason printed)
packet INVENTORY.yaml --firewall NAME --in IFACE --out IFACE --src IP --dst IP --proto tcp|udp|icmp
       [--sport N] [--dport N] [--format text|json]
packet INVENTORY.yaml --packets FILE.json [--format json]
    exit 0 answered, 2 unreadable input
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from mamoru.netcheck.inventory import load_inventory
from mamoru.netcheck.model import ParseError, Ruleset, protocol_number
from mamoru.netcheck.report import PROTOCOL_NAMES, Finding, Report, packet_verdict, verify

EXIT_OK, EXIT_VIOLATIONS, EXIT_UNREADABLE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mamoru netcheck", description="Verify three-tier segmentation "
                                     "against real firewall rulesets.")
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("verify", help="judge every firewall of the inventory against the zone policy")
    v.add_argument("inventory")
    v.add_argument("--firewall", action="append", default=[], help="only this firewall (repeatable)")
    v.add_argument("--format", choices=("text", "json"), default="text")
    p = sub.add_parser("packet", help="what a firewall does with one new packet (or a list of them)")
    p.add_argument("inventory")
    p.add_argument("--firewall")
    p.add_argument("--in", dest="in_iface")
    p.add_argument("--out", dest="out_iface")
    p.add_argument("--src")
    p.add_argument("--dst")
    p.add_argument("--proto")
    p.add_argument("--sport", type=int, default=0)
    p.add_argument("--dport", type=int, default=0)
    p.add_argument("--packets", help="a JSON list of {firewall, in, out, src, dst, proto, sport?, dport?}")
    p.add_argument("--format", choices=("text", "json"), default="text")
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = _parser().parse_args(argv)
    try:
        inventory = load_inventory(args.inventory)
        if args.command == "verify":
            for name in args.firewall:
                inventory.firewall(name)  # an unknown name is an error, not an empty report
            report = verify(inventory, firewalls=args.firewall)
            _print_report(report, args.format, out)
            return EXIT_OK if report.compliant else EXIT_VIOLATIONS
        answers = _packets(args, inventory)
    except ParseError as exc:
        print(f"mamoru netcheck: {exc}", file=err)
        return EXIT_UNREADABLE
    if args.packets or args.format == "json":
        print(json.dumps(answers if args.packets else answers[0], ensure_ascii=False, indent=2), file=out)
    else:
        a = answers[0]
        rule = a["rule"]
        where = f"{rule['file']}:{rule['line']}: {rule['text']}" if rule else "(no rule)"
        print(f"{a['verdict'].upper()}  {a['from_zone']} → {a['to_zone']}  by {where}", file=out)
    return EXIT_OK


def _packets(args: argparse.Namespace, inventory: Any) -> list[dict[str, Any]]:
    if args.packets:
        path = Path(args.packets)
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ParseError(str(path), 0, f"cannot read the packet list: {exc}") from exc
        except json.JSONDecodeError as exc:
            raise ParseError(str(path), exc.lineno, f"not valid JSON: {exc.msg}") from exc
        if not isinstance(items, list):
            raise ParseError(str(path), 1, "the packet list must be a JSON list of objects")
        source = str(path)
    else:
        items = [{"firewall": args.firewall, "in": args.in_iface, "out": args.out_iface, "src": args.src,
                  "dst": args.dst, "proto": args.proto, "sport": args.sport, "dport": args.dport}]
        source = "command line"
    rulesets: dict[str, Ruleset] = {}
    answers = []
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ParseError(source, 0, f"packet {index}: must be an object")
        missing = [k for k in ("firewall", "src", "dst", "proto") if not item.get(k)]
        if missing:
            raise ParseError(source, 0, f"packet {index}: missing {', '.join(missing)}")
        try:
            proto = protocol_number(str(item["proto"]))
            sport, dport = int(item.get("sport") or 0), int(item.get("dport") or 0)
            if not (0 <= sport <= 65535 and 0 <= dport <= 65535):
                raise ValueError("ports must be 0-65535")
            answers.append(packet_verdict(inventory, str(item["firewall"]), in_iface=item.get("in"),
                                          out_iface=item.get("out"), src=str(item["src"]), dst=str(item["dst"]),
                                          proto=proto, sport=sport, dport=dport, rulesets=rulesets))
        except ParseError:
            raise
        except ValueError as exc:
            raise ParseError(source, 0, f"packet {index}: {exc}") from exc
    return answers


def _print_report(report: Report, fmt: str, out: TextIO) -> None:
    if fmt == "json":
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2), file=out)
        return
    verdict = "COMPLIANT" if report.compliant else f"NOT COMPLIANT: {len(report.violations)} violation(s)"
    print(f"{report.inventory}: {verdict}", file=out)
    for title, findings in (("violations", report.violations), ("warnings", report.warnings),
                            ("unsupported", report.unsupported)):
        if findings:
            print(f"\n{title}:", file=out)
            for f in findings:
                print("  " + _line(f), file=out)


def _line(f: Finding) -> str:
    where = f"{f.rule.file}:{f.rule.line}: {f.rule.text}" if f.rule else ""
    pair = f"{f.from_zone} → {f.to_zone} " if f.from_zone else ""
    example = ""
    if f.example is not None:
        e = f.example
        proto = PROTOCOL_NAMES.get(e.proto, str(e.proto))
        example = f"  e.g. {e.src} → {e.dst} {proto}/{e.dport}"
    clause = f" [{f.clause}]" if f.clause else ""
    return f"[{f.firewall}] {pair}{f.kind}{clause}: {f.message}\n      {where}{example}"


if __name__ == "__main__":
    sys.exit(main())
