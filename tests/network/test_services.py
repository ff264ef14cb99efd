"""Ruleset uploads, verification runs and the inventory file, as the 統括 uses them."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from django.core.exceptions import ValidationError

from mamoru.core.context import acting_as
from mamoru.network import services
from mamoru.network.models import DeclaredFlow, Firewall, Ruleset, VerificationRun, Zone

pytestmark = pytest.mark.django_db


def test_demo_run_finds_the_branch_firewall_violations(network: Any) -> None:
    run = VerificationRun.objects.get(municipality=network.city)
    assert run.status == "violations" and run.violations == 3 and run.error == ""
    pairs = {(v["firewall"], v["from_zone"], v["to_zone"], v["clause"]) for v in run.report["violations"]}
    assert pairs == {("fw-branch", "mynumber", "lgwan", "6(3)①"), ("fw-branch", "lgwan", "internet", "6(3)②"),
                     ("fw-branch", "internet", "external", "6(3)③")}
    assert {v["rule"]["file"] for v in run.report["violations"]} == {"fw-branch/fw-branch.json"}  # no temp paths
    assert run.rulesets.count() == 2 and "zones:" in run.inventory


def test_broken_ruleset_is_refused_with_its_line_and_nothing_is_stored(network: Any) -> None:
    firewall = Firewall.objects.get(municipality=network.city, name="fw-core")
    before = Ruleset.objects.count()
    data = b"*filter\n:FORWARD DROP [0:0]\n-A FORWARD -s 10.0.0.300 -j ACCEPT\nCOMMIT\n"
    with acting_as(user=network.user("chief")), pytest.raises(ValidationError) as info:
        services.ruleset_upload(firewall=firewall, filename="bad.rules", data=data, user=network.user("chief"))
    assert "3 行目" in info.value.messages[0] and "10.0.0.300" in info.value.messages[0]
    assert Ruleset.objects.count() == before


def test_cp932_ruleset_with_japanese_comments_is_read(network: Any) -> None:
    firewall = Firewall.objects.get(municipality=network.city, name="fw-core")
    text = ("*filter\n:FORWARD DROP [0:0]\n-A FORWARD -i eth1 -o eth2 -d 10.30.0.25/32 -p tcp -m tcp --dport 25 "
            "-m comment --comment \"無害化メール\" -j ACCEPT\nCOMMIT\n")
    with acting_as(user=network.user("chief")):
        ruleset = services.ruleset_upload(firewall=firewall, filename="cp932.rules", data=text.encode("cp932"),
                                          user=network.user("chief"))
    assert ruleset.rules == 1 and "無害化メール" in ruleset.content and firewall.current_ruleset() == ruleset
    with acting_as(user=network.user("chief")):
        run = services.verification_run(municipality=network.city, user=network.user("chief"))
    assert ruleset in run.rulesets.all()


def test_a_new_violating_ruleset_shows_in_the_next_run(network: Any) -> None:
    firewall = Firewall.objects.get(municipality=network.city, name="fw-core")
    text = "*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n"  # everything passes
    with acting_as(user=network.user("chief")):
        services.ruleset_upload(firewall=firewall, filename="open.rules", data=text.encode(),
                                user=network.user("chief"))
        run = services.verification_run(municipality=network.city, user=network.user("chief"))
    core = [v for v in run.report["violations"] if v["firewall"] == "fw-core"]
    assert {(v["from_zone"], v["to_zone"]) for v in core} >= {("mynumber", "lgwan"), ("lgwan", "internet")}
    assert all(v["rule"]["text"].startswith(":FORWARD ACCEPT") for v in core)


def test_a_city_without_zones_gets_a_failed_run_with_a_reason(world: Any) -> None:
    with acting_as(user=world.user("other_ciso")):
        run = services.verification_run(municipality=world.units["other_city"], user=world.user("other_ciso"))
    assert run.status == "failed" and "ゾーン" in run.error


def test_inventory_export_round_trips_into_another_city(network: Any) -> None:
    text = services.inventory_yaml(network.city)
    doc = yaml.safe_load(text)
    assert set(doc["zones"]) == {"mynumber", "lgwan", "internet", "external"}
    assert doc["firewalls"][0]["interfaces"]["eth0"] == "mynumber"
    other = network.units["other_city"]
    with acting_as(user=network.user("other_ciso")):
        doc["exceptions"] = []  # nobody approved them in the other city
        counts = services.inventory_import(municipality=other, text=yaml.safe_dump(doc, allow_unicode=True))
    assert counts == {"zones": 4, "gateways": 3, "exceptions": 0, "firewalls": 2, "policy": 0}
    assert Zone.objects.get(municipality=other, code="lgwan").cidrs == "10.20.0.0/16"


def test_inventory_import_is_all_or_nothing_and_names_the_line(network: Any) -> None:
    other = network.units["other_city"]
    text = services.inventory_yaml(network.city).replace("kind: mail_sanitizer", "kind: mail_sanitiser")
    with acting_as(user=network.user("other_ciso")), pytest.raises(ValidationError) as info:
        services.inventory_import(municipality=other, text=text)
    assert "mail_sanitiser" in info.value.messages[0] and "行目" in info.value.messages[0]
    assert not Zone.objects.filter(municipality=other).exists()


def test_an_exception_needs_its_approver(network: Any) -> None:
    flow = DeclaredFlow(municipality=network.city, name="x", source=Zone.objects.get(municipality=network.city,
                                                                                      code="lgwan"),
                        destination="192.0.2.0/24", services="tcp/443", purpose="test", is_exception=True)
    with pytest.raises(ValidationError, match="承認"):
        flow.full_clean()
    flow.destination = "nowhere"
    flow.is_exception = False
    with pytest.raises(ValidationError) as info:
        flow.full_clean()
    assert "destination" in info.value.message_dict


def test_the_citys_own_zone_policy_decides_the_next_run(network: Any) -> None:
    from mamoru.network.models import ZonePolicyRule

    rules = services.policy_customise(municipality=network.city)
    assert [(r.tier_a, r.tier_b, r.allow, r.clause) for r in rules] == [
        ("mynumber", "*", "none", "6(3)①"), ("lgwan", "internet", "gateways", "6(3)②"),
        ("lgwan", "external", "gateways", "6(3)②"), ("internet", "external", "gateways", "6(3)③")]
    assert services.policy_customise(municipality=network.city) == rules  # idempotent
    with acting_as(user=network.user("chief")):
        ZonePolicyRule.objects.filter(municipality=network.city, tier_a="lgwan", tier_b="internet").update(
            allow="any", clause="独自の例外")
        run = services.verification_run(municipality=network.city, user=network.user("chief"))
    assert {(v["from_zone"], v["to_zone"]) for v in run.report["violations"]} == {
        ("mynumber", "lgwan"), ("internet", "external")}
    assert "allow: any" in run.inventory


def test_a_policy_section_in_an_imported_inventory_replaces_the_citys(network: Any) -> None:
    from mamoru.network.models import ZonePolicyRule

    doc = yaml.safe_load(services.inventory_yaml(network.city))
    assert "policy" not in doc  # the demo city uses the default
    doc["policy"] = [{"between": ["*", "mynumber"], "allow": "none", "clause": "6(3)①"}]
    with acting_as(user=network.user("chief")):
        counts = services.inventory_import(municipality=network.city, text=yaml.safe_dump(doc, allow_unicode=True))
    assert counts["policy"] == 1
    rule = ZonePolicyRule.objects.get(municipality=network.city)
    assert (rule.tier_a, rule.tier_b, rule.allow) == ("mynumber", "*", "none")
    assert yaml.safe_load(services.inventory_yaml(network.city))["policy"] == [
        {"between": ["mynumber", "*"], "allow": "none", "gateway_kinds": [], "clause": "6(3)①"}]
