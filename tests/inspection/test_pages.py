"""The pages in Japanese (the site's language), the demo city's self-inspection and audit, the menu, and a
policy review opened from weak results."""

from __future__ import annotations

import re

import pytest

from mamoru.inspection.models import Assignment, Campaign, Engagement
from tests.inspection.factories import assignment_of, audit_for, campaign_for

pytestmark = pytest.mark.django_db


def test_the_answering_page_speaks_japanese(world, login_as):
    campaign = campaign_for(world, audiences=["all_staff"])
    page = login_as("staff_a", language="ja").get(assignment_of(campaign, world, "staff_a").get_absolute_url())
    text = page.content.decode()
    assert "下書きを保存" in text and "提出する" in text and "該当なし" in text and "証跡ファイル" in text


def test_the_results_and_audit_pages_speak_japanese(world, login_as):
    campaign = campaign_for(world, audiences=["all_staff"])
    w = audit_for(world)
    client = login_as("ciso", language="ja")
    assert "遵守率" in client.get(f"/inspection/campaigns/{campaign.pk}/results/").content.decode()
    assert "部局別の進捗" in client.get(campaign.get_absolute_url()).content.decode()
    engagement = client.get(w.engagement.get_absolute_url()).content.decode()
    assert "監査対象の課" in engagement and "監査報告書" in engagement


def test_the_menu_shows_self_inspection_to_everyone_and_audit_to_audit_roles(world, login_as):
    staff = login_as("staff_a").get("/").content.decode()
    assert 'href="/inspection/"' in staff and 'href="/inspection/audit/"' not in staff
    auditor = login_as("auditor").get("/").content.decode()
    assert 'href="/inspection/audit/"' in auditor


def test_weak_results_open_a_policy_review_prefilled_with_them(world, login_as):
    from tests.inspection.factories import answer_everything

    campaign = campaign_for(world, audiences=["all_staff"])
    answer_everything(assignment_of(campaign, world, "staff_a"), world.user("staff_a"), value="no", comment="未実施")
    client = login_as("ciso")
    page = client.get(f"/inspection/campaigns/{campaign.pk}/results/").content.decode()
    link = re.search(r'href="(/policy/documents/standards/reviews/new/\?[^"]+)"', page)
    assert link is not None
    form = client.get(link.group(1).replace("&amp;", "&")).content.decode()
    assert 'value="self_inspection" checked' in form or 'checked value="self_inspection"' in form or re.search(
        r'<input[^>]*value="self_inspection"[^>]*checked', form)
    assert "Weakest requirements in" in form and "0.0%" in form


def test_the_demo_city_has_last_years_campaign_done_this_years_running_and_an_audit(db):
    from django.contrib.auth import get_user_model

    from mamoru.core import services as core_services
    from mamoru.core.demo import load_demo, load_demo_content
    from mamoru.core.models import OrgUnit
    from mamoru.policy.defaults import default_documents_load

    core_services.roles_sync()
    load_demo()

    city = OrgUnit.objects.get(code="demo-city")
    default_documents_load(city)
    load_demo_content()
    last, now = Campaign.objects.filter(municipality=city).order_by("fiscal_year")
    assert last.status == "closed" and not last.assignments.exclude(status="submitted").exists()
    assert now.status == "open"
    statuses = set(now.assignments.values_list("status", flat=True))
    assert statuses == {"submitted", "draft", "not_started"}
    engagement = Engagement.objects.get(plan__municipality=city)
    assert engagement.findings.count() == 3
    assert set(engagement.findings.values_list("status", flat=True)) == {"open", "closed"}
    from tests.conftest import signed_in_client

    ciso = signed_in_client(get_user_model().objects.get(username="ciso"))
    ciso.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    results = ciso.get(f"/inspection/campaigns/{now.pk}/results/").content.decode()
    assert f"FY{last.fiscal_year}" in results and "総務部" in results
    manager = Assignment.objects.filter(campaign=now, audience="security_manager").select_related("person__user")[0]
    assert signed_in_client(manager.person.user).get(manager.get_absolute_url()).status_code == 200
