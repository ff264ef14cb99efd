"""The quarantine pages as a recipient, their 情報セキュリティ管理者 and the CISO see them."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from mamoru.quarantine import services
from mamoru.quarantine.models import GatewaySettings, QuarantineItem, ReleaseRequest

pytestmark = pytest.mark.django_db


def test_recipient_asks_and_manager_approves_through_the_pages(gateway: Any, invoice: QuarantineItem,
                                                              login_as: Any) -> None:
    staff = login_as("staff_a")
    listing = staff.get(reverse("quarantine:item_list")).content.decode()
    assert "請求書の送付について" in listing
    detail = staff.get(invoice.get_absolute_url()).content.decode()
    assert "請求書.pdf" in detail and invoice.quarantine_id in detail and "削除" in detail
    pdf = next(p["path"] for p in invoice.releasable_parts() if p["filename"] == "請求書.pdf")
    response = staff.post(reverse("quarantine:release_request", args=[invoice.pk]),
                          {"part_path": pdf, "reason": "支払い処理に原本が必要"}, follow=True)
    assert "承認者に依頼を送りました。" in response.content.decode()
    req = ReleaseRequest.objects.get(item=invoice)

    # The request waits on the manager's list; staff of 課B see neither the mail nor the request.
    manager = login_as("manager_a")
    waiting = manager.get(reverse("quarantine:release_list")).content.decode()
    assert "支払い処理に原本が必要" in waiting
    assert login_as("staff_b").get(invoice.get_absolute_url()).status_code == 404
    assert "請求書の送付について" not in login_as("staff_b").get(reverse("quarantine:item_list")).content.decode()

    done = manager.post(reverse("quarantine:release_decide", args=[req.pk]),
                        {"decision": "approve", "note": "", "next": "list"}, follow=True)
    assert "承認しました" in done.content.decode()
    req.refresh_from_db()
    assert req.status == "approved"


def test_a_refusal_without_reason_is_refused_in_japanese(gateway: Any, invoice: QuarantineItem, login_as: Any) -> None:
    req = services.release_request_create(item=invoice, user=gateway.world.user("staff_a"), part_path="",
                                          reason="原本が必要です")
    response = login_as("manager_a").post(reverse("quarantine:release_decide", args=[req.pk]),
                                          {"decision": "refuse", "note": ""}, follow=True)
    assert "却下の理由を入力してください。" in response.content.decode()
    req.refresh_from_db()
    assert req.status == "requested"


def test_daily_counts_page(gateway: Any, invoice: QuarantineItem, login_as: Any) -> None:
    html = login_as("ciso").get(reverse("quarantine:daily")).content.decode()
    assert "日別の件数" in html and "<td>1</td>" in html
    assert login_as("staff_a").get(reverse("quarantine:daily")).status_code == 404


def test_settings_refuse_a_bad_domain(gateway: Any, login_as: Any) -> None:
    response = login_as("chief").post(reverse("quarantine:settings_edit"), {
        "domains": "city.example.lg.jp\nnot a domain", "approver_role": "csirt", "release_mode": "deliver",
        "retention_days": "90"})
    assert "“not” はメールドメイン" in response.content.decode()
    settings = GatewaySettings.objects.get(municipality=gateway.world.units["city"])
    assert settings.approver_role == "section_manager"  # unchanged
    ok = login_as("chief").post(reverse("quarantine:settings_edit"), {
        "domains": "test-city.example.lg.jp", "approver_role": "csirt", "release_mode": "download",
        "retention_days": "30"})
    assert ok.status_code == 302
    settings.refresh_from_db()
    assert (settings.approver_role, settings.release_mode, settings.retention_days) == ("csirt", "download", 30)
