"""The network pages as the 統括, an auditor and staff see them."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from mamoru.core.models import AuditEntry
from mamoru.network.models import Firewall, Ruleset, VerificationRun

pytestmark = pytest.mark.django_db


def test_overview_shows_the_inventory_and_the_latest_run(network: Any, login_as: Any) -> None:
    html = login_as("chief").get(reverse("network:overview")).content.decode()
    for text in ("マイナンバー利用事務系", "10.20.0.0/16", "mail-relay", "eltax", "fw-core", "fw-branch", "違反あり",
                 "ルールセットを今すぐ検証", "αモデル"):
        assert text in html
    auditor = login_as("auditor").get(reverse("network:overview")).content.decode()
    assert "fw-branch" in auditor and "ルールセットを今すぐ検証" not in auditor  # reads, does not change
    assert login_as("staff_a").get(reverse("network:overview")).status_code == 404


def test_running_a_verification_shows_violations_with_rule_and_example(network: Any, login_as: Any) -> None:
    client = login_as("chief")
    response = client.post(reverse("network:run_start"), follow=True)
    run = VerificationRun.objects.filter(municipality=network.city).latest("pk")
    assert response.redirect_chain[-1][0] == run.get_absolute_url()
    html = response.content.decode()
    assert "ゾーン方針の違反が 3 件見つかりました。" in html
    assert "tcp dport { 80, 443 }" in html and "6(3)②" in html and "10.20.0.2 → 10.30.0.2 tcp/80" in html
    assert run.started_by == network.user("chief")
    assert AuditEntry.objects.filter(object_type="network.verificationrun", object_id=str(run.pk)).exists()


def test_report_pdf(network: Any, login_as: Any) -> None:
    run = VerificationRun.objects.get(municipality=network.city)
    response = login_as("auditor").get(reverse("network:run_pdf", args=[run.pk]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    import io

    import pypdfium2

    pdf = pypdfium2.PdfDocument(io.BytesIO(response.content))
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    assert "三層分離の検証結果" in text and "fw-branch" in text and "6(3)③" in text


def test_uploading_a_broken_ruleset_names_the_line_in_japanese(network: Any, login_as: Any) -> None:
    firewall = Firewall.objects.get(municipality=network.city, name="fw-core")
    before = Ruleset.objects.filter(firewall=firewall).count()
    upload = SimpleUploadedFile("fw.rules", b"*filter\n:FORWARD DROP [0:0]\n-A FORWARD -j NOWHERE_chain\nCOMMIT\n")
    response = login_as("chief").post(reverse("network:firewall_upload", args=[firewall.pk]), {"file": upload},
                                      follow=True)
    html = response.content.decode()
    assert "ルールセットを iptables-save の出力 として読めません。3 行目:" in html
    assert Ruleset.objects.filter(firewall=firewall).count() == before


def test_uploading_a_good_ruleset_makes_it_current(network: Any, login_as: Any) -> None:
    firewall = Firewall.objects.get(municipality=network.city, name="fw-core")
    upload = SimpleUploadedFile("new.rules", b"*filter\n:FORWARD DROP [0:0]\n-A FORWARD -p tcp --dport 22 -j ACCEPT\n"
                                             b"COMMIT\n")
    response = login_as("chief").post(reverse("network:firewall_upload", args=[firewall.pk]), {"file": upload},
                                      follow=True)
    assert "ルールセット new.rules を登録しました（規則 1 件" in response.content.decode()
    assert firewall.current_ruleset().filename == "new.rules"


def test_firewall_interfaces_must_name_known_zones(network: Any, login_as: Any) -> None:
    firewall = Firewall.objects.get(municipality=network.city, name="fw-core")
    response = login_as("chief").post(reverse("network:firewall_edit", args=[firewall.pk]), {
        "name": "fw-core", "format": "iptables", "interfaces": "eth0=mynumber\neth9=dmz", "description": ""})
    assert response.status_code == 200 and "登録されていないゾーンコード: dmz" in response.content.decode()
    firewall.refresh_from_db()
    assert "eth9" not in firewall.interfaces


def test_inventory_download_is_the_netcheck_file_format(network: Any, login_as: Any) -> None:
    response = login_as("auditor").get(reverse("network:inventory_export"))
    assert response.status_code == 200 and b"zones:" in response.content and b"mail_sanitizer" in response.content
    assert AuditEntry.objects.filter(event="export", object_type="network.inventory").exists()


def test_terminal_list_marks_weak_mynumber_terminals(network: Any, login_as: Any) -> None:
    html = login_as("ciso").get(reverse("network:terminal_list") + "?tier=mynumber").content.decode()
    assert "MN-004" in html and "LG-001" not in html and 'class="badge high"' in html


def test_customising_and_editing_the_zone_policy(network: Any, login_as: Any) -> None:
    from mamoru.network.models import ZonePolicyRule

    client = login_as("chief")
    html = client.get(reverse("network:overview")).content.decode()
    assert "基本方針（6(3)）の既定のゾーン方針です。" in html and "ゾーン方針をこの市のものにする" in html
    client.post(reverse("network:policy_customise"))
    rule = ZonePolicyRule.objects.get(municipality=network.city, tier_a="internet")
    response = client.post(reverse("network:policy_rule_edit", args=[rule.pk]), {
        "order": 40, "tier_a": "internet", "tier_b": "external", "allow": "gateways",
        "gateway_kinds": ["security_cloud"], "clause": "6(3)③"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.gateway_kinds == ["security_cloud"]
    response = client.post(reverse("network:policy_rule_edit", args=[rule.pk]), {
        "order": 40, "tier_a": "internet", "tier_b": "internet", "allow": "any", "clause": "x"})
    assert "異なる 2 つの系を選んでください" in response.content.decode()
    client.post(reverse("network:policy_rule_delete", args=[rule.pk]))
    assert not ZonePolicyRule.objects.filter(pk=rule.pk).exists()
    assert AuditEntry.objects.filter(object_type="network.zonepolicyrule", action="delete").exists()
