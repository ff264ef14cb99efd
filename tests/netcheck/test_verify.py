"""`mamoru netcheck verify|packet` on the demo city's inventory and on broken inputs."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from mamoru.netcheck.cli import main
from mamoru.netcheck.inventory import load_inventory, parse_inventory
from mamoru.netcheck.model import ParseError

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "mamoru" / "netcheck" / "examples"
INVENTORY = EXAMPLES / "inventory.yaml"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def verify_json(path: Path | str = INVENTORY, *extra: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run("verify", str(path), "--format", "json", *extra)
    assert err == ""
    return code, json.loads(out)


def test_demo_city_core_firewall_is_compliant() -> None:
    code, report = verify_json(INVENTORY, "--firewall", "fw-core")
    assert code == 0 and report["compliant"] is True and report["violations"] == []
    assert report["unsupported"] == []
    allowed = {(a["from_zone"], a["to_zone"]) for a in report["allowed"]}
    assert ("lgwan", "internet") in allowed and ("mynumber", "external") in allowed
    assert ("mynumber", "lgwan") not in allowed


def test_demo_city_branch_firewall_violations_name_rule_clause_and_example() -> None:
    code, report = verify_json()
    assert code == 1 and report["compliant"] is False
    found = {(v["firewall"], v["from_zone"], v["to_zone"], v["clause"]): v for v in report["violations"]}
    assert set(found) == {("fw-branch", "mynumber", "lgwan", "6(3)①"), ("fw-branch", "lgwan", "internet", "6(3)②"),
                          ("fw-branch", "internet", "external", "6(3)③")}
    web = found[("fw-branch", "lgwan", "internet", "6(3)②")]
    assert web["rule"]["file"].endswith("fw-branch.json") and "tcp dport { 80, 443 }" in web["rule"]["text"]
    assert web["example"]["proto"] == "tcp" and web["example"]["dport"] in (80, 443)
    assert web["example"]["src"].startswith("10.20.") and web["example"]["dst"].startswith("10.30.")
    assert web["example"]["dst"] != "10.30.0.25"  # the mail relay is allowed; the example is not
    bypass = found[("fw-branch", "internet", "external", "6(3)③")]
    assert bypass["example"]["dport"] == 443 and bypass["example"]["dst"] != "198.51.100.10"


def test_spoofed_sources_are_warnings_not_violations() -> None:
    _code, report = verify_json()
    spoofing = [w for w in report["warnings"] if w["kind"] == "spoofing"]
    assert spoofing and all(w["firewall"] == "fw-branch" for w in spoofing)
    assert all(not w["example"]["src"].startswith("10.20.") for w in spoofing if w["from_zone"] == "lgwan")
    # fw-core accepts nothing from external with an internal source (! -s 10.0.0.0/8)
    assert not [w for w in report["warnings"] if w["kind"] == "spoofing" and w["firewall"] == "fw-core"]


def test_text_report_lists_each_violation_with_its_line() -> None:
    code, out, _err = run("verify", str(INVENTORY))
    assert code == 1 and "NOT COMPLIANT: 3 violation(s)" in out
    assert "fw-branch.json:" in out and "[6(3)②]" in out and "e.g. 10.20." in out


def test_packet_answers_with_the_deciding_rule() -> None:
    code, out, _ = run("packet", str(INVENTORY), "--firewall", "fw-core", "--in", "eth1", "--out", "eth2",
                       "--src", "10.20.1.5", "--dst", "10.30.0.25", "--proto", "tcp", "--dport", "25",
                       "--format", "json")
    answer = json.loads(out)
    assert code == 0 and answer["verdict"] == "accept"
    assert answer["rule"]["text"].startswith("-A SANITIZED -d 10.30.0.25/32")
    assert (answer["from_zone"], answer["to_zone"]) == ("lgwan", "internet")
    code, out, _ = run("packet", str(INVENTORY), "--firewall", "fw-core", "--in", "eth1", "--out", "eth2",
                       "--src", "10.20.1.5", "--dst", "10.30.0.26", "--proto", "tcp", "--dport", "25",
                       "--format", "json")
    answer = json.loads(out)
    assert answer["verdict"] == "drop" and answer["by_policy"] is True and answer["rule"]["text"].startswith(
        ":FORWARD DROP")


def test_packet_list_answers_in_order(tmp_path: Path) -> None:
    packets = [
        {"firewall": "fw-core", "in": "eth0", "out": "eth3", "src": "10.10.3.4", "dst": "192.0.2.8",
         "proto": "tcp", "dport": 443},
        {"firewall": "fw-core", "in": "eth0", "out": "eth3", "src": "10.10.3.4", "dst": "192.0.2.8",
         "proto": "udp", "dport": 443},
        {"firewall": "fw-branch", "in": "eth1", "out": "eth2", "src": "10.20.0.9", "dst": "10.30.9.9",
         "proto": "tcp", "dport": 443},
    ]
    listing = tmp_path / "flows.json"
    listing.write_text(json.dumps(packets), encoding="utf-8")
    code, out, _ = run("packet", str(INVENTORY), "--packets", str(listing))
    answers = json.loads(out)
    assert code == 0 and [a["verdict"] for a in answers] == ["accept", "drop", "accept"]
    assert "eLTAX" in answers[0]["rule"]["text"] and answers[1]["rule"]["text"].startswith("-A MYNUMBER -j DROP")


def copy_examples(tmp_path: Path) -> Path:
    for item in EXAMPLES.iterdir():
        shutil.copy(item, tmp_path / item.name)
    return tmp_path / "inventory.yaml"


@pytest.mark.parametrize(("change", "line", "reason"), [
    (lambda t: t.replace("tier: lgwan,", "tier: lgwn,"), 6, "unknown tier 'lgwn'"),
    (lambda t: t.replace("10.20.0.0/16]", "10.20.0.0/33]"), 6, "is not a network"),
    (lambda t: t.replace("ports: [tcp/25]", "ports: [tcp/99999]"), 10, "ports must be 0-65535"),
    (lambda t: t.replace("eth1: lgwan, eth2", "eth1: lgwan2, eth2", 1), 16, "unknown zone 'lgwan2'"),
    (lambda t: t.replace("  external: {tier: external, cidrs: [0.0.0.0/0]}", "  external: {tier: external"), 9,
     "not valid YAML"),
])
def test_unreadable_inventory_exits_2_with_file_line_and_reason(tmp_path: Path, change: Any, line: int,
                                                                reason: str) -> None:
    path = copy_examples(tmp_path)
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")
    code, out, err = run("verify", str(path))
    assert code == 2 and out == ""
    assert f"{path}:{line}:" in err and reason in err


def test_broken_ruleset_exits_2_naming_its_line(tmp_path: Path) -> None:
    path = copy_examples(tmp_path)
    rules = tmp_path / "fw-core.rules"
    lines = rules.read_text(encoding="utf-8").splitlines()
    lines[9] = "-A FORWARD -i eth0 --bogus-option 1 -j ACCEPT"
    rules.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _out, err = run("verify", str(path))
    assert code == 2 and f"{rules}:10:" in err and "--bogus-option" in err


def test_missing_ruleset_and_unknown_firewall_exit_2(tmp_path: Path) -> None:
    path = copy_examples(tmp_path)
    (tmp_path / "fw-branch.json").unlink()
    code, _out, err = run("verify", str(path))
    assert code == 2 and "fw-branch" in err and "cannot read" in err
    code, _out, err = run("verify", str(INVENTORY), "--firewall", "fw-nowhere")
    assert code == 2 and "no firewall named 'fw-nowhere'" in err


def test_longest_prefix_decides_the_zone() -> None:
    inventory = parse_inventory(
        "zones:\n  lgwan: {tier: lgwan, cidrs: [10.20.0.0/16]}\n  server: {tier: lgwan, cidrs: [10.20.5.0/24]}\n"
        "  external: {tier: external, cidrs: [0.0.0.0/0]}\n", source="inv.yaml", base=Path("."))
    import ipaddress

    def zone(a: str) -> str | None:
        found = inventory.zone_of(ipaddress.ip_address(a))
        return found.name if found else None

    assert (zone("10.20.5.9"), zone("10.20.6.9"), zone("8.8.8.8")) == ("server", "lgwan", "external")
    assert zone("2001:db8::1") is None  # no IPv6 zone declared


def test_the_same_network_in_two_zones_is_refused() -> None:
    with pytest.raises(ParseError, match="in two zones"):
        parse_inventory("zones:\n  a: {tier: lgwan, cidrs: [10.0.0.0/8]}\n  b: {tier: internet, cidrs: [10.0.0.0/8]}\n",
                        source="inv.yaml", base=Path("."))


def test_custom_policy_replaces_the_default() -> None:
    inventory = load_inventory(INVENTORY)
    assert [r.clause for r in inventory.policy] == ["6(3)①", "6(3)②", "6(3)②", "6(3)③"]
    custom = parse_inventory(INVENTORY.read_text(encoding="utf-8") + "policy:\n"
                             "  - {between: [mynumber, '*'], allow: none, clause: '6(3)①'}\n",
                             source=str(INVENTORY), base=EXAMPLES)
    assert len(custom.policy) == 1
    assert custom.rule_for(custom.zones["lgwan"], custom.zones["internet"]) is None
