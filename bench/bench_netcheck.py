"""Segmentation verifier on a generated 100,000-rule iptables ruleset over 5 zones (target: parse + analysis
≤ 10 s, of which the analysis ≤ 7 s).

Generates the ruleset (deterministic seed) into a temporary directory, then times: ``parse_iptables`` (when the
parser exists), ``outcomes()`` for all 20 ordered zone pairs (each query minus 5 gateway flows), and
``shadowed_rules()`` (the first call prepares the ruleset's universe pass, shared by the others; the figure for that
pass is printed too), then ``report.verify`` (what ``mamoru netcheck verify`` runs) on a small inventory over the same
zones pointing at the generated file (parse, 2-3 queries per zone pair, shadowed and redundant rules), in its own
process time. Baseline in the same run: ``iptables-restore --test`` on the same file (the C parser; needs
root and the binary), with the ratios parse / iptables-restore and (parse + analysis) / iptables-restore. Prints
figures and ratios; asserts nothing.

    .venv/bin/python bench/bench_netcheck.py            (MAMORU_BENCH_RULES=100000 by default)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from mamoru.netcheck.analysis import Space, outcomes, prepare, shadowed_rules
from mamoru.netcheck.generate import INTERFACES, ZONES, gateways, generate_iptables, generate_ruleset
from mamoru.netcheck.inventory import load_inventory
from mamoru.netcheck.model import IntervalSet, Ruleset, Verdict, parse_network, protocol_number
from mamoru.netcheck.report import verify

RULES = int(os.environ.get("MAMORU_BENCH_RULES", "100000"))
TARGET = 10.0
TIERS = {"mynumber": "mynumber", "lgwan": "lgwan", "internet": "internet", "dmz": "other", "mgmt": "independent"}


def write_inventory(folder: Path, rules: str) -> Path:
    """A small inventory over the generator's zones, its firewall mapping each zone's interface, reading ``rules``."""
    zones = "\n".join(f"  {z.name}: {{tier: {TIERS.get(z.name, 'other')}, cidrs: [{z.network}]}}" for z in ZONES)
    interfaces = ", ".join(f"{z.interface}: {z.name}" for z in ZONES)
    path = folder / "inventory.yaml"
    path.write_text(
        f"zones:\n{zones}\n"
        "gateways:\n  - {name: relay, kind: mail_sanitizer, address: 10.30.0.25, ports: [tcp/25]}\n"
        "exceptions:\n  - {name: web, from: mynumber, to: 172.16.1.0/24, ports: [tcp/443], reason: bench}\n"
        f"firewalls:\n  - {{name: fw, format: iptables, ruleset: {rules}, interfaces: {{{interfaces}}}}}\n",
        encoding="utf-8")
    return path


def iptables_restore(path: Path) -> float | None:
    binary = shutil.which("iptables-restore") or "/usr/sbin/iptables-restore"
    if not Path(binary).exists():
        print("baseline: iptables-restore not found; no ratio")
        return None
    t0 = time.perf_counter()
    with path.open("rb") as stdin:
        done = subprocess.run([binary, "--test"], stdin=stdin, capture_output=True, check=False)  # noqa: S603
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        print(f"baseline: iptables-restore --test failed ({done.returncode}): "
              f"{done.stderr.decode(errors='replace').strip()[:200]}; no ratio")
        return None
    return elapsed


def analyse(ruleset: Ruleset) -> tuple[float, float, int, int]:
    t0, c0 = time.perf_counter(), time.process_time()
    prepare(ruleset, INTERFACES)  # the universe pass the queries below share (else the first query makes it)
    print(f"analysis: prepare (universe pass) {time.perf_counter() - t0:.2f} s (counted in the outcomes figure)")
    c_prepare = time.process_time() - c0
    accepted = 0
    for a in ZONES:
        for b in ZONES:
            if a is b:
                continue
            query = Space(frozenset({a.interface}), frozenset({b.interface}), parse_network(a.network),
                          parse_network(b.network))
            exclude = [Space(None, None, parse_network(g.src), parse_network(g.dst),
                             IntervalSet.point(protocol_number(g.proto)), dport=IntervalSet.point(g.dport))
                       for g in gateways(a, b)]
            found = outcomes(ruleset, query, exclude=exclude, interfaces=INTERFACES)
            accepted += sum(1 for o in found if o.verdict is Verdict.ACCEPT)
    t1 = time.perf_counter()
    print(f"analysis CPU (process time, less sensitive to a noisy machine): prepare {c_prepare:.2f} s, "
          f"prepare + outcomes {time.process_time() - c0:.2f} s")
    shadowed = len(shadowed_rules(ruleset, interfaces=INTERFACES))
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, accepted, shadowed


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="mamoru-bench-netcheck-") as tmp:
        path = Path(tmp) / "generated.rules"
        t0 = time.perf_counter()
        text = generate_iptables(RULES)
        path.write_text(text, encoding="utf-8")
        print(f"generated {len(text.splitlines()):,} lines ({len(text) / 1e6:.1f} MB) in "
              f"{time.perf_counter() - t0:.2f} s")

        t_parse: float | None = None
        try:
            from mamoru.netcheck.parsers.iptables import parse_iptables
        except ImportError:
            print("parse_iptables: not available; analysing the ruleset built directly by the generator")
            ruleset = generate_ruleset(RULES, source=str(path))
        else:
            t0 = time.perf_counter()
            ruleset = parse_iptables(text, source=str(path))
            t_parse = time.perf_counter() - t0
            count = sum(len(c.rules) for c in ruleset.chains.values())
            print(f"parse_iptables: {count:,} rules in {t_parse:.2f} s ({count / t_parse:,.0f} rules/s)")

        t_out, t_shadow, accepted, shadowed = analyse(ruleset)
        t_analysis = t_out + t_shadow
        print(f"analysis: outcomes for 20 zone pairs {t_out:.2f} s ({accepted:,} accepting rules/policies), "
              f"shadowed_rules {t_shadow:.2f} s ({shadowed:,} shadowed); total {t_analysis:.2f} s (budget 7 s)")
        total = t_analysis + (t_parse or 0.0)
        print(f"parse + analysis: {total:.2f} s vs target {TARGET:.0f} s: "
              f"{'within' if total <= TARGET else 'OVER'} ({total / TARGET:.2f}x of the target)"
              + ("" if t_parse is not None else " [parse not timed]"))

        inventory = load_inventory(write_inventory(Path(tmp), path.name))
        t0, c0 = time.perf_counter(), time.process_time()
        report = verify(inventory)
        t_verify, c_verify = time.perf_counter() - t0, time.process_time() - c0
        print(f"report.verify (parse + analysis, mamoru netcheck verify): {t_verify:.2f} s ({c_verify:.2f} s CPU); "
              f"{len(report.violations):,} violations, {len(report.warnings):,} warnings")

        t_c = iptables_restore(path)
        if t_c is not None:
            print(f"baseline: iptables-restore --test {t_c:.2f} s" + (
                f"; parse_iptables / iptables-restore: {t_parse / t_c:.2f}x; "
                f"(parse + analysis) / iptables-restore: {total / t_c:.2f}x" if t_parse is not None else ""))


if __name__ == "__main__":
    main()
